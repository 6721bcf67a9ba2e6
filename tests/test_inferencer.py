# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmpose's own front ends (MMPoseInferencer, inference_bottomup) with our configs and converted checkpoint.

Our configs' test pipeline is Ultralytics' validation letterbox (``LetterBox(rect=True)``; one image = ``yolo val``
with batch 1); mmpose's front ends read it from ``test_dataloader`` and must give what the evaluation gives. With
the square test pipeline (``square_val_dataloader``) they give what our square ``inference(rect=False)`` gives.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from mmengine.config import Config

from yolopose_mm.utils import config_file


@pytest.fixture(scope='module')
def config_path() -> str:
    return str(config_file('configs/yolopose_n_coco.py'))


def _square(config_path: str) -> Config:
    """The config with the square protocol as its test dataloader (a static-shape model's input)."""
    cfg = Config.fromfile(config_path)
    cfg.test_dataloader = cfg.square_val_dataloader
    return cfg


def _as_arrays(people: list) -> tuple:
    return (np.array([p['keypoints'] for p in people]), np.array([p['keypoint_scores'] for p in people]),
            np.array([p['bbox'][0] for p in people]))


@pytest.mark.slow
def test_mmpose_inferencer_matches_our_api(config_path, converted_yolo11n, data_dir, tmp_path):
    from mmpose.apis import MMPoseInferencer, inference_bottomup

    from yolopose_mm.apis import inference, init_model
    bus = str(data_dir / 'images' / 'bus.jpg')
    # the inferencer's bbox_thr / nms_thr become the head's score_thr / nms_thr (mmpose's own defaults are 0.3)
    call = dict(bbox_thr=0.25, nms_thr=0.7)
    # our config as it is (the rectangular protocol): it builds, runs, and equals the model's test step on the
    # config's own test pipeline (mmpose's inference_bottomup at the same thresholds)
    inferencer = MMPoseInferencer(pose2d=config_path, pose2d_weights=str(converted_yolo11n), device='cpu')
    rect = next(inferencer(bus, **call, vis_out_dir=str(tmp_path / 'vis'), pred_out_dir=str(tmp_path / 'pred')))
    rect = rect['predictions'][0]
    assert len(rect) >= 4
    model = inferencer.inferencer.model
    assert model.test_cfg['score_thr'] == 0.25 and model.test_cfg['nms_thr'] == 0.7
    step = inference_bottomup(model, bus)[0].pred_instances
    assert len(step.keypoints) == len(rect)
    np.testing.assert_allclose(_as_arrays(rect)[0], step.keypoints, atol=1e-4)
    # its visualisation and JSON output work with our model
    assert (tmp_path / 'vis' / 'bus.jpg').stat().st_size > 10_000
    saved = json.loads((tmp_path / 'pred' / 'bus.json').read_text())
    assert len(saved) == len(rect) and len(saved[0]['keypoints']) == 17

    # the square protocol: the inferencer equals our API's square letterbox (eager and optimised model)
    square = MMPoseInferencer(pose2d=_square(config_path), pose2d_weights=str(converted_yolo11n), device='cpu')
    theirs = next(square(bus, **call))['predictions'][0]
    keypoints, keypoint_scores, bboxes = _as_arrays(theirs)
    for optimize, atol in ((False, 1e-4), (True, 0.02)):
        ours = inference(init_model(str(converted_yolo11n), optimize=optimize), bus, rect=False, input_size=640,
                         score_thr=0.25, nms_thr=0.7).pred_instances
        assert len(ours.keypoints) == len(theirs)
        np.testing.assert_allclose(keypoints, ours.keypoints, atol=atol)
        np.testing.assert_allclose(keypoint_scores, ours.keypoint_scores, atol=1e-4)
        np.testing.assert_allclose(bboxes, ours.bboxes, atol=atol)
    # and the two protocols are different inputs (512x672 vs 640x640 for this 810x1080 image)
    if len(theirs) == len(rect):
        assert np.abs(keypoints - _as_arrays(rect)[0]).max() > 0.05


@pytest.mark.slow
def test_inference_bottomup_equals_the_evaluation(converted_yolo11n, data_dir, tmp_path):
    """mmpose's inference_bottomup with the coco8 config gives, for each val image, what tools/test.py's test loop
    gives that image in a batch of one (yolo val's protocol, batch 1); with the square test pipeline it gives our
    square inference; the two protocols differ."""
    from mmengine.runner import Runner
    from mmpose.apis import inference_bottomup
    from mmpose.apis import init_model as mmpose_init_model

    from yolopose_mm.apis import inference
    cfg_path = str(config_file('configs/yolopose_n_coco8.py'))
    model = mmpose_init_model(cfg_path, str(converted_yolo11n), device='cpu')
    loader_cfg = dict(model.cfg.test_dataloader, batch_size=1, num_workers=0, persistent_workers=False)
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], cache_dir=str(tmp_path / 'cache'))
    loader = Runner.build_dataloader(loader_cfg)
    seen = 0
    model.test_cfg = dict(model.test_cfg, score_thr=0.25)  # both paths read it; fewer people to decode
    for batch in loader:
        (evaluated,) = model.test_step(batch)
        (theirs,) = inference_bottomup(model, evaluated.img_path)
        assert len(theirs.pred_instances) == len(evaluated.pred_instances) > 0
        np.testing.assert_array_equal(theirs.pred_instances.keypoints, evaluated.pred_instances.keypoints)
        np.testing.assert_array_equal(theirs.pred_instances.bbox_scores, evaluated.pred_instances.bbox_scores)
        seen += 1
    assert seen == 4
    model.test_cfg = dict(model.test_cfg, score_thr=0.001)

    img = str(data_dir / 'coco8-pose' / 'images' / 'val' / '000000000110.jpg')
    rect = inference_bottomup(model, img)[0].pred_instances
    square_model = mmpose_init_model(_square(cfg_path), str(converted_yolo11n), device='cpu')
    theirs = inference_bottomup(square_model, img)[0].pred_instances
    # inference_bottomup keeps the config's evaluation test_cfg (score_thr 0.001)
    ours = inference(model, img, rect=False, input_size=640, score_thr=0.001).pred_instances
    assert len(theirs.keypoints) == len(ours.keypoints) > 1
    np.testing.assert_allclose(theirs.keypoints, ours.keypoints, atol=1e-4)
    assert theirs.keypoints.shape[1:] == (17, 2)
    assert len(rect.keypoints) != len(theirs.keypoints)  # 109 vs 121 people at score 0.001 on this image
