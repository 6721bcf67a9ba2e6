# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Task-aligned assignment (TOOD / YOLOv8 style), batched over images with padded ground truth, pure tensors."""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from mmpose.registry import TASK_UTILS

from ..losses.box_losses import complete_iou
from ..utils.precision import autocast_off


class AssignResult(NamedTuple):
    """Per-prior targets (B images, N priors, C classes).

    Attributes:
        labels: (B, N) class of the assigned ground truth (0 where unassigned).
        bboxes: (B, N, 4) box of the assigned ground truth.
        scores: (B, N, C) soft class targets: one-hot class x normalised alignment (0 where unassigned).
        fg_mask: (B, N) bool, assigned priors.
        gt_index: (B, N) index of the assigned ground truth within its image.
    """

    labels: torch.Tensor
    bboxes: torch.Tensor
    scores: torch.Tensor
    fg_mask: torch.Tensor
    gt_index: torch.Tensor


@TASK_UTILS.register_module()
class BatchTaskAlignedAssigner:
    """Assign priors to ground truths by the alignment metric score^alpha x CIoU^beta.

    For each ground truth, candidates are the priors whose centre lies inside its box (boxes with a side shorter
    than ``min_side`` are widened to it about their centre, so tiny people still get candidates); the ``topk``
    candidates with the highest alignment become positives; a prior claimed by several ground truths goes to the
    one it overlaps most. Class targets are the alignment normalised per ground truth to its best IoU.

    Args:
        num_classes: C.
        topk: positives per ground truth (YOLO: 10).
        alpha: score exponent (0.5).
        beta: IoU exponent (6.0).
        min_side: smallest box side used for candidate selection, in pixels (the middle stride, 16).
        eps: numerical guard.
        topk2: after conflicts are resolved, keep only the ``topk2`` best-aligned positives per ground truth
            (YOLO26's one-to-one branch: topk 7, topk2 1); default ``topk`` (no second selection).
    """

    def __init__(self, num_classes: int = 1, topk: int = 10, alpha: float = 0.5, beta: float = 6.0,
                 min_side: float = 16.0, eps: float = 1e-9, topk2: Optional[int] = None) -> None:
        if num_classes < 1 or topk < 1:
            raise ValueError(f'BatchTaskAlignedAssigner: num_classes and topk must be >= 1, got {num_classes}, {topk}')
        topk2 = topk if topk2 is None else int(topk2)
        if not 1 <= topk2 <= topk:
            raise ValueError(f'BatchTaskAlignedAssigner: topk2 must be in [1, topk={topk}], got {topk2}')
        self.num_classes = num_classes
        self.topk = topk
        self.topk2 = topk2
        self.alpha = alpha
        self.beta = beta
        self.min_side = float(min_side)
        self.eps = eps

    @torch.no_grad()
    def assign(self, pred_scores: torch.Tensor, pred_bboxes: torch.Tensor, points: torch.Tensor,
               gt_labels: torch.Tensor, gt_bboxes: torch.Tensor, gt_valid: torch.Tensor, **extra) -> AssignResult:
        """Assign.

        Args:
            pred_scores: (B, N, C) predicted class probabilities.
            pred_bboxes: (B, N, 4) predicted boxes, pixels.
            points: (N, 2) prior centres, pixels.
            gt_labels: (B, M) long class ids (padding: any value).
            gt_bboxes: (B, M, 4) ground-truth boxes, pixels (padding: zeros).
            gt_valid: (B, M) bool, real ground truths.
            **extra: passed to :meth:`_candidates` and :meth:`_pair_overlaps` (subclasses' extra inputs).

        Returns:
            :class:`AssignResult` (float32 boxes and scores).

        The assignment always runs in float32 (with autocast off): under mixed precision ``pred_scores`` and
        ``pred_bboxes`` may be fp16 / bf16, where ``eps`` would round to 0 and padded rows would give 0 / 0.
        """
        extra = {k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
                 for k, v in extra.items()}
        with autocast_off(pred_scores.device):
            return self._assign(pred_scores.float(), pred_bboxes.float(), points.float(), gt_labels,
                                gt_bboxes.float(), gt_valid, **extra)

    def _assign(self, pred_scores: torch.Tensor, pred_bboxes: torch.Tensor, points: torch.Tensor,
                gt_labels: torch.Tensor, gt_bboxes: torch.Tensor, gt_valid: torch.Tensor,
                **extra) -> AssignResult:
        b, n, c = pred_scores.shape
        m = gt_bboxes.shape[1]
        if m == 0:
            return AssignResult(torch.zeros(b, n, dtype=torch.long, device=pred_scores.device),
                                torch.zeros_like(pred_bboxes), torch.zeros_like(pred_scores),
                                torch.zeros(b, n, dtype=torch.bool, device=pred_scores.device),
                                torch.zeros(b, n, dtype=torch.long, device=pred_scores.device))
        valid = gt_valid.bool()
        inside = self._candidates(points, gt_bboxes, valid, **extra)  # (B, M, N)
        candidates = inside & valid[..., None]
        bi, gi, ni = candidates.nonzero(as_tuple=True)
        overlaps = torch.zeros(b, m, n, dtype=pred_bboxes.dtype, device=pred_bboxes.device)
        align = torch.zeros(b, m, n, dtype=pred_scores.dtype, device=pred_scores.device)
        ious = self._pair_overlaps(bi, gi, ni, gt_bboxes, pred_bboxes, **extra)
        scores = pred_scores[bi, ni, gt_labels[bi, gi].long()]
        overlaps[bi, gi, ni] = ious
        align[bi, gi, ni] = scores.pow(self.alpha) * ious.pow(self.beta)

        positives = self._topk(align, valid) & inside & valid[..., None]
        # a prior claimed by several ground truths keeps the one it overlaps most
        claimed = positives.sum(1)  # (B, N)
        best = torch.zeros_like(positives).scatter_(1, overlaps.argmax(1, keepdim=True), True)
        positives = torch.where((claimed > 1)[:, None, :], best, positives)
        if self.topk2 < self.topk:  # then only the topk2 best-aligned of each ground truth's positives
            kept = (align * positives.to(align.dtype)).topk(self.topk2, dim=-1).indices
            positives = positives & torch.zeros_like(positives).scatter_(-1, kept, True)
        fg_mask, gt_index = positives.max(1)

        flat = gt_index + torch.arange(b, device=gt_index.device)[:, None] * m
        labels = gt_labels.long().flatten()[flat].clamp(0)
        bboxes = gt_bboxes.reshape(-1, 4)[flat]
        onehot = torch.zeros(b, n, self.num_classes, dtype=pred_scores.dtype, device=pred_scores.device)
        onehot.scatter_(2, labels[..., None], 1.0)
        onehot = onehot * fg_mask[..., None]

        pos_f = positives.to(align.dtype)
        align = align * pos_f
        best_align = align.amax(-1, keepdim=True)
        best_iou = (overlaps * pos_f).amax(-1, keepdim=True)
        norm = (align * best_iou / (best_align + self.eps)).amax(1)  # (B, N)
        return AssignResult(labels, bboxes, onehot * norm[..., None], fg_mask, gt_index)

    def _candidates(self, points: torch.Tensor, gt_bboxes: torch.Tensor, valid: torch.Tensor, **extra) -> torch.Tensor:
        """(B, M, N) bool: priors that may be assigned to each ground truth (inside its widened box)."""
        return self._inside(points, gt_bboxes, valid)

    def _pair_overlaps(self, bi: torch.Tensor, gi: torch.Tensor, ni: torch.Tensor, gt_bboxes: torch.Tensor,
                       pred_bboxes: torch.Tensor, **extra) -> torch.Tensor:
        """(P,) overlap of each candidate pair (image bi, ground truth gi, prior ni): CIoU clamped at 0."""
        return complete_iou(gt_bboxes[bi, gi], pred_bboxes[bi, ni]).clamp(0)

    def _inside(self, points: torch.Tensor, gt_bboxes: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        centre = (gt_bboxes[..., :2] + gt_bboxes[..., 2:]) / 2
        wh = gt_bboxes[..., 2:] - gt_bboxes[..., :2]
        wh = torch.where((wh < self.min_side) & valid[..., None], torch.full_like(wh, self.min_side), wh)
        lo, hi = (centre - wh / 2)[:, :, None], (centre + wh / 2)[:, :, None]  # (B, M, 1, 2)
        p = points[None, None]
        return ((p - lo) > self.eps).all(-1) & ((hi - p) > self.eps).all(-1)

    def _topk(self, align: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        idx = align.topk(self.topk, dim=-1, largest=True).indices  # (B, M, k)
        idx = idx.masked_fill(~valid[..., None].expand_as(idx), 0)
        counts = torch.zeros(align.shape, dtype=torch.int8, device=align.device)
        counts.scatter_add_(-1, idx, torch.ones_like(idx, dtype=torch.int8))
        return counts == 1
