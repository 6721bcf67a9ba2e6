# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The training pipeline's shortcuts change speed, never a sample: the lazy mosaic warp, the decoded-image cache,
the shared metainfo and the copy-free packing give exactly what the plain steps give."""
from __future__ import annotations

import copy
import io
import pickle
import random
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import DATASETS

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets import SampleKey
from yolopose_mm.datasets.image_cache import DecodedImageCache, process_cache
from yolopose_mm.datasets.transforms import YOLOPackPoseInputs, YOLORandomAffine
from yolopose_mm.datasets.transforms.load import load_resized
from yolopose_mm.datasets.transforms.mosaic import MosaicLayout, mosaic_layout

REPO = Path(__file__).resolve().parents[1]
SIZE = 320


def _pipeline(reference: bool):
    """The coco8 recipe at SIZE px: the configured steps, or the plain ones they replace."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco8.py'))
    steps = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for step in steps:
        for key in ('img_scale', 'input_size'):
            if key in step:
                step[key] = (SIZE, SIZE)
        if step['type'] == 'YOLOMosaic':
            step['pre_transform'][0]['img_scale'] = (SIZE, SIZE)
        if reference:
            if step['type'] == 'YOLOLoadImage':
                step['cache'] = False
            if step['type'] == 'YOLOMosaic':
                step['lazy'] = False
                step['pre_transform'][0]['cache'] = False
            if step['type'] == 'YOLOPackPoseInputs':
                step['type'] = 'PackPoseInputs'
    return steps


def _assert_same_sample(a, b):
    assert torch.equal(a['inputs'], b['inputs'])
    sa, sb = a['data_samples'], b['data_samples']
    for field in ('gt_instances', 'gt_instance_labels'):
        fa, fb = sa.get(field), sb.get(field)
        assert set(fa.keys()) == set(fb.keys()), field
        for k in fa.keys():
            va, vb = fa.get(k), fb.get(k)
            same = torch.equal(va, vb) if isinstance(va, torch.Tensor) else np.array_equal(va, vb)
            assert same, f'{field}.{k}'
    assert sa.metainfo.keys() == sb.metainfo.keys()
    for k, v in sa.metainfo.items():
        assert np.array_equal(np.asarray(v, dtype=object), np.asarray(sb.metainfo[k], dtype=object)), k


def test_configured_pipeline_gives_the_samples_of_the_plain_steps(data_dir):
    """Lazy mosaic + cache + YOLOPackPoseInputs vs canvas mosaic + fresh decodes + PackPoseInputs: the same pixels,
    labels and metainfo for every sample of two epochs (the cache cold, then warm)."""
    init_default_scope('mmpose')
    yaml = str(data_dir / 'coco8-pose' / 'coco8-pose.yaml')
    fast = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=yaml, split='train', metainfo='coco',
                               pipeline=_pipeline(False)))
    plain = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=yaml, split='train', metainfo='coco',
                                pipeline=_pipeline(True)))
    process_cache().clear()
    pool = tuple(range(len(fast)))
    for epoch in range(2):
        for i in range(len(fast)):
            key = SampleKey(i, 0, epoch, pool)
            _assert_same_sample(fast[key], plain[key])
    stats = process_cache().stats()
    assert stats['misses'] == len(fast) and stats['hits'] > 0  # each image decoded once


@pytest.mark.parametrize('params', [dict(), dict(degrees=10.0, shear=5.0), dict(scale=(0.2, 3.0), translate=0.5)],
                         ids=['recipe', 'rotate-shear', 'far-zoom'])
def test_lazy_mosaic_warp_equals_warping_the_whole_canvas(data_dir, params):
    imgs = [load_resized(str(p), (640, 640))[0] for p in sorted((data_dir / 'coco8-pose' / 'images').glob('*/*'))]
    affine = YOLORandomAffine(640, **params)
    rng = random.Random(0)
    for trial in range(15):
        random.seed(trial)
        parts = rng.sample(imgs, 4)
        center = (rng.randint(320, 960), rng.randint(320, 960))
        tiles = [(p[b[1]:b[3], b[0]:b[2]], a[0], a[1])
                 for p, (a, b) in zip(parts, mosaic_layout(center, [p.shape[:2] for p in parts], (1280, 1280)))]
        layout = MosaicLayout((1280, 1280), 114, tiles)
        m, _ = affine.draw((1280, 1280))
        assert np.array_equal(affine.warp_layout(layout, m), affine.warp_image(layout.render(), m)), trial


def _render_plain(layout: MosaicLayout, region) -> np.ndarray:
    """The canvas part ``region`` drawn the plain way: filled with the pad colour, then every tile pasted in order."""
    x1, y1, x2, y2 = region
    canvas = np.full((layout.canvas_wh[1], layout.canvas_wh[0], 3), layout.pad_val, np.uint8)
    for img, tx, ty in layout.tiles:
        h, w = canvas[ty:ty + img.shape[0], tx:tx + img.shape[1]].shape[:2]
        canvas[ty:ty + h, tx:tx + w] = img[:h, :w]
    return canvas[y1:y2, x1:x2]


def test_render_pastes_each_tile_once_and_pads_only_the_rest():
    """MosaicLayout.render (each tile copied once, the pad colour only where no tile is, optionally into a reused
    buffer holding an earlier image) equals filling the canvas and pasting the tiles in order, for mosaic layouts
    (tiles cropped at the border, centres near the edges) and overlapping tiles, whole canvas and random parts."""
    rng = np.random.default_rng(0)
    buf = np.full(200 * 200 * 3, 7, np.uint8)
    for trial in range(200):
        cw, ch = int(rng.integers(20, 200)), int(rng.integers(20, 200))
        if trial % 2:  # a mosaic layout
            parts = [rng.integers(0, 255, (int(rng.integers(5, ch)), int(rng.integers(5, cw)), 3), dtype=np.uint8)
                     for _ in range(4)]
            center = (int(rng.integers(0, cw + 1)), int(rng.integers(0, ch + 1)))
            tiles = [(p[b[1]:b[3], b[0]:b[2]], a[0], a[1])
                     for p, (a, b) in zip(parts, mosaic_layout(center, [p.shape[:2] for p in parts], (cw, ch)))]
        else:  # tiles anywhere inside the canvas, overlapping
            tiles = []
            for _ in range(int(rng.integers(0, 5))):
                tx, ty = int(rng.integers(0, cw)), int(rng.integers(0, ch))
                tile = rng.integers(0, 255, (int(rng.integers(1, ch - ty + 1)), int(rng.integers(1, cw - tx + 1)), 3),
                                    dtype=np.uint8)
                tiles.append((tile, tx, ty))
        layout = MosaicLayout((cw, ch), int(rng.integers(0, 256)), tiles)
        x1, x2 = sorted(int(v) for v in rng.integers(0, cw + 1, 2))
        y1, y2 = sorted(int(v) for v in rng.integers(0, ch + 1, 2))
        for region in ((0, 0, cw, ch), (x1, y1, x2 + 1 if x2 < cw else x2, y2 + 1 if y2 < ch else y2)):
            want = _render_plain(layout, region)
            assert np.array_equal(layout.render(region), want), trial
            got = layout.render(region, out=buf)
            assert np.shares_memory(got, buf) and got.flags.c_contiguous and np.array_equal(got, want), trial
    assert np.array_equal(MosaicLayout((4, 3), 9, []).render(), np.full((3, 4, 3), 9, np.uint8))


def test_pack_equals_mmpose_pack_and_does_not_copy_the_image():
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    results = dict(img=img, img_shape=(48, 64), bbox=np.array([[1, 2, 30, 40]], np.float32),
                   bbox_score=np.ones(1, np.float32), keypoints=np.ones((1, 17, 2), np.float32),
                   keypoints_visible=np.ones((1, 17), np.float32), bbox_labels=np.zeros(1, np.int8),
                   flip_indices=list(range(17)), id=[3], img_id=1, img_path='x.jpg', category_id=[1],
                   label_mapping_table=dict(bbox='bboxes', bbox_labels='labels', keypoints='keypoints',
                                            keypoints_visible='keypoints_visible'))
    ours = YOLOPackPoseInputs()(dict(results))
    _assert_same_sample(ours, PackPoseInputs()(dict(results)))
    assert ours['inputs'].shape == (3, 48, 64)
    assert ours['inputs'].untyped_storage().data_ptr() == img.ctypes.data  # a view of the image


def test_shared_metainfo_equals_mmpose_and_is_read_only(data_dir):
    init_default_scope('mmpose')
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(data_dir / 'coco8-pose' / 'coco8-pose.yaml'),
                             split='train', metainfo='coco'))
    ours, mmpose = ds.get_data_info(1), BaseCocoStyleDataset.get_data_info(ds, 1)
    assert set(ours) == set(mmpose) | {'keypoint_dim'}
    for k, v in mmpose.items():
        assert np.array_equal(np.asarray(ours[k], dtype=object), np.asarray(v, dtype=object)), k
    with pytest.raises(ValueError, match='read-only'):
        ours['dataset_keypoint_weights'][0] = 2.0
    ours['flip_indices'].append(99)  # a copy: the dataset's metainfo is untouched
    assert len(ds.get_data_info(1)['flip_indices']) == 17
    assert 'raw_ann_info' not in ours  # training samples; test_mode datasets carry it for the metrics


def test_cache_keeps_the_batch_and_hands_out_read_only_images():
    cache = DecodedImageCache(capacity=2)
    loads = []

    def loader(v):
        return lambda: (loads.append(v) or np.full((4, 4, 3), v, np.uint8), (8, 8))

    for v in (1, 2, 1, 3, 1, 2):
        img, hw = cache.get(f'{v}.jpg', (4, 4), loader(v))
        assert img[0, 0, 0] == v and hw == (8, 8)
    assert loads == [1, 2, 3, 2]  # least recently used out
    with pytest.raises(ValueError, match='read-only'):
        img[0, 0, 0] = 0
    assert cache.stats()['images'] == 2 and cache.stats()['peak_nbytes'] == 2 * 48


def test_lazy_mosaic_must_be_followed_by_the_affine(data_dir):
    init_default_scope('mmpose')
    steps = [s for s in _pipeline(False) if s['type'] != 'YOLORandomAffine']
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(data_dir / 'coco8-pose' / 'coco8-pose.yaml'),
                             split='train', pipeline=steps, lazy_init=True))
    with pytest.raises(ValueError, match='YOLOMosaic.*followed by YOLOHSVRandomAug.*lazy=False'):
        ds.full_init()


def test_collate_gives_the_data_preprocessor_the_same_batch(data_dir):
    """yolo_pose_collate (one batch tensor, joined labels) vs mmengine's pseudo_collate (lists): the model's data
    preprocessor returns the same inputs and the samples carry the same labels."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import MODELS

    from yolopose_mm.datasets import yolo_pose_collate
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco8.py'))
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(data_dir / 'coco8-pose' / 'coco8-pose.yaml'),
                             split='train', metainfo='coco', pipeline=_pipeline(False)))
    pool = tuple(range(len(ds)))
    samples = [ds[SampleKey(i, 0, 0, pool)] for i in range(len(ds))]
    ref = pseudo_collate(copy.deepcopy(samples))
    ours = yolo_pose_collate(samples)
    assert isinstance(ours['inputs'], torch.Tensor) and ours['inputs'].shape == (len(ds), 3, SIZE, SIZE)
    pre = MODELS.build(cfg.model.data_preprocessor)
    assert torch.equal(pre(ours, True)['inputs'], pre(ref, True)['inputs'])
    for a, b in zip(ours['data_samples'], ref['data_samples']):
        for k in b.gt_instance_labels.keys():
            assert torch.equal(a.gt_instance_labels.get(k), b.gt_instance_labels.get(k)), k
    # leaving a worker (torch's pickler): each label field once per batch, by value, the samples' slices cut again
    replaced = torch.full_like(ours['data_samples'][1].gt_instance_labels.areas, 5.0)
    ours['data_samples'][1].gt_instance_labels.areas = replaced
    buf = io.BytesIO()
    ForkingPickler(buf, pickle.HIGHEST_PROTOCOL).dump(ours)
    arrived = pickle.loads(buf.getvalue())
    assert torch.equal(arrived['inputs'], ours['inputs'])
    for name in ref['data_samples'][0].gt_instance_labels.keys():
        fields = [s.gt_instance_labels.get(name) for s in arrived['data_samples']]
        for i, (field, b) in enumerate(zip(fields, ref['data_samples'])):
            if (i, name) == (1, 'areas'):  # replaced after collating: sent as a tensor of its own
                assert torch.equal(field, replaced) and field.is_shared()
                continue
            want = b.gt_instance_labels.get(name)
            assert torch.equal(field, want) and field.dtype == want.dtype and not field.is_shared(), (i, name)
        if name != 'areas':
            assert len({f.untyped_storage().data_ptr() for f in fields}) == 1, name  # views of one tensor


def test_batch_of_slots_gives_the_samples_one_by_one_and_collates_without_a_copy(data_dir):
    """A batch of keys (``__getitems__``: the final images written into one batch tensor by HSV / flip / pack) gives
    the samples of one key at a time for two epochs, with and without mosaic, and ``yolo_pose_collate`` hands that
    batch tensor on as it is."""
    from yolopose_mm.datasets import yolo_pose_collate
    init_default_scope('mmpose')
    yaml = str(data_dir / 'coco8-pose' / 'coco8-pose.yaml')
    mosaic = _pipeline(False)
    no_mosaic = [s for s in mosaic if s['type'] != 'YOLOMosaic']
    no_hsv = [s for s in mosaic if s['type'] != 'YOLOHSVRandomAug']  # the flip (or pack) writes the slot
    for steps in (mosaic, no_mosaic, no_hsv):
        ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=yaml, split='train', metainfo='coco',
                                 pipeline=steps))
        pool = tuple(range(len(ds)))
        for epoch in range(2):
            keys = [SampleKey(i, 0, epoch, pool) for i in range(len(ds))]
            batch = ds.__getitems__(keys)
            base = batch[0]['inputs'].untyped_storage()
            for key, sample in zip(keys, batch):
                assert sample['inputs'].untyped_storage().data_ptr() == base.data_ptr()
                _assert_same_sample(sample, ds[key])
            flips = [s['data_samples'].flip for s in batch]
            collated = yolo_pose_collate(batch)
            assert collated['inputs'].untyped_storage().data_ptr() == base.data_ptr()  # no copy
            assert torch.equal(collated['inputs'], torch.stack([ds[k]['inputs'] for k in keys]))
        assert any(flips) and not all(flips)


def test_slot_is_not_shared_by_deep_copies():
    from yolopose_mm.datasets.image_batch import ImageBatch, batch_of_slots
    slots = ImageBatch(2).slots()
    img = np.zeros((4, 5, 3), np.uint8)
    assert copy.deepcopy(slots[0]).out(img) is None
    a, b = slots[0].out(img), slots[1].out(img)
    assert a.shape == (4, 5, 3) and slots[0].holds(a) and not slots[0].holds(b) and not slots[0].holds(img)
    assert slots[1].out(np.zeros((4, 6, 3), np.uint8)) is None  # another shape: no slot
    views = [s.tensor().permute(2, 0, 1) for s in slots]
    assert batch_of_slots(views).shape == (2, 3, 4, 5) and batch_of_slots(views[::-1]) is None
