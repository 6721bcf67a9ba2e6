# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLOv8 / YOLO11 backbone, built from the immutable tables in :mod:`..arch_tables`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import nn

from ..arch_tables import get_family, normalize_version, scaled_channels, scaled_repeats
from ..layers import C2PSA, SPPF, ConvBNAct
from ..utils.block_factory import make_csp_block


@MODELS.register_module()
class YOLOBackbone(BaseModule):
    """CSP-Darknet backbone of YOLOv8 (C2f) and YOLO11 (C3k2 + C2PSA).

    Layout: ``stem`` (stride 2), ``stage1`` .. ``stage4`` (each a stride-2 ConvBNAct and a CSP block; stage4
    also holds SPPF and, for YOLO11, C2PSA).

    Args:
        version: 'v8' or '11'.
        scale: 'n', 's', 'm', 'l' or 'x'.
        in_channels: Input image channels.
        out_indices: Which stages to return (1..4 have strides 4, 8, 16, 32). Default P3, P4, P5.
        frozen_stages: Freeze the stem and stages 1..frozen_stages (-1: none, 0: stem only).
        norm_eval: Keep BatchNorm layers in eval mode during training.
        init_cfg: mmengine init config.

    Shapes:
        x: (B, in_channels, H, W) -> tuple of (B, C_i, H / s_i, W / s_i) for the selected stages.
    """

    def __init__(self, version: str = '11', scale: str = 'n', in_channels: int = 3,
                 out_indices: Sequence[int] = (2, 3, 4), frozen_stages: int = -1, norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        family, s = get_family(version, scale)
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (1, 2, 3, 4) for i in out_indices):
            raise ValueError(f'YOLOBackbone: out_indices must be a non-empty subset of (1, 2, 3, 4) '
                             f'(stage strides 4, 8, 16, 32), got {out_indices}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'YOLOBackbone: frozen_stages must be in [-1, 4], got {frozen_stages}')
        self.version, self.scale = normalize_version(version), scale
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        channels = scaled_channels(family.stem_channels, s)
        self.stem = ConvBNAct(in_channels, channels, 3, 2)
        widths = []
        for i, (down_channels, block) in enumerate(family.stages, start=1):
            down = scaled_channels(down_channels, s)
            layers = [ConvBNAct(channels, down, 3, 2), make_csp_block(block, down, family, s, scale)]
            channels = scaled_channels(block.channels, s)
            if i == len(family.stages):
                sppf_out = scaled_channels(family.sppf_channels, s)
                layers.append(SPPF(channels, sppf_out, 5))
                channels = sppf_out
                if family.psa_repeats:
                    layers.append(C2PSA(channels, channels, scaled_repeats(family.psa_repeats, s)))
            self.add_module(f'stage{i}', nn.Sequential(*layers))
            widths.append(channels)
        self.out_channels: Tuple[int, ...] = tuple(widths[i - 1] for i in out_indices)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        modules = [self.stem] + [getattr(self, f'stage{i}') for i in range(1, self.frozen_stages + 1)]
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = []
        for i in range(1, 5):
            x = getattr(self, f'stage{i}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'YOLOBackbone':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
