# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The residual two-convolution bottleneck used inside the CSP blocks."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from .conv import ConvBNAct


class Bottleneck(nn.Module):
    """Two ConvBNAct layers with an optional identity shortcut.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        shortcut: Add the input to the output (only applied when C_in == C_out).
        kernel_sizes: Kernel sizes of the first and second convolution.
        expansion: Hidden channels = int(C_out * expansion).
        groups: Groups of the second convolution.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, shortcut: bool = True,
                 kernel_sizes: Tuple[int, int] = (3, 3), expansion: float = 0.5, groups: int = 1) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        self.conv1 = ConvBNAct(in_channels, hidden, kernel_sizes[0])
        self.conv2 = ConvBNAct(hidden, out_channels, kernel_sizes[1], groups=groups)
        self.add_identity = bool(shortcut) and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return x + out if self.add_identity else out
