# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO path-aggregation neck (PAFPN) over 3 or 4 levels, built from the tables in :mod:`..arch_tables`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import nn

from ..arch_tables import backbone_out_channels, get_family, normalize_version, scaled_channels
from ..layers import ConvBNAct
from ..utils.block_factory import make_block


@MODELS.register_module()
class YOLOPAFPN(BaseModule):
    """Top-down (top level -> P3) then bottom-up (P3 -> top level) feature fusion over L = 3 (P3-P5) or 4 (P3-P6)
    levels, with the family's blocks.

    Top-down block j fuses the 2x upsampled previous map with backbone level L - 2 - j; bottom-up block j fuses a
    stride-2 conv of the previous output with the top-down map of level j + 1 (the backbone's top level for the
    last block).

    Args:
        version: 'v8', '11', 'v8-p6' or '12'.
        scale: 'n', 's', 'm', 'l' or 'x'.
        in_channels: Widths of the L inputs (P3 first). Defaults to the matching YOLO backbone's; set it to use
            another backbone (e.g. mmpose's CSPNeXt).
        out_channels: One common output width for all levels (a 1x1 conv-BN-SiLU per level), for heads that take
            a single width such as mmpose's ``YOLOXPoseHead``. ``None`` (default, Ultralytics' layout) keeps the
            per-level widths.
        init_cfg: mmengine init config.

    Shapes:
        inputs: (B, C_i, H / s_i, W / s_i) for s_i = 8, 16, 32 (, 64) -> the same strides with ``out_channels``
        widths.
    """

    def __init__(self, version: str = '11', scale: str = 'n', in_channels: Optional[Sequence[int]] = None,
                 out_channels: Optional[int] = None, init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        family, s = get_family(version, scale)
        self.version, self.scale = normalize_version(version), scale
        self.num_levels = levels = family.num_levels
        names = ', '.join(f'P{i + 3}' for i in range(levels))
        in_channels = tuple(in_channels) if in_channels is not None else backbone_out_channels(version, scale)
        if len(in_channels) != levels or any(int(c) < 1 for c in in_channels):
            raise ValueError(f'YOLOPAFPN: in_channels must be {levels} positive widths ({names}), '
                             f'got {in_channels}')
        self.in_channels = in_channels
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')

        top_down, prev = [], in_channels[-1]
        td_widths = [0] * levels  # top-down output width per level (the top level keeps the backbone's)
        td_widths[-1] = in_channels[-1]
        for j, blk in enumerate(family.top_down):
            level = levels - 2 - j
            top_down.append(make_block(blk, prev + in_channels[level], family, s, scale))
            prev = td_widths[level] = scaled_channels(blk.channels, s)
        self.top_down_blocks = nn.ModuleList(top_down)
        downs, bottom_up, outs = [], [], [prev]
        for j, blk in enumerate(family.bottom_up):
            downs.append(ConvBNAct(prev, prev, 3, 2))
            bottom_up.append(make_block(blk, prev + td_widths[j + 1], family, s, scale))
            prev = scaled_channels(blk.channels, s)
            outs.append(prev)
        self.downsample_convs = nn.ModuleList(downs)
        self.bottom_up_blocks = nn.ModuleList(bottom_up)
        self.out_channels: Tuple[int, ...] = tuple(outs)
        self.out_convs: Optional[nn.ModuleList] = None
        if out_channels is not None:
            if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels < 1:
                raise ValueError(f'YOLOPAFPN: out_channels must be one positive int (a common width for all '
                                 f'levels) or None for the per-level widths {self.out_channels}, got {out_channels!r}')
            self.out_convs = nn.ModuleList(ConvBNAct(c, out_channels, 1) for c in self.out_channels)
            self.out_channels = (out_channels,) * levels

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        levels = self.num_levels
        if len(inputs) != levels:
            strides = ', '.join(str(8 * 2 ** i) for i in range(levels))
            raise ValueError(f'YOLOPAFPN expects {levels} feature maps (P3 .. P{levels + 2}), got {len(inputs)}: '
                             f"set the backbone's out_indices to {levels} stages with strides {strides}")
        for level, (x, c) in enumerate(zip(inputs, self.in_channels), start=3):
            if x.shape[1] != c:
                raise ValueError(f'YOLOPAFPN: input P{level} has {x.shape[1]} channels but the neck was built for '
                                 f'{c}; set neck.in_channels to the backbone out_channels')
        fused = list(inputs)  # top-down maps; the top level stays the backbone's
        x = inputs[-1]
        for j, blk in enumerate(self.top_down_blocks):
            level = levels - 2 - j
            x = fused[level] = blk(torch.cat((self.upsample(x), inputs[level]), 1))
        outs = [x]
        for j, (down, blk) in enumerate(zip(self.downsample_convs, self.bottom_up_blocks)):
            x = blk(torch.cat((down(x), fused[j + 1]), 1))
            outs.append(x)
        if self.out_convs is not None:
            return tuple(conv(o) for conv, o in zip(self.out_convs, outs))
        return tuple(outs)
