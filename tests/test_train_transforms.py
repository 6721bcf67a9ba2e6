# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The training transforms: Ultralytics' augmentation for the same random draws (pixels and labels), empty samples
through every step, and the semantics mmpose's Mosaic + BottomupRandomAffine got wrong."""
from __future__ import annotations

import random

import numpy as np
import pytest
from mmengine.registry import init_default_scope

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets import SampleKey, YOLOPoseDataset
from yolopose_mm.datasets.transforms import (YOLOHSVRandomAug, YOLOLoadImage, YOLOMosaic, YOLORandomAffine,
                                             YOLORandomFlip)

FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def _ultralytics_train_dataset(root, imgsz):
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    data = check_det_dataset(str(root / 'coco8-pose.yaml'))
    cfg = get_cfg(overrides=dict(task='pose', imgsz=imgsz, mode='train'))
    return build_yolo_dataset(cfg, data['train'], batch=4, data=data, mode='train')


def _xyxy(instances):
    instances.convert_bbox(format='xyxy')
    return instances.bboxes


@pytest.mark.parametrize('mosaic', [True, False], ids=['mosaic', 'no-mosaic'])
def test_same_sample_as_ultralytics_for_the_same_draws(coco8_copy, ultralytics, tmp_path, mosaic):
    """Our load + mosaic + affine + HSV + flip equal Ultralytics' Mosaic + RandomPerspective + RandomHSV + RandomFlip
    pixel for pixel, with the same boxes and keypoints, when both draw from the same random state."""
    from ultralytics.data.augment import Mosaic, RandomFlip, RandomHSV, RandomPerspective
    init_default_scope('mmpose')
    imgsz = 320
    root = coco8_copy  # Ultralytics writes a label cache next to the labels
    ref_ds = _ultralytics_train_dataset(root, imgsz)
    ours_ds = YOLOPoseDataset(str(root / 'coco8-pose.yaml'), split='train', metainfo='coco',
                              cache_dir=str(tmp_path / 'labels'))
    by_file = {ours_ds.get_data_info(i)['img_path']: i for i in range(len(ours_ds))}
    ref_index = {i: by_file[f] for i, f in enumerate(ref_ds.im_files)}  # theirs -> ours
    steps_ref = ([Mosaic(ref_ds, imgsz=imgsz, p=1.0)] if mosaic else []) + [
        RandomPerspective(translate=0.1, scale=0.5, size=(imgsz, imgsz)),
        RandomHSV(hgain=0.015, sgain=0.7, vgain=0.4), RandomFlip(direction='horizontal', p=0.5, flip_idx=FLIP)]
    steps_ours = [YOLOLoadImage(imgsz)] + ([YOLOMosaic(imgsz)] if mosaic else []) + [
        YOLORandomAffine(imgsz, translate=0.1, scale=0.5), YOLOHSVRandomAug(0.015, 0.7, 0.4), YOLORandomFlip(0.5)]
    flips = people = 0
    for trial in range(8):
        i = trial % len(ref_ds)
        labels = ref_ds.get_image_and_label(i)
        pool = tuple(ref_index[j] for j in range(len(ref_ds)))
        others = [j for j in range(len(ref_ds)) if j != i]
        ref_ds.buffer = others  # Ultralytics draws partners from its buffer: make it our pool, in the same order
        seed = 1000 + trial
        random.seed(seed)
        np.random.seed(seed)
        for t in steps_ref:
            labels = t(labels)
        results = ours_ds.get_data_info(ref_index[i])
        results.update(dataset=ours_ds, sample_key=SampleKey(ref_index[i], 0, 0, pool))
        random.seed(seed)
        np.random.seed(seed)
        for t in steps_ours:
            results = t(results)
        assert results['img'].shape == labels['img'].shape == (imgsz, imgsz, 3)
        assert np.array_equal(results['img'], labels['img']), f'trial {trial}: pixels differ'
        inst = labels['instances']
        np.testing.assert_allclose(results['bbox'], _xyxy(inst), atol=1e-3)
        np.testing.assert_allclose(results['keypoints'], inst.keypoints[..., :2], atol=1e-3)
        np.testing.assert_array_equal(results['keypoints_visible'] > 0, inst.keypoints[..., 2] > 0)
        flips += results['flip']
        people += len(results['bbox'])
    assert 0 < flips < 8 and people > 8  # both flip outcomes and real people were compared


def test_mmpose_affine_shows_a_corner_of_the_mosaic_ours_its_centre():
    """mmpose's perspective-mode BottomupRandomAffine keeps the canvas point (w/2, h/2) fixed, so at scale 1 a 2x
    mosaic canvas shows only its top-left quadrant; Ultralytics' (and our) warp maps the canvas centre to the output
    centre."""
    from mmpose.datasets.transforms import BottomupRandomAffine
    canvas = np.zeros((128, 128, 3), np.uint8)
    canvas[:64, :64] = 255
    mm = BottomupRandomAffine(input_size=(64, 64), shift_factor=0.0, rotate_factor=0.0, scale_factor=(1.0, 1.0),
                              shear_factor=0.0, distribution='uniform', transform_mode='perspective')
    assert mm(dict(img=canvas, img_shape=(128, 128)))['img'].mean() == 255  # the top-left quadrant only
    ours = YOLORandomAffine(64, translate=0.0, scale=(1.0, 1.0))(dict(img=canvas, img_shape=(128, 128)))['img']
    assert ours[:32, :32].mean() == 255 and ours[32:, 32:].mean() == 0  # the four quadrants meet at the centre


def _sample(n, k=17, dim=3):
    bbox = np.array([[10, 10, 60, 90]] * n, np.float32).reshape(n, 4)
    kpts = np.tile(np.linspace(12, 58, k, dtype=np.float32)[None, :, None], (n, 1, 2)).reshape(n, k, 2)
    return dict(img=np.full((100, 80, 3), 90, np.uint8), img_shape=(100, 80), bbox=bbox, keypoints=kpts,
                keypoints_visible=np.ones((n, k), np.float32), category_id=[1] * n, area=np.full(n, 100, np.float32),
                bbox_score=np.ones(n, np.float32), flip_indices=list(range(k)))


@pytest.mark.parametrize('k', [17, 5, 1])
def test_empty_samples_pass_every_step(k):
    """Nobody in the image: each step keeps (0, 4) boxes and (0, K, 2) keypoints and never fails."""
    random.seed(0)
    for step in (YOLOLoadImage(64), YOLORandomAffine(64, degrees=10, shear=5, perspective=1e-3),
                 YOLOHSVRandomAug(), YOLORandomFlip(1.0), YOLORandomFlip(1.0, 'vertical')):
        out = step(_sample(0, k))
        assert out['bbox'].shape == (0, 4) and out['keypoints'].shape == (0, k, 2), type(step).__name__
        assert out['keypoints_visible'].shape == (0, k)


def test_affine_drops_people_cropped_out_and_keeps_the_sample():
    s = _sample(3)
    s['bbox'][1] = [0, 0, 10, 10]  # in the corner that falls outside the 40 x 40 output
    s['bbox'][2] = [30, 40, 33, 43]  # 3 px wide: 1.5 px at scale 0.5
    out = YOLORandomAffine(40, translate=0.0, scale=(1.0, 1.0))(dict(s))
    assert len(out['bbox']) == len(out['keypoints']) == len(out['category_id']) == 2
    np.testing.assert_allclose(out['bbox'][0], [0, 0, 40, 40])  # centre (40, 50) -> (20, 20), clipped
    assert (out['keypoints_visible'][0] == 0).any() and (out['keypoints_visible'][0] == 1).any()
    out = YOLORandomAffine(40, translate=0.0, scale=(0.5, 0.5))(dict(s))
    assert len(out['bbox']) == 1


def test_transform_arguments_are_checked():
    with pytest.raises(ValueError, match='scale'):
        YOLORandomAffine(640, scale=(1.5, 0.5))
    with pytest.raises(ValueError, match='translate'):
        YOLORandomAffine(640, translate=0.7)
    with pytest.raises(ValueError, match='prob'):
        YOLOMosaic(640, prob=2.0)
    with pytest.raises(ValueError, match='direction'):
        YOLORandomFlip(0.5, direction='diagonal')
    with pytest.raises(KeyError, match='dataset'):
        random.seed(0)
        YOLOMosaic(64)(_sample(1))
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        YOLOLoadImage(64)(dict(img_path='/nonexistent/nope.jpg'))


def test_load_resizes_the_long_side_as_ultralytics():
    out = YOLOLoadImage(640)(dict(img=np.zeros((500, 381, 3), np.uint8), bbox=np.array([[0, 0, 381, 500]],
                                                                                          np.float32)))
    assert out['img'].shape[:2] == (640, 488)  # ceil(381 * 1.28) = 488
    np.testing.assert_allclose(out['bbox'], [[0, 0, 488, 640]], rtol=1e-6)
    assert out['ori_shape'] == (500, 381) and out['img_shape'] == (640, 488)
