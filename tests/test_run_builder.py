# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""What tools/train.py --data / --weights / ... decide before the Runner starts (no training here)."""
from __future__ import annotations

import argparse
import sys

import pytest

import yolopose_mm  # noqa: F401
from yolopose_mm.engine.run_builder import FINETUNE_LR, add_run_arguments, build_run_config

from conftest import REPO

sys.path.insert(0, str(REPO / 'projects' / 'custom_keypoints' / 'tools'))


def _args(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config', nargs='?')
    parser.add_argument('--work-dir')
    parser.add_argument('--load-from')
    add_run_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def _hooks(cfg):
    return {h['type']: h for h in cfg.custom_hooks}


def _notes(cfg):
    return '\n'.join(_hooks(cfg)['RunNotesHook']['notes'])


def test_finetune_defaults_when_the_head_fits(tmp_path, data_dir, converted_yolo11n):
    cfg = build_run_config(_args('--data', data_dir / 'coco8-pose' / 'coco8-pose.yaml', '--weights', converted_yolo11n,
                                 '--epochs', 5, '--batch', 4, '--work-dir', tmp_path))
    assert cfg.model.head.num_keypoints == 17 and cfg.model.head.num_classes == 1
    assert cfg.train_dataloader.dataset.metainfo == 'coco'  # 17 keypoints, no sigmas in the yaml: COCO's
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=FINETUNE_LR, momentum=0.937, nesterov=True,
                                               weight_decay=5e-4)
    hooks = _hooks(cfg)
    assert hooks['BestCheckpointHook']['validate_first'] and hooks['EarlyStoppingHook']['patience'] == 100
    assert hooks['YOLOLrMomentumHook']['warmup_bias_lr'] == 0.0
    assert {'TrainingCurvesHook', 'BatchPicturesHook', 'PRCurvesHook', 'TransferWeightsHook'} <= set(hooks)
    assert cfg.load_from == str(converted_yolo11n) and cfg.train_cfg.max_epochs == 5 and cfg.train_cfg.val_interval == 1
    assert 'fine-tune defaults' in _notes(cfg)
    # an explicit choice wins: Ultralytics' rule
    cfg = build_run_config(_args('--data', data_dir / 'coco8-pose' / 'coco8-pose.yaml', '--weights', converted_yolo11n,
                                 '--epochs', 5, '--optimizer', 'auto', '--work-dir', tmp_path))
    assert cfg.optim_wrapper.optimizer['type'] == 'AdamW' and cfg.optim_wrapper.optimizer['lr'] == 0.002
    assert not _hooks(cfg)['BestCheckpointHook']['validate_first']


def test_new_task_gets_the_auto_rule_and_the_yaml_head(tmp_path, converted_yolo11n):
    from make_shapes import write_dataset
    yaml_path = write_dataset(str(tmp_path / 'shapes'), num_train=3, num_val=1, size=64, dim=2, seed=1)
    cfg = build_run_config(_args('--data', yaml_path, '--weights', converted_yolo11n, '--epochs', 3, '--imgsz', 320,
                                 '--work-dir', tmp_path / 'run'))
    head = cfg.model.head
    assert (head.num_classes, head.num_keypoints, head.keypoint_dim) == (2, 5, 2)
    assert cfg.optim_wrapper.optimizer['type'] == 'AdamW'
    assert cfg.optim_wrapper.optimizer['lr'] == round(0.002 * 5 / (4 + 2), 6)  # 3 images x 3 epochs: short run
    notes = _notes(cfg)
    assert "optimizer='auto' -> AdamW" in notes
    assert 'was trained for 1 class(es) and 17x3 keypoints' in _hooks(cfg)['TransferWeightsHook']['notes'][0]
    assert cfg.input_size == (320, 320) and 'input size 640x640 -> 320x320' in notes
    assert cfg.test_dataloader.dataset.split == 'val'  # no test split in the yaml


def test_errors_name_the_fix(tmp_path, data_dir):
    with pytest.raises(ValueError, match='give a config'):
        build_run_config(_args())
    with pytest.raises(FileNotFoundError, match='--weights'):
        build_run_config(_args('--data', data_dir / 'coco8-pose' / 'coco8-pose.yaml', '--weights', tmp_path / 'x.pt'))
    with pytest.raises(FileNotFoundError, match='dataset yaml not found'):
        build_run_config(_args('--data', tmp_path / 'none.yaml', '--weights', REPO / 'configs' / 'yolopose_n_coco.py'))
    with pytest.raises(ValueError, match='not divisible'):
        import os
        os.environ['WORLD_SIZE'] = '3'
        try:
            build_run_config(_args('--data', data_dir / 'coco8-pose' / 'coco8-pose.yaml', '--weights',
                                   REPO / 'configs' / 'yolopose_n_coco.py', '--batch', 16, '--work-dir', tmp_path))
        finally:
            del os.environ['WORLD_SIZE']
