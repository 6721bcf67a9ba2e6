# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Score filtering and class-aware NMS for one image's decoded predictions."""
from __future__ import annotations

from typing import NamedTuple

import torch
from mmcv.ops import nms


class NMSResult(NamedTuple):
    """Kept predictions: ``indices`` (M,) into the N priors, ``scores`` (M,), ``labels`` (M,), best first."""

    indices: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def filter_and_nms(bboxes: torch.Tensor, scores: torch.Tensor, score_thr: float, iou_thr: float,
                   max_per_img: int, max_candidates: int = 30000) -> NMSResult:
    """Best class per prior, score threshold, top ``max_candidates``, class-aware NMS, top ``max_per_img``.

    Args:
        bboxes: (N, 4) x1, y1, x2, y2.
        scores: (N, C) class probabilities.
        score_thr: keep priors whose best class score is strictly above this.
        iou_thr: NMS IoU threshold (boxes of different classes never suppress each other).
        max_per_img: detections kept after NMS.
        max_candidates: priors entering NMS, highest scores first.

    Returns:
        :class:`NMSResult`.
    """
    if not 0.0 <= score_thr <= 1.0:
        raise ValueError(f'score_thr must be in [0, 1], got {score_thr}')
    if not 0.0 <= iou_thr <= 1.0:
        raise ValueError(f'iou_thr (NMS IoU threshold) must be in [0, 1], got {iou_thr}')
    best, labels = scores.max(1)
    keep = (best > score_thr).nonzero().view(-1)
    if keep.numel() > max_candidates:
        keep = keep[best[keep].topk(max_candidates).indices]
    kept = _class_aware_nms(bboxes[keep].float(), best[keep].float(), labels[keep], iou_thr)[:max_per_img]
    indices = keep[kept]
    return NMSResult(indices, best[indices], labels[indices])


def _class_aware_nms(bboxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
                     iou_thr: float) -> torch.Tensor:
    """Indices (M,) kept by NMS, best first; boxes of different labels are moved apart so they never overlap.

    Uses mmcv's compiled NMS (already loaded with mmdet/mmpose) rather than torchvision's, whose import pulls in
    ``torch._dynamo`` (about 1 s and 100 MiB per process). Equal scores are ranked by index (a stable sort, as
    torchvision and ONNX Runtime do): mmcv sorts unstably, so it gets the stable order as strictly falling ranks.
    """
    if bboxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=bboxes.device)
    if labels.numel() and bool((labels != labels[0]).any()):
        bboxes = bboxes + (labels.to(bboxes) * (bboxes.max() + 1)).unsqueeze(1)
    order = scores.sort(descending=True, stable=True).indices
    ranks = torch.arange(order.numel(), 0, -1, dtype=torch.float32, device=bboxes.device)
    return order[nms(bboxes[order], ranks, iou_thr)[1]]
