# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The layers of the YOLO pose head: box, class and keypoint branches per feature level (no loss, no decoding)."""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from ..layers import ConvBNAct, DWConv


class RawHeadOutputs(NamedTuple):
    """Raw head outputs, flattened over levels (N = sum of H_i * W_i priors, level-major, row-major).

    Attributes:
        box_logits: (B, 4 * reg_max, N) distribution logits, side-major (left, top, right, bottom).
        cls_logits: (B, num_classes, N) class logits.
        kpt_raw: (B, K * dim, N) keypoint offsets (and visibility logits when dim == 3), keypoint-major.
        featmap_sizes: per level (H_i, W_i).
        kpt_sigma: (B, K * 2, N) keypoint-error scale logits (sigma x, sigma y per keypoint; YOLO26's
            training-only RLE branch), or None.
    """

    box_logits: torch.Tensor
    cls_logits: torch.Tensor
    kpt_raw: torch.Tensor
    featmap_sizes: Tuple[Tuple[int, int], ...]
    kpt_sigma: Optional[torch.Tensor] = None


def _conv_stack(in_channels: int, channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(in_channels, channels, 3), ConvBNAct(channels, channels, 3),
                         nn.Conv2d(channels, out_channels, 1))


def _depthwise_stack(in_channels: int, channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Sequential(DWConv(in_channels, in_channels, 3), ConvBNAct(in_channels, channels, 1)),
        nn.Sequential(DWConv(channels, channels, 3), ConvBNAct(channels, channels, 1)),
        nn.Conv2d(channels, out_channels, 1))


class YOLOPoseHeadModule(nn.Module):
    """Per-level branches of the YOLOv8 / YOLO11 pose head.

    Branch widths follow the YOLO rules from the first level's width C0: box max(16, C0 // 4, 4 * reg_max),
    class max(C0, min(num_classes, 100)), keypoints max(C0 // 4, K * dim).

    Args:
        in_channels: Widths of the input levels.
        num_classes: Number of object classes.
        num_keypoints: K.
        keypoint_dim: 2 (x, y) or 3 (x, y, visibility).
        reg_max: Bins of the box side distributions.
        cls_branch: 'plain' (two 3x3 ConvBNAct, YOLOv8) or 'depthwise' (depthwise + pointwise pairs, YOLO11).

    Shapes:
        feats: (B, C_i, H_i, W_i) per level -> :class:`RawHeadOutputs`.
    """

    def __init__(self, in_channels: Sequence[int], num_classes: int = 1, num_keypoints: int = 17,
                 keypoint_dim: int = 3, reg_max: int = 16, cls_branch: str = 'depthwise') -> None:
        super().__init__()
        in_channels = tuple(int(c) for c in in_channels)
        if not in_channels:
            raise ValueError('YOLOPoseHeadModule: in_channels must list at least one level width')
        if num_classes < 1:
            raise ValueError(f'YOLOPoseHeadModule: num_classes must be >= 1, got {num_classes}')
        if num_keypoints < 1:
            raise ValueError(f'YOLOPoseHeadModule: num_keypoints must be >= 1, got {num_keypoints}')
        if keypoint_dim not in (2, 3):
            raise ValueError(f'YOLOPoseHeadModule: keypoint_dim must be 2 (x, y) or 3 (x, y, visibility), '
                             f'got {keypoint_dim}')
        if reg_max < 1:
            raise ValueError(f'YOLOPoseHeadModule: reg_max must be >= 1, got {reg_max}')
        if cls_branch not in ('plain', 'depthwise'):
            raise ValueError(f"YOLOPoseHeadModule: cls_branch must be 'plain' (YOLOv8) or 'depthwise' (YOLO11), "
                             f'got {cls_branch!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_keypoints = num_keypoints
        self.keypoint_dim = keypoint_dim
        self.reg_max = reg_max
        c0 = in_channels[0]
        box_ch = max(16, c0 // 4, 4 * reg_max)
        cls_ch = max(c0, min(num_classes, 100))
        kpt_ch = max(c0 // 4, num_keypoints * keypoint_dim)
        cls_stack = _conv_stack if cls_branch == 'plain' else _depthwise_stack
        self.box_branch = nn.ModuleList(_conv_stack(c, box_ch, 4 * reg_max) for c in in_channels)
        self.cls_branch = nn.ModuleList(cls_stack(c, cls_ch, num_classes) for c in in_channels)
        self.kpt_branch = nn.ModuleList(_conv_stack(c, kpt_ch, num_keypoints * keypoint_dim) for c in in_channels)
        # The fixed values 0..reg_max-1 that turn a box-side distribution into a distance. Frozen (never trained),
        # kept as a parameter like Ultralytics' DFL layer so parameter counts and checkpoints line up.
        self.dfl_bins = nn.Parameter(torch.arange(reg_max, dtype=torch.float32), requires_grad=False)

    def init_biases(self, strides: Sequence[int], image_size: int = 640) -> None:
        """YOLO prior biases: box logits 2.0, class logits for ~5 objects per 640 image per level."""
        for box, cls, stride in zip(self.box_branch, self.cls_branch, strides):
            nn.init.constant_(box[-1].bias, 2.0)
            nn.init.constant_(cls[-1].bias, math.log(5 / self.num_classes / (image_size / stride) ** 2))

    def forward(self, feats: Sequence[torch.Tensor]) -> RawHeadOutputs:
        if len(feats) != len(self.in_channels):
            raise ValueError(f'YOLOPoseHeadModule expects {len(self.in_channels)} feature levels, got {len(feats)}')
        boxes: List[torch.Tensor] = []
        scores: List[torch.Tensor] = []
        kpts: List[torch.Tensor] = []
        sizes = []
        for x, box, cls, kpt, c in zip(feats, self.box_branch, self.cls_branch, self.kpt_branch, self.in_channels):
            if x.shape[1] != c:
                raise ValueError(f'YOLOPoseHeadModule: a level has {x.shape[1]} channels, expected {c}; set the '
                                 "head's in_channels to the neck's out_channels")
            sizes.append((x.shape[2], x.shape[3]))
            boxes.append(box(x).flatten(2))
            scores.append(cls(x).flatten(2))
            kpts.append(kpt(x).flatten(2))
        return RawHeadOutputs(torch.cat(boxes, 2), torch.cat(scores, 2), torch.cat(kpts, 2), tuple(sizes))
