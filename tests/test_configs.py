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
                 and 'mixed' not in p.parts  # mixed OpenMMLab models: tests/test_mixed_configs.py
                 and 'trackers' not in p.parts)  # tracker settings, not models: tests/test_tracking.py


def test_config_list_is_complete():
    names = {p.name for p in CONFIGS}
    for s in 'nsmlx':
        assert f'yolopose_{s}_coco.py' in names
        assert f'yolo11-pose-{s}_8xb16-600e_coco-640x640.py' in names
        assert f'yolov8-pose-{s}_8xb16-500e_coco-640x640.py' in names
        assert f'yolov8-pose-p6-{s}_8xb16-500e_coco-1280x1280.py' in names
        assert f'yolo12-pose-{s}_8xb16-600e_coco-640x640.py' in names


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


def _resized(obj, old, new):
    if isinstance(obj, dict):
        return {k: _resized(v, old, new) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return new if tuple(obj) == old else [_resized(v, old, new) for v in obj]
    return obj


def _without_stride_64(obj):
    """A config value with ``stride=64`` dropped from its components (the P6 evaluation pads to stride 64)."""
    if isinstance(obj, dict):
        return {k: _without_stride_64(v) for k, v in obj.items() if not (k == 'stride' and v == 64)}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_without_stride_64(v) for v in obj)
    return obj


def test_p6_config_is_the_640_recipe_at_1280():
    """The P6 config restates the 640 config's pipelines and hooks at 1280; nothing else may drift apart."""
    root = Path(__file__).resolve().parents[1] / 'configs' / 'yolov8_pose'
    base = Config.fromfile(str(root / 'yolov8-pose-n_8xb16-500e_coco-640x640.py'))
    p6 = Config.fromfile(str(root / 'yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'custom_hooks', 'train_pipeline_no_mosaic',
                'square_val_dataloader'):
        expected = _resized(base.to_dict()[key], (640, 640), (1280, 1280))
        assert _without_stride_64(_resized(p6.to_dict()[key], (1280, 1280), (1280, 1280))) == expected, (
            f'{key} of the P6 config differs from the 640 config beyond the input size: restate the 640 config\'s '
            f'{key} at 1280 in configs/yolov8_pose/yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py')
    assert p6.model.data_preprocessor.pad_size_divisor == 64 and p6.model.head.featmap_strides == (8, 16, 32, 64)
    other = set(base.to_dict()) - {'input_size', 'train_pipeline', 'train_pipeline_no_mosaic', 'val_pipeline',
                                   'random_affine', 'augment_and_pack', 'model', 'train_dataloader', 'val_dataloader',
                                   'test_dataloader', 'custom_hooks'}
    other -= {'square_val_pipeline', 'square_val_dataloader'}
    assert {k: p6[k] for k in other} == {k: base[k] for k in other}
    # yolo val pads a P6 model's batches to multiples of its largest stride, 64
    for loader in (p6.val_dataloader, p6.test_dataloader):
        letterbox = loader.dataset.pipeline[1]
        assert letterbox.type == 'LetterBox' and letterbox.rect and letterbox.stride == 64
        assert loader.batch_sampler.type == 'YOLORectBatchSampler'
