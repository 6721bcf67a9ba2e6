# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""LetterBox: identical pixels to Ultralytics' predict letterbox, and a metainfo mapping that inverts it."""
from __future__ import annotations

import numpy as np
import pytest

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets.transforms import LetterBox


@pytest.mark.parametrize('hw', [(1080, 810), (720, 1280), (333, 517), (640, 640), (50, 900)])
@pytest.mark.parametrize('auto', [True, False])
def test_same_pixels_as_ultralytics(hw, auto, ultralytics):
    from ultralytics.data.augment import LetterBox as ULLetterBox
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (*hw, 3), dtype=np.uint8)
    ref = ULLetterBox((640, 640), auto=auto, stride=32)(image=img)
    ours = LetterBox(640, auto=auto)(dict(img=img))
    assert ours['img'].shape == ref.shape
    assert np.array_equal(ours['img'], ref)


def test_metainfo_maps_back_to_the_image():
    img = np.zeros((480, 300, 3), np.uint8)
    kpts = np.array([[[10.0, 20.0], [299.0, 479.0]]], np.float32)
    out = LetterBox(320, auto=False)(dict(img=img, keypoints=kpts.copy()))
    w, h = out['input_size']
    back = out['keypoints'] / np.array([w, h]) * out['input_scale'] + out['input_center'] - 0.5 * out['input_scale']
    np.testing.assert_allclose(back, kpts, atol=1e-3)


def test_validation():
    with pytest.raises(ValueError, match='input_size'):
        LetterBox((640,))
