# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""optimizer='auto': our rule against Ultralytics 8.4.190's own ``BaseTrainer.build_optimizer`` (test-only)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from mmengine.config import Config
from torch import nn

import yolopose_mm  # noqa: F401
from yolopose_mm.engine.auto_optimizer import (AUTO_MAX_ITERATIONS, choose_auto_optimizer, nominal_iterations,
                                               resolve_auto_optimizer)


class _TinyUltralyticsModel(nn.Module):
    """The attributes Ultralytics' build_optimizer reads: ``model`` (a layer list whose last entry is the head)."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.ModuleList([nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1)])


def _ultralytics_choice(num_classes: int, iterations: int):
    """(optimizer class, lr, momentum or beta1, warmup_bias_lr) that Ultralytics' trainer builds for 'auto'."""
    from ultralytics.engine.trainer import BaseTrainer
    trainer = SimpleNamespace(args=SimpleNamespace(lr0=0.01, optimizer='auto', warmup_bias_lr=0.1),
                              data={'nc': num_classes})
    opt = BaseTrainer.build_optimizer(trainer, _TinyUltralyticsModel(), name='auto', lr=0.01, momentum=0.937,
                                      decay=5e-4, iterations=iterations)
    group = next(g for g in opt.param_groups if len(g['params']) and g['lr'] <= 0.01 + 1e-12)  # not the x3 head
    momentum = group['betas'][0] if 'betas' in group else group['momentum']
    return type(opt).__name__, group['lr'], momentum, trainer.args.warmup_bias_lr


# Three run lengths (images, total batch, epochs, classes) and what Ultralytics 8.4.190 picks for them:
#  coco8-pose, 3 epochs: ceil(4 / 64) x 3 = 3 steps        -> AdamW lr round(0.002 x 5 / 5, 6) = 0.002
#  6,400 images, batch 16, 100 epochs: 100 x 100 = 10,000  -> AdamW lr 0.002 x 5 / 6 = 0.001667 (2 classes)
#  COCO train2017 pose (56,599 images), batch 128, 600 epochs: 443 x 600 = 265,800 -> MuSGD lr 0.01, momentum 0.9
RUNS = [(4, 16, 3, 1, 3, 'AdamW', 0.002), (6400, 16, 100, 2, 10000, 'AdamW', 0.001667),
        (56599, 128, 600, 1, 265800, 'MuSGD', 0.01)]


@pytest.mark.parametrize('images,batch,epochs,nc,steps,name,lr', RUNS)
def test_auto_choice_equals_ultralytics(ultralytics, images, batch, epochs, nc, steps, name, lr):
    assert nominal_iterations(images, batch, epochs) == steps
    ours = choose_auto_optimizer(images, batch, epochs, nc)
    theirs = _ultralytics_choice(nc, steps)
    assert (ours.name, ours.lr, ours.momentum) == (name, lr, 0.9)
    assert theirs[0] == name and theirs[1] == pytest.approx(lr, abs=1e-12) and theirs[2] == 0.9
    assert theirs[3] == 0.0  # Ultralytics starts the bias warmup at 0 with 'auto'; resolve_auto_optimizer does too


def test_auto_threshold_and_classes(ultralytics):
    for steps in (AUTO_MAX_ITERATIONS, AUTO_MAX_ITERATIONS + 1):
        for nc in (1, 2, 80):
            ours = choose_auto_optimizer(steps * 64, 64, 1, nc)
            theirs = _ultralytics_choice(nc, steps)
            assert (ours.name, ours.momentum) == theirs[:1] + (theirs[2],)
            assert ours.lr == pytest.approx(theirs[1], abs=1e-12)
    assert choose_auto_optimizer(8, 8, 3, None).lr == round(0.002 * 5 / 14, 6)  # nc unknown: 10, as Ultralytics
    fallback = choose_auto_optimizer(10 ** 6, 16, 100, 1, musgd_available=False)
    assert (fallback.name, fallback.lr, fallback.momentum) == ('SGD', 0.01, 0.9) and 'MuSGD' in fallback.note


def _cfg(wrapper: str = 'YOLOOptimWrapper', **opt) -> Config:
    return Config(dict(
        model=dict(head=dict(num_classes=2)), train_dataloader=dict(batch_size=8), train_cfg=dict(max_epochs=3),
        optim_wrapper=dict(type=wrapper, optimizer=dict(type='auto', **opt)),
        custom_hooks=[dict(type='YOLOLrMomentumHook', warmup_bias_lr=0.1), dict(type='EMAHook')]))


def test_resolve_auto_in_a_config():
    cfg = _cfg(weight_decay=1e-3)
    choice = resolve_auto_optimizer(cfg, num_images=100, world_size=2)
    assert choice.iterations == 2 * 3 and choice.name == 'AdamW' and choice.lr == round(0.01 / 6, 6)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=choice.lr, betas=(0.9, 0.999), weight_decay=1e-3)
    assert cfg.custom_hooks[0]['warmup_bias_lr'] == 0.0
    assert 'AdamW' in choice.describe() and '0.002 x 5 / (4 + 2 classes)' in choice.describe()
    explicit = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01))))
    assert resolve_auto_optimizer(explicit, num_images=10) is None
    assert explicit.optim_wrapper.optimizer == dict(type='SGD', lr=0.01)  # explicit optimizers stay as written
    with pytest.raises(ValueError, match='remove'):
        resolve_auto_optimizer(_cfg(lr=0.1), num_images=10)


def test_cosine_lr_factor_equals_ultralytics_one_cycle(ultralytics):
    from ultralytics.utils.torch_utils import one_cycle

    from yolopose_mm.engine import YOLOLrMomentumHook
    ours, linear = YOLOLrMomentumHook(lrf=0.01, cos_lr=True), YOLOLrMomentumHook(lrf=0.01)
    theirs = one_cycle(1, 0.01, 30)  # what Ultralytics' trainer uses with cos_lr=True, epochs=30
    for epoch in range(31):
        assert ours.lr_factor(epoch, 30) == pytest.approx(theirs(epoch), abs=1e-12)
    assert ours.lr_factor(15, 30) == pytest.approx(0.505) and linear.lr_factor(15, 30) == pytest.approx(0.505)
    assert ours.lr_factor(5, 30) > linear.lr_factor(5, 30)  # cosine stays higher early, lower late
    assert ours.lr_factor(25, 30) < linear.lr_factor(25, 30)


@pytest.mark.parametrize('wrapper,nominal', [('YOLOOptimWrapper', 64), ('YOLOOptimWrapper', None),
                                             ('OptimWrapper', None)])
def test_auto_counts_the_optimizer_steps_of_the_nominal_batch_plan(wrapper, nominal):
    """The rule counts the steps the run's wrapper takes: plan_nominal_batch (no warmup ramp) steps exactly
    ceil(images / max(batch, nbs)) x epochs times; with no nominal batch, once per iteration."""
    from yolopose_mm.engine import plan_nominal_batch
    images, per_gpu, world, epochs = 6400, 8, 2, 3
    cfg = _cfg(wrapper)
    cfg.optim_wrapper.nominal_batch = nominal
    choice = resolve_auto_optimizer(cfg, num_images=images, world_size=world)
    iters = images // (per_gpu * world)
    plan = plan_nominal_batch(world, per_gpu, iters, epochs, 0, nominal if wrapper == 'YOLOOptimWrapper' else None)
    assert choice.iterations == len(plan.step_iterations()) == (300 if nominal else 1200)
