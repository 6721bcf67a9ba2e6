# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmengine's EMAHook, updated once per optimizer step (not per iteration) as in Ultralytics."""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import EMAHook
from mmpose.registry import HOOKS

DATA_BATCH = Optional[dict]


@HOOKS.register_module()
class YOLOEMAHook(EMAHook):
    """``EMAHook`` that skips iterations in which the optimizer did not step.

    With nominal-batch accumulation (:class:`~yolopose_mm.engine.YOLOOptimWrapper`) several iterations make one
    step; Ultralytics updates its EMA after each step, so the EMA ramp counts steps. With any other wrapper (no
    ``stepped`` attribute) every iteration updates, as with ``EMAHook``. Arguments as ``EMAHook``
    (``ema_type='YOLORampEMA'``).
    """

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if getattr(runner.optim_wrapper, 'stepped', True):
            super().after_train_iter(runner, batch_idx, data_batch, outputs)
