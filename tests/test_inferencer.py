# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmpose's own front ends (MMPoseInferencer, inference_bottomup) with our config and converted checkpoint."""
from __future__ import annotations

import json

import numpy as np
import pytest

from yolopose_mm.utils import config_file


@pytest.fixture(scope='module')
def config_path() -> str:
    return str(config_file('configs/yolopose_n_coco.py'))


@pytest.mark.slow
def test_mmpose_inferencer_matches_our_api(config_path, converted_yolo11n, data_dir, tmp_path):
    from mmpose.apis import MMPoseInferencer

    from yolopose_mm.apis import inference, init_model
    bus = str(data_dir / 'images' / 'bus.jpg')
    inferencer = MMPoseInferencer(pose2d=config_path, pose2d_weights=str(converted_yolo11n), device='cpu')
    # the inferencer's bbox_thr / nms_thr become the head's score_thr / nms_thr (mmpose's own defaults are 0.3)
    result = next(inferencer(bus, bbox_thr=0.25, nms_thr=0.7, vis_out_dir=str(tmp_path / 'vis'),
                             pred_out_dir=str(tmp_path / 'pred')))
    theirs = result['predictions'][0]
    assert len(theirs) >= 4
    # the inferencer uses the config's test pipeline (square 640 letterbox): ours with rect=False is the same
    for optimize, atol in ((False, 1e-4), (True, 0.02)):
        model = init_model(str(converted_yolo11n), optimize=optimize)
        ours = inference(model, bus, rect=False, input_size=640, score_thr=0.25, nms_thr=0.7).pred_instances
        assert len(ours.keypoints) == len(theirs)
        np.testing.assert_allclose(np.array([p['keypoints'] for p in theirs]), ours.keypoints, atol=atol)
        np.testing.assert_allclose(np.array([p['keypoint_scores'] for p in theirs]), ours.keypoint_scores,
                                   atol=1e-4)
        np.testing.assert_allclose(np.array([p['bbox'][0] for p in theirs]), ours.bboxes, atol=atol)
    # its visualisation and JSON output work with our model
    assert (tmp_path / 'vis' / 'bus.jpg').stat().st_size > 10_000
    saved = json.loads((tmp_path / 'pred' / 'bus.json').read_text())
    assert len(saved) == len(theirs) and len(saved[0]['keypoints']) == 17


@pytest.mark.slow
def test_inference_bottomup_uses_our_test_pipeline(config_path, converted_yolo11n, data_dir):
    from mmpose.apis import inference_bottomup
    from mmpose.apis import init_model as mmpose_init_model

    from yolopose_mm.apis import inference
    model = mmpose_init_model(config_path, str(converted_yolo11n), device='cpu')
    img = str(data_dir / 'coco8-pose' / 'images' / 'val' / '000000000110.jpg')
    theirs = inference_bottomup(model, img)[0].pred_instances
    # inference_bottomup keeps the config's evaluation test_cfg (score_thr 0.001): compare the confident people
    ours = inference(model, img, rect=False, input_size=640, score_thr=0.001).pred_instances
    assert len(theirs.keypoints) == len(ours.keypoints) > 1
    np.testing.assert_allclose(theirs.keypoints, ours.keypoints, atol=1e-4)
    assert theirs.keypoints.shape[1:] == (17, 2)
