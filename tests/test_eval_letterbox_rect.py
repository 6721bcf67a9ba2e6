# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""LetterBox(rect=True): the pixels of Ultralytics' validation loader with one image per batch, and a metainfo
mapping that inverts it."""
from __future__ import annotations


import numpy as np
import pytest

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets.transforms import LetterBox
from yolopose_mm.datasets.transforms.letterbox import val_rect_params


def test_same_pixels_as_ultralytics_val_loader(coco8_copy, ultralytics, tmp_path):
    import cv2
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    root = coco8_copy  # Ultralytics writes a label cache next to the labels
    data = check_det_dataset(str(root / 'coco8-pose.yaml'))
    cfg = get_cfg(overrides=dict(task='pose', imgsz=640, mode='val'))
    ds = build_yolo_dataset(cfg, data['val'], batch=1, data=data, mode='val', rect=True, stride=32)
    assert len(ds) == 4
    for i in range(len(ds)):
        ref = ds[i]
        ref_img = ref['img'].numpy().transpose(1, 2, 0)[..., ::-1]  # CHW RGB -> HWC BGR
        ours = LetterBox(640, rect=True)(dict(img=cv2.imread(ref['im_file'])))
        assert ours['img'].shape == ref_img.shape, ref['im_file']
        assert np.array_equal(ours['img'], ref_img), ref['im_file']


@pytest.mark.parametrize('hw', [(480, 640), (640, 427), (500, 500), (1080, 810), (50, 900)])
def test_rect_metainfo_maps_back(hw):
    img = np.zeros((*hw, 3), np.uint8)
    kpts = np.array([[[3.0, 4.0], [hw[1] - 1.0, hw[0] - 1.0]]], np.float32)
    out = LetterBox(640, rect=True)(dict(img=img, keypoints=kpts.copy()))
    w, h = out['input_size']
    assert w % 32 == 0 and h % 32 == 0 and max(w, h) == 672  # long side 640 + half a stride of margin, rounded up
    back = out['keypoints'] / np.array([w, h]) * out['input_scale'] + out['input_center'] - 0.5 * out['input_scale']
    np.testing.assert_allclose(back, kpts, atol=1e-3)
    assert val_rect_params(hw, 640, 32)['out_wh'] == (w, h)


def test_rect_validation():
    with pytest.raises(ValueError, match='rect_pad'):
        LetterBox(640, rect=True, rect_pad=-1)
    with pytest.raises(ValueError, match='stride'):
        LetterBox(640, rect=True, stride=0)
