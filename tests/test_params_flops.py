# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Parameter counts and FLOPs against Ultralytics models built from their yaml (nc=1, kpt_shape [17, 3])."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ultralytics_reference import build_ultralytics_pose
from yolopose_mm.analysis import PoseNetworkForFlops, count_flops, count_parameters
from yolopose_mm.converters import DetectedArch, build_pose_network

CASES = [(v, s) for v in ('v8', '11') for s in ('n', 's', 'm', 'l', 'x')]


class _UltralyticsDecoded(nn.Module):
    """Ultralytics eval forward without the raw dict (the FLOP counter traces tensors only)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[0]


@pytest.mark.parametrize('version,scale', CASES)
def test_parameter_count_matches(version, scale, ultralytics):
    ref = build_ultralytics_pose(version, scale)
    ours = build_pose_network(DetectedArch(version, scale, 1, 17, 3))
    ref_total = sum(p.numel() for p in ref.parameters())
    ref_trainable = sum(p.numel() for p in ref.parameters() if p.requires_grad)
    assert count_parameters(ours) == ref_total
    # both keep the fixed DFL projection 0..15 as a frozen parameter; every trainable parameter matches too
    assert count_parameters(ours, trainable_only=True) == ref_trainable == ref_total - 16


@pytest.mark.parametrize('version,scale', CASES)
def test_flops_match_within_1_percent(version, scale, ultralytics):
    size = 640 if scale in ('n', 's') else 320  # the ratio does not depend on the size; keep the suite fast
    ref = _UltralyticsDecoded(build_ultralytics_pose(version, scale))
    ours = PoseNetworkForFlops(build_pose_network(DetectedArch(version, scale, 1, 17, 3)))
    ref_flops = count_flops(ref, (size, size))
    our_flops = count_flops(ours, (size, size))
    assert abs(our_flops - ref_flops) / ref_flops < 0.01, (our_flops, ref_flops)
