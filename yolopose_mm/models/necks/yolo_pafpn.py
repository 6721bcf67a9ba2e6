# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLOv8 / YOLO11 path-aggregation neck (PAFPN), built from the tables in :mod:`..arch_tables`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import nn

from ..arch_tables import backbone_out_channels, get_family, normalize_version, scaled_channels
from ..layers import ConvBNAct
from ..utils.block_factory import make_csp_block


@MODELS.register_module()
class YOLOPAFPN(BaseModule):
    """Top-down (P5 -> P4 -> P3) then bottom-up (P3 -> P4 -> P5) feature fusion with CSP blocks.

    Args:
        version: 'v8' or '11'.
        scale: 'n', 's', 'm', 'l' or 'x'.
        in_channels: Widths of the three inputs (P3, P4, P5). Defaults to the matching YOLO backbone's; set it
            to use another backbone (e.g. mmpose's CSPNeXt).
        out_channels: One common output width for all three levels (a 1x1 conv-BN-SiLU per level), for heads
            that take a single width such as mmpose's ``YOLOXPoseHead``. ``None`` (default, Ultralytics'
            layout) keeps the per-level widths.
        init_cfg: mmengine init config.

    Shapes:
        inputs: (B, C3, H/8, W/8), (B, C4, H/16, W/16), (B, C5, H/32, W/32) -> the same strides with
        ``out_channels`` widths.
    """

    def __init__(self, version: str = '11', scale: str = 'n', in_channels: Optional[Sequence[int]] = None,
                 out_channels: Optional[int] = None, init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        family, s = get_family(version, scale)
        self.version, self.scale = normalize_version(version), scale
        in_channels = tuple(in_channels) if in_channels is not None else backbone_out_channels(version, scale)
        if len(in_channels) != 3 or any(int(c) < 1 for c in in_channels):
            raise ValueError(f'YOLOPAFPN: in_channels must be three positive widths (P3, P4, P5), '
                             f'got {in_channels}')
        self.in_channels = in_channels
        c3, c4, c5 = in_channels
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')

        td4, td3 = (scaled_channels(b.channels, s) for b in family.top_down)
        self.top_down_blocks = nn.ModuleList([
            make_csp_block(family.top_down[0], c5 + c4, family, s, scale),
            make_csp_block(family.top_down[1], td4 + c3, family, s, scale),
        ])
        out4, out5 = (scaled_channels(b.channels, s) for b in family.bottom_up)
        self.downsample_convs = nn.ModuleList([ConvBNAct(td3, td3, 3, 2), ConvBNAct(out4, out4, 3, 2)])
        self.bottom_up_blocks = nn.ModuleList([
            make_csp_block(family.bottom_up[0], td3 + td4, family, s, scale),
            make_csp_block(family.bottom_up[1], out4 + c5, family, s, scale),
        ])
        self.out_channels: Tuple[int, int, int] = (td3, out4, out5)
        self.out_convs: Optional[nn.ModuleList] = None
        if out_channels is not None:
            if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels < 1:
                raise ValueError(f'YOLOPAFPN: out_channels must be one positive int (a common width for all '
                                 f'levels) or None for the per-level widths {self.out_channels}, got {out_channels!r}')
            self.out_convs = nn.ModuleList(ConvBNAct(c, out_channels, 1) for c in self.out_channels)
            self.out_channels = (out_channels,) * 3

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if len(inputs) != 3:
            raise ValueError(f'YOLOPAFPN expects 3 feature maps (P3, P4, P5), got {len(inputs)}: set the '
                             "backbone's out_indices to three stages with strides 8, 16, 32")
        for level, (x, c) in enumerate(zip(inputs, self.in_channels), start=3):
            if x.shape[1] != c:
                raise ValueError(f'YOLOPAFPN: input P{level} has {x.shape[1]} channels but the neck was built for '
                                 f'{c}; set neck.in_channels to the backbone out_channels')
        p3, p4, p5 = inputs
        t4 = self.top_down_blocks[0](torch.cat((self.upsample(p5), p4), 1))
        out3 = self.top_down_blocks[1](torch.cat((self.upsample(t4), p3), 1))
        out4 = self.bottom_up_blocks[0](torch.cat((self.downsample_convs[0](out3), t4), 1))
        out5 = self.bottom_up_blocks[1](torch.cat((self.downsample_convs[1](out4), p5), 1))
        if self.out_convs is not None:
            return tuple(conv(x) for conv, x in zip(self.out_convs, (out3, out4, out5)))
        return out3, out4, out5
