# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The fused normalisation of YOLOPoseDataPreprocessor (one pass per image) against mmpose's own
PoseDataPreprocessor (mmengine's flip, float, subtract, divide, pad, stack): the same tensors bit for bit, the same
metainfo, and mmengine's path whenever the fused one would not be exact."""
from __future__ import annotations

import pytest
import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.structures import PoseDataSample

import yolopose_mm  # noqa: F401  (registers the preprocessor)
from yolopose_mm.models.data_preprocessors import yolo_pose_data_preprocessor as module
from yolopose_mm.models.data_preprocessors.yolo_pose_data_preprocessor import YOLOPoseDataPreprocessor

YOLO = dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True, pad_size_divisor=32,
            pad_value=114 / 255)


def _batch(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g) for h, w in shapes]
    images[0][:, 0, :256] = torch.arange(256, dtype=torch.uint8)  # every uint8 value in every channel
    return images


def _run(preprocessor, images):
    out = preprocessor({'inputs': [x.clone() for x in images], 'data_samples': [PoseDataSample() for _ in images]})
    return out['inputs'], [s.metainfo for s in out['data_samples']]


@pytest.mark.parametrize('kwargs', [YOLO, {**YOLO, 'std': [1.0, 57.5, 255.0], 'bgr_to_rgb': False},
                                    {**YOLO, 'pad_size_divisor': 1, 'pad_value': 0.0}])
@pytest.mark.parametrize('shapes', [[(384, 640)], [(384, 640)] * 3, [(370, 600), (384, 640), (100, 33)]])
def test_fused_normalisation_is_mmengines_bit_for_bit(kwargs, shapes, monkeypatch):
    fused = YOLOPoseDataPreprocessor(**kwargs)
    assert fused._can_fuse(_batch(shapes))
    calls = []
    real = module.fused_normalize
    monkeypatch.setattr(module, 'fused_normalize', lambda *a: calls.append(1) or real(*a))
    got, got_meta = _run(fused, _batch(shapes))
    want, want_meta = _run(PoseDataPreprocessor(**kwargs), _batch(shapes))
    assert calls, 'the fused path did not run'
    assert got.dtype == want.dtype and got.shape == want.shape and got.is_contiguous()
    assert torch.equal(got, want)
    assert got_meta == want_meta


@pytest.mark.parametrize('kwargs,images', [
    ({**YOLO, 'mean': [0.0, 0.0, 1.0]}, None),  # a mean: (x - mean) / std is not one division
    (YOLO, [torch.rand(3, 64, 96) * 255]),  # float images: mmengine rounds to float32 first
    ({**YOLO, 'mean': None, 'std': None}, None),  # no normalisation
])
def test_other_settings_take_mmengines_path(kwargs, images):
    images = images or _batch([(64, 300)])
    fused = YOLOPoseDataPreprocessor(**kwargs)
    assert not fused._can_fuse(images)
    got, _ = _run(fused, images)
    want, _ = _run(PoseDataPreprocessor(**kwargs), images)
    assert torch.equal(got, want)
