# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO schedule: warmup (lr, momentum, accumulation), linear lr decay, nominal-batch weight decay."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS

from ..nominal_batch import NominalBatchPlan, plan_nominal_batch, warmup_iterations

DATA_BATCH = Optional[dict]


def _per_gpu_batch(loader) -> int:
    size = getattr(loader, 'batch_size', None)
    if size is None:
        size = getattr(getattr(loader, 'batch_sampler', None), 'batch_size', None)
    if not size:
        raise ValueError('YOLOLrMomentumHook: cannot read the training batch size from the dataloader '
                         '(train_dataloader.batch_size)')
    return int(size)


@HOOKS.register_module()
class YOLOLrMomentumHook(Hook):
    """Per-iteration lr / momentum / accumulation of the Ultralytics recipe (8.4.190).

    * Warmup over :func:`~yolopose_mm.engine.nominal_batch.warmup_iterations` iterations,
      ``round(min(warmup_epochs, max_epochs - 1) x iters_per_epoch)`` (at least ``warmup_min_iters``; 100 gives
      Ultralytics 8.0 - 8.3): the bias group's lr falls linearly from ``warmup_bias_lr`` and the other groups' lr
      rises from 0, all to ``lr x f(epoch)``; SGD momentum rises from ``warmup_momentum`` to its configured value;
      gradient accumulation rises from 1 to its nominal value.
    * Then ``lr x f(epoch)`` with f(e) = (1 - e / max_epochs) x (1 - lrf) + lrf, stepped per epoch; with
      ``cos_lr``, f(e) = (1 - cos(pi e / max_epochs)) / 2 x (lrf - 1) + 1 (Ultralytics' ``cos_lr=True``).
    * Before training it works out the run's :class:`~yolopose_mm.engine.nominal_batch.NominalBatchPlan` (world
      size, per-GPU and total batch, accumulation for the optimizer wrapper's ``nominal_batch``, weight-decay
      scale, warmup), multiplies every group's weight decay by the scale, hands the plan to a
      :class:`~yolopose_mm.engine.YOLOOptimWrapper` and logs it in one line.

    The values are a pure function of (iteration, epoch), so resuming continues exactly. Param groups come from
    ``YOLOOptimWrapperConstructor`` (the bias group is marked ``is_bias``); base lr / momentum / weight decay are
    read from the ``initial_lr`` / ``initial_momentum`` / ``initial_weight_decay`` the constructor stores.
    """

    priority = 'HIGHEST'  # before RuntimeInfoHook records the lr of this iteration

    def __init__(self, warmup_epochs: float = 3.0, warmup_min_iters: int = 0, warmup_bias_lr: float = 0.1,
                 warmup_momentum: float = 0.8, lrf: float = 0.01, cos_lr: bool = False) -> None:
        if warmup_epochs < 0 or not 0 < lrf <= 1 or warmup_min_iters < 0:
            raise ValueError(f'YOLOLrMomentumHook: need warmup_epochs >= 0, warmup_min_iters >= 0 and 0 < lrf <= 1, '
                             f'got {warmup_epochs}, {warmup_min_iters}, {lrf}')
        self.warmup_epochs = warmup_epochs
        self.warmup_min_iters = warmup_min_iters
        self.warmup_bias_lr = warmup_bias_lr
        self.warmup_momentum = warmup_momentum
        self.lrf = lrf
        self.cos_lr = bool(cos_lr)
        self.plan: Optional[NominalBatchPlan] = None

    def lr_factor(self, epoch: int, max_epochs: int) -> float:
        """f(epoch): linear from 1 to lrf, or with ``cos_lr`` half a cosine from 1 to lrf (Ultralytics' cos_lr)."""
        if self.cos_lr:
            return max((1 - math.cos(epoch * math.pi / max_epochs)) / 2, 0) * (self.lrf - 1.0) + 1.0
        return max(1 - epoch / max_epochs, 0) * (1.0 - self.lrf) + self.lrf

    def make_plan(self, runner: Runner) -> NominalBatchPlan:
        """The run's plan from the runner's dataloader, epochs, world size and optimizer wrapper."""
        iters = len(runner.train_dataloader)
        warmup = warmup_iterations(self.warmup_epochs, runner.max_epochs, iters, self.warmup_min_iters)
        return plan_nominal_batch(get_world_size(), _per_gpu_batch(runner.train_dataloader), iters,
                                  runner.max_epochs, warmup, getattr(runner.optim_wrapper, 'nominal_batch', None))

    def before_train(self, runner: Runner) -> None:
        self.plan = self.make_plan(runner)
        wrapper = runner.optim_wrapper
        if hasattr(wrapper, 'nominal_batch'):
            wrapper.plan = self.plan
        decays = []
        for group in wrapper.optimizer.param_groups:
            base = group.setdefault('initial_weight_decay', group.get('weight_decay', 0.0))
            if 'weight_decay' in group:
                group['weight_decay'] = base * self.plan.weight_decay_scale
            decays.append(base)
        runner.logger.info('YOLO schedule: ' + self.plan.describe(max(decays) if decays else None))

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        if self.plan is None:
            self.plan = self.make_plan(runner)
        warmup_iters = self.plan.warmup_iters
        factor = self.lr_factor(runner.epoch, runner.max_epochs)
        it = runner.iter
        for group in runner.optim_wrapper.optimizer.param_groups:
            base_lr = group.setdefault('initial_lr', group['lr'])
            target = base_lr * factor
            if it < warmup_iters:
                start = self.warmup_bias_lr if group.get('is_bias') else 0.0
                group['lr'] = float(np.interp(it, [0, warmup_iters], [start, target]))
                if 'momentum' in group:
                    base_m = group.setdefault('initial_momentum', group['momentum'])
                    group['momentum'] = float(np.interp(it, [0, warmup_iters], [self.warmup_momentum, base_m]))
            else:
                group['lr'] = target
                if 'momentum' in group and 'initial_momentum' in group:
                    group['momentum'] = group['initial_momentum']
