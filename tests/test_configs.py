# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Every config builds, and its model runs one test step on a tiny image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

import yolopose_mm  # noqa: F401

CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[1] / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and 'deploy' not in p.parts  # deploy configs: tests/test_deploy*
                 and 'mixed' not in p.parts)  # mixed OpenMMLab models: tests/test_mixed_configs.py


def test_config_list_is_complete():
    names = {p.name for p in CONFIGS}
    for s in 'nsmlx':
        assert f'yolopose_{s}_coco.py' in names
        assert f'yolo11-pose-{s}_8xb16-600e_coco-640x640.py' in names
        assert f'yolov8-pose-{s}_8xb16-500e_coco-640x640.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'mmpose'
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model).eval()
    head = cfg.model.head
    assert head.scale == cfg.model.backbone.scale == cfg.model.neck.scale
    assert head.version == cfg.model.backbone.version == cfg.model.neck.version
    sample = PoseDataSample()
    sample.set_metainfo(dict(input_size=(64, 64), input_center=np.array([32.0, 32.0]),
                             input_scale=np.array([64.0, 64.0]), ori_shape=(64, 64), img_shape=(64, 64)))
    with torch.no_grad():
        out = model.test_step(dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)],
                                   data_samples=[sample]))
    pred = out[0].pred_instances
    assert pred.keypoints.shape[1:] == (head.num_keypoints, 2)
