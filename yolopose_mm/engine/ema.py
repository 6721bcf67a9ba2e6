# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO exponential moving average with its ramp: decay d(t) = decay x (1 - exp(-t / tau))."""
from __future__ import annotations

import math
from typing import Optional

import torch
from mmengine.model import ExponentialMovingAverage
from mmpose.registry import MODELS
from torch import nn


@MODELS.register_module()
class YOLORampEMA(ExponentialMovingAverage):
    """EMA whose decay ramps up: at update t (1-based) the average keeps d(t) = decay x (1 - exp(-t / tau)) of its
    value, so early weights are forgotten quickly. Use with ``EMAHook(ema_type='YOLORampEMA', update_buffers=True)``.

    Args:
        model: the model to average.
        decay: final decay (0.9999).
        tau: ramp length in updates (2000).
        interval, device, update_buffers: as in mmengine's ExponentialMovingAverage.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0, interval: int = 1,
                 device: Optional[torch.device] = None, update_buffers: bool = True) -> None:
        if not 0 < decay < 1 or tau <= 0:
            raise ValueError(f'YOLORampEMA: need 0 < decay < 1 and tau > 0, got decay={decay}, tau={tau}')
        super().__init__(model, momentum=1 - decay, interval=interval, device=device, update_buffers=update_buffers)
        self.decay = decay
        self.tau = tau

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor, steps: int) -> None:
        d = self.decay * (1 - math.exp(-(int(steps) + 1) / self.tau))
        averaged_param.lerp_(source_param, 1 - d)
