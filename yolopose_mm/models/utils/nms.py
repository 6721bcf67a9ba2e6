# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Score filtering and class-aware NMS for one image's decoded predictions, on any device.

mmcv's compiled NMS is used where it has a kernel for the tensors' device (always on CPU; on CUDA only when mmcv
was built with its CUDA ops, which the installer cannot do without a matching nvcc). Elsewhere torchvision's
``batched_nms`` runs instead, imported only then: its import pulls in ``torch._dynamo`` (about 1 s and 100 MiB per
process). Both get the same strictly falling ranks in the same stable score order, so they keep the same boxes in
the same order, ties included.
"""
from __future__ import annotations

from typing import Dict, NamedTuple

import torch
from mmcv.ops import nms as mmcv_nms

# device type -> whether mmcv's NMS has a kernel for it (probed once per process)
_MMCV_NMS_DEVICES: Dict[str, bool] = {'cpu': True}


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

    Equal scores are ranked by index (a stable sort, as torchvision and ONNX Runtime do): mmcv sorts unstably, so
    both kernels get the stable order as strictly falling ranks. See :func:`mmcv_has_nms_kernel` for the choice.
    """
    if bboxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=bboxes.device)
    order = scores.sort(descending=True, stable=True).indices
    ranks = torch.arange(order.numel(), 0, -1, dtype=torch.float32, device=bboxes.device)
    if not mmcv_has_nms_kernel(bboxes.device):
        from torchvision.ops import batched_nms  # only where mmcv cannot: a heavy import
        return order[batched_nms(bboxes[order], ranks, labels[order], iou_thr)]
    if labels.numel() and bool((labels != labels[0]).any()):
        bboxes = bboxes + (labels.to(bboxes) * (bboxes.max() + 1)).unsqueeze(1)
    return order[mmcv_nms(bboxes[order], ranks, iou_thr)[1]]


def mmcv_has_nms_kernel(device: torch.device) -> bool:
    """Whether mmcv's compiled NMS runs on ``device``'s type, probed once with a 2-box call.

    mmcv raises ``nms_impl: implementation for device cuda:0 not found`` for a device its build has no kernel for
    (a CPU-only mmcv on a GPU machine); any other error is not about the kernel and propagates.
    """
    kind = torch.device(device).type
    if kind not in _MMCV_NMS_DEVICES:
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]], device=device)
        try:
            mmcv_nms(boxes, torch.tensor([1.0, 0.5], device=device), 0.5)
            _MMCV_NMS_DEVICES[kind] = True
        except RuntimeError as e:
            if 'not found' not in str(e):
                raise
            _MMCV_NMS_DEVICES[kind] = False
    return _MMCV_NMS_DEVICES[kind]
