# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pretrained weights where they fit (TransferWeightsHook's rule) and best.pth bookkeeping."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import BaseLoop
from mmpose.registry import MODELS

import yolopose_mm  # noqa: F401
from yolopose_mm.engine.hooks import BestCheckpointHook, TransferWeightsHook
from yolopose_mm.engine.weights_transfer import transferable_state

from conftest import REPO


def _model(num_classes: int, num_keypoints: int, keypoint_dim: int):
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco.py'))
    cfg.model.head.update(num_classes=num_classes, num_keypoints=num_keypoints, keypoint_dim=keypoint_dim)
    return MODELS.build(cfg.model)


def test_coco_weights_into_a_k5_two_class_model(converted_yolo11n):
    ckpt = torch.load(converted_yolo11n, map_location='cpu', weights_only=True)['state_dict']
    same = _model(1, 17, 3)
    keep, report = transferable_state(same.state_dict(), ckpt)
    assert len(keep) == report.total == len(same.state_dict()) and not report.mismatched
    assert report.describe('x.pth').endswith('(all of them)')

    model = _model(2, 5, 2)
    keep, report = transferable_state(model.state_dict(), {f'module.{k}': v for k, v in ckpt.items()})
    names = [n for n, _, _ in report.mismatched]
    # the class outputs (1 -> 2) and the whole keypoint branch (K x dim 51 -> 10 sets its width) differ
    assert all('.cls_branch.' in n or '.kpt_branch.' in n for n in names)
    assert sum('.cls_branch.' in n for n in names) == 6  # last conv weight + bias at 3 levels
    assert not any('backbone' in n or 'neck' in n for n in names)
    assert len(report.transferred) + len(report.mismatched) + len(report.missing) == report.total
    assert all(k.startswith('module.') for k in keep)  # the checkpoint's spelling is kept
    text = report.describe('yolo11n-pose.pth')
    assert text.startswith(f'Transferred {len(report.transferred)}/{report.total} tensors from yolo11n-pose.pth')
    assert '[1, 64, 1, 1] -> [2, 64, 1, 1]' in text
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict({k[len('module.'):]: v for k, v in keep.items()}, strict=False)
    after = model.state_dict()
    for name in report.transferred:
        assert torch.equal(after[name], ckpt[name])
    for name in names:  # left at the model's own initialisation
        assert torch.equal(after[name], before[name])


def test_transfer_hook_filters_the_checkpoint_before_it_loads(converted_yolo11n):
    model = _model(2, 5, 2)
    ckpt = torch.load(converted_yolo11n, map_location='cpu', weights_only=True)
    logger = MMLogger.get_instance('test_transfer_hook')
    lines = []
    logger.info = lines.append
    runner = SimpleNamespace(model=model, logger=logger, _resume=False, _load_from='yolo11n-pose.pth')
    hook = TransferWeightsHook(notes=['the checkpoint has 1 class'])
    hook.after_load_checkpoint(runner, ckpt)
    model.load_state_dict(ckpt['state_dict'], strict=False)  # what the Runner does next: no size mismatch now
    assert lines[0] == 'the checkpoint has 1 class' and lines[1].startswith('Transferred ')
    resumed = torch.load(converted_yolo11n, map_location='cpu', weights_only=True)
    runner._resume = True
    TransferWeightsHook().after_load_checkpoint(runner, resumed)
    assert len(resumed['state_dict']) == len(torch.load(converted_yolo11n, weights_only=True)['state_dict'])


class _Loop(BaseLoop):
    def run(self):  # pragma: no cover - never run
        pass


def test_best_checkpoint_hook_keeps_the_best_score(tmp_path):
    saved = []
    hub = MessageHub.get_instance('test_best_checkpoint_hook')
    runner = SimpleNamespace(message_hub=hub, work_dir=str(tmp_path), epoch=1, iter=10,
                             logger=MMLogger.get_instance('test_best_checkpoint_hook'),
                             save_checkpoint=lambda out_dir, filename, **kw: saved.append((runner.epoch, filename)))
    runner._train_loop = _Loop(runner, [])
    hook = BestCheckpointHook(metric='coco/AP')
    for epoch, ap in ((1, 0.30), (2, 0.25), (3, 0.31), (4, 0.31)):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'coco/AP': ap, 'coco/AR': 0.5})
    assert saved == [(1, 'best.pth'), (3, 'best.pth')]
    assert hub.get_info('best_checkpoint/coco/AP') == 0.31
    hook.after_val_epoch(runner, {'yolo/mAP50(P)': 0.9})  # no such key: warns once, saves nothing
    assert len(saved) == 2


def test_freeze_norm_stats_hook_keeps_running_statistics():
    from torch import nn

    from yolopose_mm.engine.hooks import FreezeNormStatsHook
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.SiLU())
    model.train()
    runner = SimpleNamespace(model=model, epoch=0)
    FreezeNormStatsHook().before_train_iter(runner, 0)
    before = model[1].running_mean.clone()
    model(torch.rand(2, 3, 8, 8) * 5).sum().backward()
    assert torch.equal(model[1].running_mean, before) and model[1].weight.grad is not None
    assert model.training and not model[1].training
    model.train()
    runner.epoch = 2
    FreezeNormStatsHook(epochs=1).before_train_iter(runner, 0)  # only the first epoch: statistics update again
    model(torch.rand(2, 3, 8, 8) * 5)
    assert not torch.equal(model[1].running_mean, before)
