# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Conv + BatchNorm + SiLU, the basic unit of every YOLO layer."""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .onednn_conv import OneDNNConv

# BatchNorm settings used by the Ultralytics YOLO family (PyTorch defaults are eps 1e-5, momentum 0.1).
BN_EPS = 1e-3
BN_MOMENTUM = 0.03


class ConvBNAct(nn.Module):
    """A bias-free convolution, BatchNorm (eps 1e-3, momentum 0.03) and SiLU (or no activation).

    Padding keeps the spatial size for stride 1 ("same" padding, ``kernel_size // 2`` times dilation).
    After :func:`~yolopose_mm.apis.optimize.fold_batchnorm` (``bn_folded``) the forward calls the functional
    convolution and SiLU directly: the same two ops without three submodule calls per layer, a fixed Python
    cost of 1-3% of a nano model's CPU forward. After :func:`~yolopose_mm.apis.optimize.prepack_convolutions`
    (``onednn``) a float32 CPU inference call runs convolution and SiLU as one oneDNN call with a prepacked
    weight (:class:`~.onednn_conv.OneDNNConv`); anything else (gradients, autocast, tracing, another device)
    takes the functional path.

    Args:
        in_channels: Input channels C_in.
        out_channels: Output channels C_out.
        kernel_size: Square kernel size.
        stride: Convolution stride.
        groups: Convolution groups (``in_channels`` for a depthwise convolution).
        dilation: Convolution dilation.
        act: Apply SiLU when True, identity when False.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 groups: int = 1, dilation: int = 1, act: bool = True) -> None:
        super().__init__()
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels),
                            ('kernel_size', kernel_size), ('stride', stride), ('groups', groups)):
            if int(value) < 1:
                raise ValueError(f'ConvBNAct: {name} must be a positive integer, got {value!r}')
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'ConvBNAct: groups={groups} must divide in_channels={in_channels} and '
                             f'out_channels={out_channels}')
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                              dilation=dilation, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.SiLU(inplace=True) if act else nn.Identity()
        self.use_act = bool(act)
        self.bn_folded = False  # set by fold_batchnorm once ``bn`` is folded into ``conv``
        self.onednn: Optional[OneDNNConv] = None  # set by prepack_convolutions (needs bn_folded)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault('use_act', not isinstance(self.act, nn.Identity))  # pickled before these existed
        self.__dict__.setdefault('bn_folded', False)
        self.__dict__.setdefault('onednn', None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bn_folded:
            fast = self.onednn
            if fast is not None and fast.applies(x) and fast.conv is self.conv:
                return fast(x)
            c = self.conv
            x = F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups)
            return F.silu(x, inplace=True) if self.use_act else x
        if isinstance(self.bn, nn.Identity):  # folded by hand, without fold_batchnorm's flag: one call less
            return self.act(self.conv(x))
        return self.act(self.bn(self.conv(x)))


class DWConv(ConvBNAct):
    """Depthwise ConvBNAct: groups = gcd(in_channels, out_channels) (equals C_in when C_in == C_out)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 act: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride,
                         groups=math.gcd(in_channels, out_channels), act=act)
