# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Task-aligned assignment on keypoint similarity (OKS), with a pyramid-level gate (YOLO26-pose)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from mmpose.registry import TASK_UTILS

from .batch_task_aligned_assigner import BatchTaskAlignedAssigner


@TASK_UTILS.register_module()
class PoseTaskAlignedAssigner(BatchTaskAlignedAssigner):
    """:class:`BatchTaskAlignedAssigner` whose overlap is the keypoint OKS and whose candidates are restricted to
    the pyramid levels that suit each person's size.

    * Overlap of a (person, prior) pair: the OKS of the prior's predicted keypoints against the person's labelled
      keypoints (area = box area x ``area_factor``, as COCO's person area), or the box CIoU when the person has no
      labelled keypoint. Alignment, conflict resolution and the soft class targets then all follow pose quality.
    * Level gate: a person of box side ``sqrt(w * h)`` is a candidate only for priors of stride ``s`` with
      ``lo * s <= side <= hi * s`` (the finest level stays open below, the coarsest above); a person that the gate
      would leave without any candidate keeps its ungated candidates.

    Args:
        level_range: (lo, hi) person size per stride, in strides (2, 12).
        area_factor: person area as a fraction of the box area (0.53).
        Others: see :class:`BatchTaskAlignedAssigner` (``topk2`` for the one-to-one branch).

    :meth:`assign` takes, besides the base arguments, ``pred_kpts`` (B, N, K, 2) predicted keypoints in pixels,
    ``gt_kpts`` (B, M, K, 2) and ``gt_kpt_labelled`` (B, M, K) bool, ``prior_strides`` (N,) and ``sigmas`` (K,).
    """

    def __init__(self, num_classes: int = 1, topk: int = 10, alpha: float = 0.5, beta: float = 6.0,
                 min_side: float = 16.0, eps: float = 1e-9, topk2: Optional[int] = None,
                 level_range: Tuple[float, float] = (2.0, 12.0), area_factor: float = 0.53) -> None:
        super().__init__(num_classes, topk, alpha, beta, min_side, eps, topk2)
        lo, hi = (float(v) for v in level_range)
        if not 0 <= lo < hi:
            raise ValueError(f'PoseTaskAlignedAssigner: level_range must be (lo, hi) with 0 <= lo < hi, got '
                             f'{level_range}')
        self.level_range = (lo, hi)
        self.area_factor = float(area_factor)

    def _candidates(self, points: torch.Tensor, gt_bboxes: torch.Tensor, valid: torch.Tensor,
                    prior_strides: torch.Tensor, **extra) -> torch.Tensor:
        inside = self._inside(points, gt_bboxes, valid)  # (B, M, N)
        side = (gt_bboxes[..., 2:] - gt_bboxes[..., :2]).prod(-1, keepdim=True).clamp(min=0).sqrt()  # (B, M, 1)
        s = prior_strides.view(-1)
        lo, hi = self.level_range
        fits = ((side >= lo * s) | (s == s.min())) & ((side <= hi * s) | (s == s.max()))
        gated = inside & fits
        return torch.where(gated.any(-1, keepdim=True), gated, inside)

    def _pair_overlaps(self, bi: torch.Tensor, gi: torch.Tensor, ni: torch.Tensor, gt_bboxes: torch.Tensor,
                       pred_bboxes: torch.Tensor, pred_kpts: torch.Tensor, gt_kpts: torch.Tensor,
                       gt_kpt_labelled: torch.Tensor, sigmas: torch.Tensor, **extra) -> torch.Tensor:
        iou = super()._pair_overlaps(bi, gi, ni, gt_bboxes, pred_bboxes)
        labelled = gt_kpt_labelled[bi, gi]  # (P, K)
        boxes = gt_bboxes[bi, gi]
        area = (boxes[:, 2:] - boxes[:, :2]).prod(-1, keepdim=True) * self.area_factor  # (P, 1)
        d2 = (pred_kpts[bi, ni].float() - gt_kpts[bi, gi].float()).pow(2).sum(-1)  # (P, K)
        similarity = (-d2 / ((2 * sigmas).pow(2) * (area + self.eps) * 2)).exp() * labelled
        oks = similarity.sum(-1) / labelled.sum(-1).clamp(min=1)
        return torch.where(labelled.any(-1), oks.to(iou.dtype), iou)


__all__ = ['PoseTaskAlignedAssigner']
