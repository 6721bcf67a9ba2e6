# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO backbone (YOLOv8, YOLOv8-P6, YOLO11, YOLO12), built from the immutable tables in :mod:`..arch_tables`."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import nn

from ..arch_tables import get_family, normalize_version, scaled_channels
from ..layers import ConvBNAct
from ..utils.block_factory import make_block


@MODELS.register_module()
class YOLOBackbone(BaseModule):
    """CSP-Darknet backbone of the YOLO pose families, driven by the family's table.

    Layout: ``stem`` (stride 2), then ``stage1`` .. ``stageS`` (S = 4, or 5 for P6 families), each a stride-2
    ConvBNAct followed by the stage's blocks (C2f / C3k2 / A2C2f, and on the last stage SPPF and C2PSA where the
    family has them). Stage i has stride 2 ** (i + 1).

    Args:
        version: 'v8', '11', 'v8-p6' or '12'.
        scale: 'n', 's', 'm', 'l' or 'x'.
        in_channels: Input image channels.
        out_indices: Which stages to return (1-based). Default: the stages the family's neck reads
            (P3, P4, P5, plus P6 for P6 families).
        frozen_stages: Freeze the stem and stages 1..frozen_stages (-1: none, 0: stem only).
        norm_eval: Keep BatchNorm layers in eval mode during training.
        init_cfg: mmengine init config.

    Shapes:
        x: (B, in_channels, H, W) -> tuple of (B, C_i, H / s_i, W / s_i) for the selected stages.
    """

    def __init__(self, version: str = '11', scale: str = 'n', in_channels: int = 3,
                 out_indices: Optional[Sequence[int]] = None, frozen_stages: int = -1, norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        family, s = get_family(version, scale)
        self.num_stages = len(family.stages)
        stage_ids = tuple(range(1, self.num_stages + 1))
        out_indices = family.out_stages if out_indices is None else tuple(out_indices)
        if not out_indices or any(i not in stage_ids for i in out_indices):
            strides = ', '.join(str(2 ** (i + 1)) for i in stage_ids)
            raise ValueError(f'YOLOBackbone: out_indices must be a non-empty subset of {stage_ids} '
                             f'(stage strides {strides}), got {out_indices}')
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'YOLOBackbone: frozen_stages must be in [-1, {self.num_stages}], got {frozen_stages}')
        self.version, self.scale = normalize_version(version), scale
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        channels = scaled_channels(family.stem_channels, s)
        self.stem = ConvBNAct(in_channels, channels, 3, 2)
        widths = []
        for i, stage in enumerate(family.stages, start=1):
            layers = [ConvBNAct(channels, scaled_channels(stage.down_channels, s), 3, 2)]
            channels = scaled_channels(stage.down_channels, s)
            for blk in stage.blocks:
                layers.append(make_block(blk, channels, family, s, scale))
                channels = scaled_channels(blk.channels, s)
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
        for i in range(1, self.num_stages + 1):
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
