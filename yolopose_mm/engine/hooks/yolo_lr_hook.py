# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO learning-rate and momentum schedule: warmup with a high bias lr, then linear decay to lr x lrf."""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS

DATA_BATCH = Optional[dict]


@HOOKS.register_module()
class YOLOLrMomentumHook(Hook):
    """Per-iteration lr / momentum of the Ultralytics recipe.

    * Warmup over ``max(round(warmup_epochs x iters_per_epoch), warmup_min_iters)`` iterations: the bias group's
      lr falls linearly from ``warmup_bias_lr`` and the other groups' lr rises from 0, all to ``lr x f(epoch)``;
      SGD momentum rises from ``warmup_momentum`` to its configured value.
    * Then ``lr x f(epoch)`` with f(e) = (1 - e / max_epochs) x (1 - lrf) + lrf, stepped per epoch.

    The values are a pure function of (iteration, epoch), so resuming continues exactly. Param groups come from
    ``YOLOOptimWrapperConstructor`` (the bias group is marked ``is_bias``); base lr / momentum are read from the
    ``initial_lr`` / ``initial_momentum`` the constructor stores.
    """

    priority = 'HIGHEST'  # before RuntimeInfoHook records the lr of this iteration

    def __init__(self, warmup_epochs: float = 3.0, warmup_min_iters: int = 100, warmup_bias_lr: float = 0.1,
                 warmup_momentum: float = 0.8, lrf: float = 0.01) -> None:
        if warmup_epochs < 0 or not 0 < lrf <= 1:
            raise ValueError(f'YOLOLrMomentumHook: need warmup_epochs >= 0 and 0 < lrf <= 1, got {warmup_epochs}, '
                             f'{lrf}')
        self.warmup_epochs = warmup_epochs
        self.warmup_min_iters = warmup_min_iters
        self.warmup_bias_lr = warmup_bias_lr
        self.warmup_momentum = warmup_momentum
        self.lrf = lrf

    def lr_factor(self, epoch: int, max_epochs: int) -> float:
        """f(epoch) of the linear schedule."""
        return max(1 - epoch / max_epochs, 0) * (1.0 - self.lrf) + self.lrf

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        iters_per_epoch = len(runner.train_dataloader)
        warmup_iters = max(round(self.warmup_epochs * iters_per_epoch), self.warmup_min_iters) \
            if self.warmup_epochs > 0 else 0
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
