# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Keep BatchNorm statistics fixed while training (mmdet's ``norm_eval=True``, detectron2's frozen BN)."""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpose.registry import HOOKS
from torch import nn


@HOOKS.register_module()
class FreezeNormStatsHook(Hook):
    """Put every BatchNorm layer in eval mode for each training iteration: it normalises with the running statistics
    it came with and does not update them, while its weight and bias still train.

    Fine-tuning a pretrained model on a few images with small batches otherwise replaces statistics learnt on a
    large dataset by those of a handful of (mosaic) images (YOLO's BatchNorm momentum is 0.03: after 20 iterations
    the running means have moved ~45% of the way), which costs accuracy on the data the model already knew.

    Args:
        epochs: freeze only during the first ``epochs`` epochs (None: the whole run).
    """

    priority = 'LOW'  # after every hook that might call model.train()

    def __init__(self, epochs: Optional[int] = None) -> None:
        if epochs is not None and epochs < 0:
            raise ValueError(f'FreezeNormStatsHook: epochs must be >= 0 or None, got {epochs}')
        self.epochs = epochs

    def before_train_iter(self, runner: Runner, batch_idx: int, data_batch=None) -> None:
        if self.epochs is not None and runner.epoch >= self.epochs:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
                module.eval()
