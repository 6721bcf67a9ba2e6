# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Cross-stage-partial blocks: C2 (YOLOv8-P6 neck), C2f (YOLOv8), C3 / C3k and C3k2 (YOLO11)."""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from .bottleneck import Bottleneck
from .conv import ConvBNAct
from .psa import PSABlock


class C2(nn.Module):
    """Two-branch CSP block: a 1x1 conv splits into two halves, ``num_blocks`` chained 3x3 bottlenecks transform
    the first half, and a 1x1 conv fuses it with the untouched second half.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        num_blocks: Number of chained bottlenecks n.
        shortcut: Residual shortcut inside the bottlenecks.
        expansion: Hidden channels c = int(C_out * expansion).
        groups: Groups of the bottlenecks' second convolution.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, shortcut: bool = True,
                 expansion: float = 0.5, groups: int = 1) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f'C2: num_blocks must be >= 1, got {num_blocks}')
        self.hidden = int(out_channels * expansion)
        self.pre_conv = ConvBNAct(in_channels, 2 * self.hidden, 1)
        self.post_conv = ConvBNAct(2 * self.hidden, out_channels, 1)
        self.blocks = nn.Sequential(*(Bottleneck(self.hidden, self.hidden, shortcut, (3, 3), 1.0, groups)
                                      for _ in range(num_blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        transformed, bypass = self.pre_conv(x).split((self.hidden, self.hidden), 1)
        return self.post_conv(torch.cat((self.blocks(transformed), bypass), 1))


class C2f(nn.Module):
    """Split-and-grow CSP block: one 1x1 conv splits into two halves, ``num_blocks`` blocks grow the second
    half one output at a time, and a 1x1 conv fuses every intermediate output.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        num_blocks: Number of inner blocks n.
        shortcut: Residual shortcut inside the bottlenecks.
        expansion: Hidden channels c = int(C_out * expansion).
        groups: Groups of the bottlenecks' second convolution.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, shortcut: bool = False,
                 expansion: float = 0.5, groups: int = 1) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f'{type(self).__name__}: num_blocks must be >= 1, got {num_blocks}')
        self.hidden = int(out_channels * expansion)
        self.pre_conv = ConvBNAct(in_channels, 2 * self.hidden, 1)
        self.post_conv = ConvBNAct((2 + num_blocks) * self.hidden, out_channels, 1)
        self.blocks = nn.ModuleList(self._make_block(shortcut, groups) for _ in range(num_blocks))

    def _make_block(self, shortcut: bool, groups: int) -> nn.Module:
        return Bottleneck(self.hidden, self.hidden, shortcut, (3, 3), 1.0, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # split, not chunk: same views in eager, but the TorchScript ONNX exporter turns chunk into two Slice
        # copies (opset >= 13) and split into one Split, which OpenVINO / ONNX Runtime run in place
        outs: List[torch.Tensor] = list(self.pre_conv(x).split((self.hidden, self.hidden), 1))
        for block in self.blocks:
            outs.append(block(outs[-1]))
        return self.post_conv(torch.cat(outs, 1))


class C3k(nn.Module):
    """Classic three-convolution CSP block (C3) with ``num_blocks`` k x k bottlenecks.

    With ``kernel_size=None`` the bottlenecks are (1x1, 3x3), the YOLOv5 C3 block; with an int k they are
    (k x k, k x k), YOLO11's C3k.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, shortcut: bool = True,
                 expansion: float = 0.5, groups: int = 1, kernel_size: int | None = 3) -> None:
        super().__init__()
        hidden = int(out_channels * expansion)
        kernels = (1, 3) if kernel_size is None else (kernel_size, kernel_size)
        self.main_conv = ConvBNAct(in_channels, hidden, 1)
        self.short_conv = ConvBNAct(in_channels, hidden, 1)
        self.final_conv = ConvBNAct(2 * hidden, out_channels, 1)
        self.blocks = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, kernels, 1.0, groups)
                                      for _ in range(num_blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_conv(torch.cat((self.blocks(self.main_conv(x)), self.short_conv(x)), 1))


class C3k2(C2f):
    """YOLO11's C2f variant. Its inner blocks are two-bottleneck C3k blocks (``use_c3k``), a bottleneck followed
    by a PSA attention block (``attention``, YOLO26's last neck block; heads = max(c // 64, 1)), or plain
    bottlenecks with expansion 0.5.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, use_c3k: bool = False,
                 expansion: float = 0.5, groups: int = 1, shortcut: bool = True, attention: bool = False) -> None:
        self.use_c3k = bool(use_c3k)
        self.attention = bool(attention)
        super().__init__(in_channels, out_channels, num_blocks, shortcut, expansion, groups)

    def _make_block(self, shortcut: bool, groups: int) -> nn.Module:
        if self.attention:
            return nn.Sequential(Bottleneck(self.hidden, self.hidden, shortcut, (3, 3), 0.5, groups),
                                 PSABlock(self.hidden, 0.5, max(self.hidden // 64, 1)))
        if self.use_c3k:
            return C3k(self.hidden, self.hidden, 2, shortcut, 0.5, groups, 3)
        return Bottleneck(self.hidden, self.hidden, shortcut, (3, 3), 0.5, groups)
