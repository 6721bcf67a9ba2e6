# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Test helpers around the Ultralytics reference (AGPL, test-only; the package never imports it)."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import torch
from torch import nn


def build_ultralytics_pose(version: str, scale: str, nc: int = 1, kpt_shape: Tuple[int, int] = (17, 3)) -> nn.Module:
    """An Ultralytics PoseModel built from the yaml shipped in its wheel, in eval mode."""
    from ultralytics.nn.tasks import PoseModel
    stem = 'yolov8' if version == 'v8' else 'yolo11'
    model = PoseModel(f'{stem}{scale}-pose.yaml', nc=nc, data_kpt_shape=tuple(kpt_shape), verbose=False)
    return model.eval()


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters so parity tests exercise them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def save_ultralytics_checkpoint(model: nn.Module, path: Path, half: bool = False) -> Path:
    """Save like Ultralytics does: the pickled model object under ``model``."""
    import copy
    m = copy.deepcopy(model)
    if half:
        m = m.half()
    torch.save({'model': m, 'ema': None, 'epoch': -1, 'version': 'test'}, path)
    return path


def ultralytics_raw(model: nn.Module, x: torch.Tensor):
    """(decoded (B, 4 + nc + K*dim, N), raw dict with boxes / scores / kpts) from an eval forward."""
    with torch.no_grad():
        y, preds = model(x)
    return y, preds
