# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics' rectangular validation protocol: YOLORectBatchSampler + LetterBox(rect=True) + the configs'
YOLOPoseDataPreprocessor give the batches (order, shape, pixels) of `yolo val`'s loader, predictions map back to
the original image, and the number of processes does not change the metrics."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, pseudo_collate

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets import YOLORectBatchSampler, ultralytics_val_order
from yolopose_mm.datasets.transforms import LetterBox
from yolopose_mm.datasets.transforms.letterbox import rect_batch_shape
from yolopose_mm.utils import config_file

META_KEYS = ('img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center', 'input_scale', 'rect_letterbox')


@pytest.fixture(scope='module')
def preprocessor():
    """The configs' data preprocessor (YOLOPoseDataPreprocessor: mmpose's, plus yolo val's batch padding)."""
    from mmpose.registry import MODELS
    cfg = Config.fromfile(str(config_file('configs/_base_/yolo_pose_coco.py')))
    assert cfg.model.data_preprocessor.type == 'YOLOPoseDataPreprocessor'
    assert 'collate_fn' not in cfg.val_dataloader  # plain dataloaders: mmpose's front ends read them too
    return MODELS.build(cfg.model.data_preprocessor)


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


def test_batches_equal_ultralytics_val_loader(mixed_images, ultralytics, preprocessor, tmp_path):
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
            ours = preprocessor(pseudo_collate([ds[i] for i in indices]), False)
            theirs = ref.collate_fn([ref[i] for i in range(k * batch, min((k + 1) * batch, len(ref)))])
            assert [Path(s.img_path).name for s in ours['data_samples']] == [Path(f).name for f in theirs['im_file']]
            # what each model sees: our normalised RGB batch vs Ultralytics' validator's img.float() / 255
            ref_img = theirs['img'].float() / 255
            assert ours['inputs'].shape == ref_img.shape and torch.equal(ours['inputs'], ref_img), (batch, k)
            shapes_seen.add(tuple(ref_img.shape[2:]))
    assert len(shapes_seen) >= 4  # landscape, portrait and mixed batches were all exercised


def _packed(h: int, w: int, size: int = 640, value: int = 7, **letterbox) -> dict:
    letterbox.setdefault('rect', True)
    from mmpose.datasets.transforms import PackPoseInputs
    out = LetterBox(size, **letterbox)(dict(img=np.full((h, w, 3), value, np.uint8), ori_shape=(h, w),
                                            img_path=f'{h}x{w}.jpg'))
    return PackPoseInputs(meta_keys=META_KEYS)(out)


def test_preprocessor_maps_predictions_back_to_the_image(preprocessor):
    """The re-padded content's corners map, with each sample's updated metainfo, to the original image corners;
    batches without the rect mark (the square protocol, training) keep mmpose's padding exactly."""
    hws = [(480, 640), (427, 640), (640, 480), (1080, 810)]
    out = preprocessor(pseudo_collate([_packed(h, w) for h, w in hws]), False)
    out_h, out_w = rect_batch_shape([h / w for h, w in hws], 640, 32)
    assert tuple(out['inputs'].shape) == (4, 3, out_h, out_w)
    for img, sample, (h, w) in zip(out['inputs'], out['data_samples'], hws):
        assert tuple(sample.input_size) == (out_w, out_h) and tuple(sample.batch_input_shape) == (out_h, out_w)
        rows, cols = np.nonzero(np.isclose(img[0].numpy(), 7 / 255))
        corners = np.array([[cols.min(), rows.min()], [cols.max() + 1, rows.max() + 1]], np.float64)
        back = corners / np.array([out_w, out_h]) * sample.input_scale + sample.input_center - 0.5 * sample.input_scale
        np.testing.assert_allclose(back, [[0, 0], [w, h]], atol=1e-3)
        assert set(np.unique(np.round(img[0].numpy() * 255).astype(int))) == {7, 114}
    # a batch of one is already in its shape: nothing moves
    single = _packed(1080, 810)
    alone = preprocessor(pseudo_collate([single]), False)
    assert torch.equal(alone['inputs'][0], single['inputs'][[2, 1, 0]].float() / 255)
    np.testing.assert_array_equal(alone['data_samples'][0].input_center, single['data_samples'].input_center)
    # the square protocol: 640x640 samples stay 640x640, as mmpose's PoseDataPreprocessor leaves them
    square = preprocessor(pseudo_collate([_packed(h, w, auto=False, rect=False) for h, w in hws]), False)
    assert tuple(square['inputs'].shape) == (4, 3, 640, 640)
    assert 'rect_letterbox' not in square['data_samples'][0]


def test_preprocessor_and_sampler_errors(preprocessor):
    mixed = pseudo_collate([_packed(480, 640), _packed(480, 640, auto=False, rect=False)])
    with pytest.raises(ValueError, match='only some samples.*LetterBox'):
        preprocessor(mixed, False)
    with pytest.raises(ValueError, match='mixes LetterBox'):
        preprocessor(pseudo_collate([_packed(480, 640), _packed(480, 640, size=320, rect=True)]), False)
    bad = _packed(240, 320, size=320, rect=True)
    bad['data_samples'].set_metainfo(dict(rect_letterbox=dict(bad['data_samples'].rect_letterbox, size=640)))
    with pytest.raises(ValueError, match=r'240x320\.jpg has 320x240 content.*LetterBox\(input_size=640, rect=True\)'):
        preprocessor(pseudo_collate([bad, _packed(480, 640)]), False)
    with pytest.raises(ValueError, match='drop_last'):
        YOLORectBatchSampler(object(), 4, drop_last=True)
    with pytest.raises(ValueError, match='batch_size'):
        YOLORectBatchSampler(object(), 0)
    with pytest.raises(TypeError, match='DefaultSampler'):
        YOLORectBatchSampler(object(), 4)


def test_unmarked_rect_batch_warns_once_with_the_fix():
    """LetterBox(rect=True) whose mark PackPoseInputs dropped: mmpose pads bottom-right; one warning says so."""
    from mmpose.datasets.transforms import PackPoseInputs
    from mmpose.registry import MODELS
    preprocessor = MODELS.build(dict(type='YOLOPoseDataPreprocessor'))
    keys = tuple(k for k in META_KEYS if k != 'rect_letterbox')

    def unmarked(h, w):
        out = LetterBox(640, rect=True)(dict(img=np.zeros((h, w, 3), np.uint8), ori_shape=(h, w), img_path='x'))
        return PackPoseInputs(meta_keys=keys)(out)

    import logging

    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    fix = "add 'rect_letterbox' to PackPoseInputs' meta_keys"
    try:
        preprocessor(pseudo_collate([_packed(480, 640), _packed(640, 480)]), False)  # marked: no warning
        assert not records
        for _ in range(2):
            out = preprocessor(pseudo_collate([unmarked(480, 640), unmarked(640, 480)]), False)
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1 and fix in records[0]
    assert tuple(out['inputs'].shape[-2:]) == (672, 672)  # mmpose pads both (512x672, 672x512) to the largest


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


def test_mmdeploy_task_builds_our_data_preprocessor():
    """mmdeploy 1.3.1 builds only 'PoseDataPreprocessor' configs for backend models; with yolopose_mm.deploy
    imported (deploy configs' custom_imports) its PoseDetection task hands it ours, built."""
    pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')
    from mmdeploy.apis import build_task_processor

    from yolopose_mm.deploy.pipeline import load_configs
    from yolopose_mm.deploy.task_processor import YOLOPoseDetection, build_data_preprocessor_for_mmdeploy
    from yolopose_mm.models import YOLOPoseDataPreprocessor
    deploy_cfg, model_cfg = load_configs(
        str(config_file('configs/deploy/pose-detection_yolopose_onnxruntime_dynamic.py')),
        str(config_file('configs/yolopose_n_coco8.py')))
    task = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    assert isinstance(task, YOLOPoseDetection)
    built = build_data_preprocessor_for_mmdeploy(task.update_data_preprocessor(model_cfg.model.data_preprocessor))
    assert isinstance(built, YOLOPoseDataPreprocessor) and built.pad_size_divisor == 32
    plain = dict(type='PoseDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1])
    assert build_data_preprocessor_for_mmdeploy(plain) is plain  # mmdeploy's own path, unchanged
