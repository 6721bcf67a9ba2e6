# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics' rectangular validation protocol: YOLORectBatchSampler + LetterBox(rect=True) + yolo_rect_collate
give the batches (order, shape, pixels) of `yolo val`'s loader, predictions map back to the original image, and
the number of processes does not change the metrics."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets import YOLORectBatchSampler, ultralytics_val_order, yolo_rect_collate
from yolopose_mm.datasets.transforms import LetterBox
from yolopose_mm.datasets.transforms.letterbox import rect_batch_shape

META_KEYS = ('img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center', 'input_scale')


@pytest.fixture(scope='module')
def mixed_images(data_dir, tmp_path_factory) -> Path:
    """Every image of the shared data (19, many sizes and aspect ratios) as one YOLO folder without labels."""
    root = tmp_path_factory.mktemp('mixed')
    (root / 'images').mkdir()
    for path in sorted(data_dir.rglob('*.jpg')):
        shutil.copyfile(path, root / 'images' / f'{path.parent.parent.name}_{path.parent.name}_{path.name}')
    (root / 'data.yaml').write_text(f'path: {root}\ntrain: images\nval: images\nkpt_shape: [17, 3]\n'
                                    'names:\n  0: person\n')
    return root


def _our_loader(yaml: Path, batch: int, tmp_path: Path):
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    pipeline = [dict(type='LoadImage'), dict(type='LetterBox', input_size=(640, 640), rect=True, pad_val=114),
                dict(type='PackPoseInputs', meta_keys=META_KEYS)]
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(yaml), split='val', metainfo='coco',
                             test_mode=True, pipeline=pipeline, cache_dir=str(tmp_path / 'cache')))
    return ds, YOLORectBatchSampler(DefaultSampler(ds, shuffle=False), batch)


def test_batches_equal_ultralytics_val_loader(mixed_images, ultralytics, tmp_path):
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    data = check_det_dataset(str(mixed_images / 'data.yaml'))
    cfg = get_cfg(overrides=dict(task='pose', imgsz=640, mode='val'))
    shapes_seen = set()
    for batch in (2, 5, 32):
        ref = build_yolo_dataset(cfg, data['val'], batch=batch, data=data, mode='val', rect=True, stride=32)
        ds, sampler = _our_loader(mixed_images / 'data.yaml', batch, tmp_path)
        assert len(ref) == len(ds) == 19 and len(sampler) == -(-19 // batch)
        for k, indices in enumerate(sampler):
            ours = yolo_rect_collate([ds[i] for i in indices])
            theirs = ref.collate_fn([ref[i] for i in range(k * batch, min((k + 1) * batch, len(ref)))])
            assert [Path(s.img_path).name for s in ours['data_samples']] == [Path(f).name for f in theirs['im_file']]
            ours_img = torch.stack(ours['inputs'])[:, [2, 1, 0]]  # BGR -> RGB
            assert ours_img.shape == theirs['img'].shape and torch.equal(ours_img, theirs['img']), (batch, k)
            shapes_seen.add(tuple(ours_img.shape[2:]))
    assert len(shapes_seen) >= 4  # landscape, portrait and mixed batches were all exercised


def test_collate_maps_predictions_back_to_the_image():
    """The re-padded content's corners map, with each sample's updated metainfo, to the original image corners."""
    from mmcv.transforms import to_tensor
    from mmpose.structures import PoseDataSample
    hws = [(480, 640), (427, 640), (640, 480), (1080, 810)]
    batch = []
    for h, w in hws:
        out = LetterBox(640, rect=True)(dict(img=np.full((h, w, 3), 7, np.uint8)))
        batch.append(dict(inputs=to_tensor(out['img']).permute(2, 0, 1).contiguous(),
                          data_samples=PoseDataSample(metainfo=dict(
                              ori_shape=(h, w), input_size=out['input_size'], input_center=out['input_center'],
                              input_scale=out['input_scale']))))
    collated = yolo_rect_collate(batch)
    out_h, out_w = rect_batch_shape([h / w for h, w in hws], 640, 32)
    for img, sample, (h, w) in zip(collated['inputs'], collated['data_samples'], hws):
        assert tuple(img.shape) == (3, out_h, out_w) and tuple(sample.input_size) == (out_w, out_h)
        rows, cols = np.nonzero(img[0].numpy() == 7)
        corners = np.array([[cols.min(), rows.min()], [cols.max() + 1, rows.max() + 1]], np.float64)
        back = corners / np.array([out_w, out_h]) * sample.input_scale + sample.input_center - 0.5 * sample.input_scale
        np.testing.assert_allclose(back, [[0, 0], [w, h]], atol=1e-3)
        assert set(np.unique(img[0].numpy())) == {7, 114}


def test_collate_and_sampler_errors(tmp_path):
    from mmpose.structures import PoseDataSample
    out = LetterBox(320, rect=True)(dict(img=np.zeros((240, 320, 3), np.uint8)))
    sample = dict(inputs=torch.zeros(3, *out['img'].shape[:2], dtype=torch.uint8),
                  data_samples=PoseDataSample(metainfo=dict(ori_shape=(240, 320), input_size=out['input_size'],
                                                            input_center=out['input_center'],
                                                            input_scale=out['input_scale'], img_path='a.jpg')))
    with pytest.raises(ValueError, match='img_size=640.*LetterBox'):
        yolo_rect_collate([sample], img_size=640)
    assert tuple(yolo_rect_collate([sample])['inputs'][0].shape) == (3, 256, 352)  # img_size read from the sample
    with pytest.raises(ValueError, match='drop_last'):
        YOLORectBatchSampler(object(), 4, drop_last=True)
    with pytest.raises(ValueError, match='batch_size'):
        YOLORectBatchSampler(object(), 0)
    with pytest.raises(TypeError, match='DefaultSampler'):
        YOLORectBatchSampler(object(), 4)


def test_order_and_sharding_by_whole_batches(monkeypatch):
    paths = [f'img_{c}.jpg' for c in 'dcbaefgh']
    hws = [(480, 640), (640, 480), (480, 640), (500, 500), (427, 640), (640, 427), (480, 640), (360, 640)]
    order = ultralytics_val_order(paths, hws)
    by_path = sorted(range(8), key=lambda i: paths[i])
    expected = [by_path[i] for i in np.argsort(np.array([hws[i][0] / hws[i][1] for i in by_path]))]
    assert order == expected

    class _Data:
        def __len__(self):
            return 8

        def get_data_info(self, i):
            return dict(img_path=paths[i], height=hws[i][0], width=hws[i][1])

    class _Sampler:
        dataset = _Data()

    import yolopose_mm.datasets.yolo_rect_batch_sampler as module
    alone = list(YOLORectBatchSampler(_Sampler(), 3))
    shards = []
    for rank in (0, 1):
        monkeypatch.setattr(module, 'get_dist_info', lambda rank=rank: (rank, 2))
        shards.append(list(YOLORectBatchSampler(_Sampler(), 3)))
    assert shards[0] == alone[0::2] and shards[1] == alone[1::2]  # whole batches: same shapes in DDP
    assert sorted(i for b in alone for i in b) == list(range(8))
