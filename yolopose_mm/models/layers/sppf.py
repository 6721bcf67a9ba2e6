# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Spatial pyramid pooling, fast variant: three chained max-pools instead of three parallel ones."""
from __future__ import annotations

import torch
from torch import nn

from .conv import ConvBNAct


class SPPF(nn.Module):
    """Reduce channels by half, max-pool k x k three times in a chain (receptive fields 5, 9, 13 for k=5),
    concatenate the four maps and project to ``out_channels``.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Max-pool kernel (odd).
        num_pools: Chained poolings.
        shortcut: Add the input to the output (only applied when C_in == C_out; YOLO26).
        reduce_act: SiLU after the first 1x1 conv (True up to YOLO12; YOLO26 leaves it linear).

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, num_pools: int = 3,
                 shortcut: bool = False, reduce_act: bool = True) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'SPPF: kernel_size must be odd to keep the map size, got {kernel_size}')
        if num_pools < 1:
            raise ValueError(f'SPPF: num_pools must be >= 1, got {num_pools}')
        hidden = in_channels // 2
        self.num_pools = num_pools
        self.add_identity = bool(shortcut) and in_channels == out_channels
        self.reduce_conv = ConvBNAct(in_channels, hidden, 1, act=reduce_act)
        self.fuse_conv = ConvBNAct(hidden * (num_pools + 1), out_channels, 1)
        self.pool = nn.MaxPool2d(kernel_size, stride=1, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [self.reduce_conv(x)]
        for _ in range(self.num_pools):
            outs.append(self.pool(outs[-1]))
        out = self.fuse_conv(torch.cat(outs, 1))
        return x + out if self.add_identity else out
