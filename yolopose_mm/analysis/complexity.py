# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Parameter and FLOP counting (mmengine's FLOP analyser: one multiply-add counts as one FLOP)."""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
from torch import nn


class PoseNetworkForFlops(nn.Module):
    """Backbone -> neck -> head -> decode, returning plain tensors so the FLOP tracer can follow it.

    Works with a ``BottomupPoseEstimator`` or any module with ``backbone``, ``neck`` and a YOLO ``head``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        m = self.model
        feats = m.backbone(x)
        if getattr(m, 'neck', None) is not None:
            feats = m.neck(feats)
        out = m.head(feats)
        if hasattr(m.head, 'inference_branch'):  # both branch sets ran (YOLO26): decode the one predict uses
            test_cfg = getattr(m, 'test_cfg', None) or {}
            out = getattr(out, m.head.inference_branch(bool(test_cfg.get('end2end', False))))
        if hasattr(m.head, 'decode'):
            return tuple(m.head.decode(out))
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, hw: Sequence[int] = (640, 640), batch: int = 1) -> int:
    """Multiply-adds of one forward pass on a (batch, 3, H, W) input, counted by mmengine's FlopAnalyzer."""
    from mmengine.analysis import FlopAnalyzer
    was_training = model.training
    model.eval()
    x = torch.zeros(batch, 3, int(hw[0]), int(hw[1]))
    analyzer = FlopAnalyzer(model, (x,))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        total = int(analyzer.total())
    model.train(was_training)
    return total


def model_summary(model: nn.Module, hw: Sequence[int] = (640, 640)) -> Dict[str, float]:
    """Parameters and FLOPs of a pose estimator: ``params``, ``gmacs`` and ``gflops`` (= 2 x MACs, the
    convention of the Ultralytics tables)."""
    net = PoseNetworkForFlops(model)
    macs = count_flops(net, hw)
    return {'params': count_parameters(model), 'gmacs': macs / 1e9, 'gflops': 2 * macs / 1e9,
            'input_hw': tuple(int(v) for v in hw)}
