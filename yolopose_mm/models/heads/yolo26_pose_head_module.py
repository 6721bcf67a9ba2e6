# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The layers of the YOLO26 pose head: a one-to-many and a one-to-one set of branches (no loss, no decoding)."""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional, Sequence

import torch
from torch import nn

from ..layers import ConvBNAct
from .yolo_pose_head_module import RawHeadOutputs, _conv_stack, _depthwise_stack

BRANCHES = ('one2many', 'one2one')


class DualRawOutputs(NamedTuple):
    """Raw outputs of both branch sets (None for a set that was not run or is not built).

    Attributes:
        one2many: :class:`RawHeadOutputs` of the one-to-many branches (trained with top-k 10 assignment; predicts
            with NMS).
        one2one: :class:`RawHeadOutputs` of the one-to-one branches (one positive per person; predicts without NMS).
    """

    one2many: Optional[RawHeadOutputs]
    one2one: Optional[RawHeadOutputs]


class PoseBranchSet(nn.Module):
    """One set of per-level branches: boxes (4 * reg_max), classes, and a keypoint trunk feeding a keypoint
    output (K * dim) and, optionally, a keypoint-error scale output (K * 2, sigma x / y for the RLE loss).

    Widths from the first level's width C0: box max(16, C0 // 4, 4 * reg_max), class max(C0, min(C, 100)),
    keypoint trunk max(C0 // 4, K * (dim + 2)).

    Shapes:
        feats: (B, C_i, H_i, W_i) per level -> :class:`RawHeadOutputs` (``kpt_sigma`` only with ``with_sigma``).
    """

    def __init__(self, in_channels: Sequence[int], num_classes: int, num_keypoints: int, keypoint_dim: int,
                 reg_max: int, cls_branch: str, with_sigma: bool) -> None:
        super().__init__()
        c0 = in_channels[0]
        box_ch = max(16, c0 // 4, 4 * reg_max)
        cls_ch = max(c0, min(num_classes, 100))
        kpt_ch = max(c0 // 4, num_keypoints * (keypoint_dim + 2))
        cls_stack = _conv_stack if cls_branch == 'plain' else _depthwise_stack
        self.in_channels = tuple(in_channels)
        self.box_branch = nn.ModuleList(_conv_stack(c, box_ch, 4 * reg_max) for c in in_channels)
        self.cls_branch = nn.ModuleList(cls_stack(c, cls_ch, num_classes) for c in in_channels)
        self.kpt_trunk = nn.ModuleList(nn.Sequential(ConvBNAct(c, kpt_ch, 3), ConvBNAct(kpt_ch, kpt_ch, 3))
                                       for c in in_channels)
        self.kpt_pred = nn.ModuleList(nn.Conv2d(kpt_ch, num_keypoints * keypoint_dim, 1) for _ in in_channels)
        self.kpt_sigma: Optional[nn.ModuleList] = (
            nn.ModuleList(nn.Conv2d(kpt_ch, num_keypoints * 2, 1) for _ in in_channels) if with_sigma else None)

    def init_biases(self, num_classes: int, strides: Sequence[int], image_size: int = 640) -> None:
        """YOLO prior biases: box outputs 2.0, class logits for ~5 objects per 640 image per level."""
        for box, cls, stride in zip(self.box_branch, self.cls_branch, strides):
            nn.init.constant_(box[-1].bias, 2.0)
            nn.init.constant_(cls[-1].bias, math.log(5 / num_classes / (image_size / stride) ** 2))

    def forward(self, feats: Sequence[torch.Tensor], with_sigma: bool = False) -> RawHeadOutputs:
        boxes: List[torch.Tensor] = []
        scores: List[torch.Tensor] = []
        kpts: List[torch.Tensor] = []
        sigmas: List[torch.Tensor] = []
        with_sigma = with_sigma and self.kpt_sigma is not None
        for level, x in enumerate(feats):
            if x.shape[1] != self.in_channels[level]:
                raise ValueError(f'YOLO26PoseHeadModule: a level has {x.shape[1]} channels, expected '
                                 f"{self.in_channels[level]}; set the head's in_channels to the neck's out_channels")
            boxes.append(self.box_branch[level](x).flatten(2))
            scores.append(self.cls_branch[level](x).flatten(2))
            trunk = self.kpt_trunk[level](x)
            kpts.append(self.kpt_pred[level](trunk).flatten(2))
            if with_sigma:
                sigmas.append(self.kpt_sigma[level](trunk).flatten(2))
        sizes = tuple((x.shape[2], x.shape[3]) for x in feats)
        return RawHeadOutputs(torch.cat(boxes, 2), torch.cat(scores, 2), torch.cat(kpts, 2), sizes,
                              torch.cat(sigmas, 2) if with_sigma else None)


class YOLO26PoseHeadModule(nn.Module):
    """Per-level branches of the YOLO26 pose head: a one-to-many and a one-to-one :class:`PoseBranchSet` of the
    same shape (the one-to-one set sees detached features in training, so it does not train the backbone).

    A converted inference checkpoint may hold only one of the two sets, and no sigma outputs.

    Args:
        in_channels: Widths of the input levels.
        num_classes: Number of object classes.
        num_keypoints: K.
        keypoint_dim: 2 (x, y) or 3 (x, y, visibility).
        reg_max: Outputs per box side (1: direct distances, YOLO26's default).
        cls_branch: 'depthwise' (YOLO11 / YOLO26) or 'plain'.
        branches: Which branch sets to build, a non-empty subset of ('one2many', 'one2one').
        with_sigma: Build the keypoint-error scale outputs (needed for the RLE loss; training only).

    Shapes:
        feats: (B, C_i, H_i, W_i) per level -> :class:`DualRawOutputs`.
    """

    def __init__(self, in_channels: Sequence[int], num_classes: int = 1, num_keypoints: int = 17,
                 keypoint_dim: int = 3, reg_max: int = 1, cls_branch: str = 'depthwise',
                 branches: Sequence[str] = BRANCHES, with_sigma: bool = True) -> None:
        super().__init__()
        in_channels = tuple(int(c) for c in in_channels)
        branches = tuple(branches)
        if not in_channels:
            raise ValueError('YOLO26PoseHeadModule: in_channels must list at least one level width')
        for name, value in (('num_classes', num_classes), ('num_keypoints', num_keypoints), ('reg_max', reg_max)):
            if int(value) < 1:
                raise ValueError(f'YOLO26PoseHeadModule: {name} must be >= 1, got {value}')
        if keypoint_dim not in (2, 3):
            raise ValueError(f'YOLO26PoseHeadModule: keypoint_dim must be 2 (x, y) or 3 (x, y, visibility), '
                             f'got {keypoint_dim}')
        if cls_branch not in ('plain', 'depthwise'):
            raise ValueError(f"YOLO26PoseHeadModule: cls_branch must be 'plain' or 'depthwise', got {cls_branch!r}")
        if not branches or any(b not in BRANCHES for b in branches) or len(set(branches)) != len(branches):
            raise ValueError(f"YOLO26PoseHeadModule: branches must be a non-empty subset of {BRANCHES}, got "
                             f'{branches}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_keypoints = num_keypoints
        self.keypoint_dim = keypoint_dim
        self.reg_max = reg_max
        self.branches = tuple(b for b in BRANCHES if b in branches)
        self.with_sigma = bool(with_sigma)
        args = (in_channels, num_classes, num_keypoints, keypoint_dim, reg_max, cls_branch, self.with_sigma)
        self.one2many: Optional[PoseBranchSet] = PoseBranchSet(*args) if 'one2many' in branches else None
        self.one2one: Optional[PoseBranchSet] = PoseBranchSet(*args) if 'one2one' in branches else None

    def init_biases(self, strides: Sequence[int], image_size: int = 640) -> None:
        """YOLO prior biases of every built branch set."""
        for branch in (self.one2many, self.one2one):
            if branch is not None:
                branch.init_biases(self.num_classes, strides, image_size)

    def forward(self, feats: Sequence[torch.Tensor], branches: Optional[Sequence[str]] = None,
                with_sigma: bool = False, detach_one2one: bool = False) -> DualRawOutputs:
        """Run the requested branch sets.

        Args:
            feats: (B, C_i, H_i, W_i) per level.
            branches: sets to run (default: every built set); a requested set that is not built gives None.
            with_sigma: also compute the sigma outputs (when built).
            detach_one2one: feed the one-to-one set detached features (training).
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'YOLO26PoseHeadModule expects {len(self.in_channels)} feature levels, got {len(feats)}')
        branches = self.branches if branches is None else tuple(branches)
        one2many = one2one = None
        if 'one2many' in branches and self.one2many is not None:
            one2many = self.one2many(feats, with_sigma)
        if 'one2one' in branches and self.one2one is not None:
            one2one = self.one2one([x.detach() for x in feats] if detach_one2one else feats, with_sigma)
        return DualRawOutputs(one2many, one2one)
