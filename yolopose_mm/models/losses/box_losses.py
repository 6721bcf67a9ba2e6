# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Box terms of the YOLO loss: complete IoU (CIoU) and the distribution focal loss over box-side bins."""
from __future__ import annotations

import math

import torch
from mmdet.models.losses.gfocal_loss import distribution_focal_loss


def complete_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """CIoU of paired boxes: IoU - centre distance^2 / enclosing diagonal^2 - alpha * v (aspect term).

    The aspect weight alpha is treated as a constant (no gradient), as in the CIoU paper.

    Args:
        boxes1: (..., 4) x1, y1, x2, y2.
        boxes2: (..., 4) x1, y1, x2, y2.
        eps: numerical guard (also added to the heights before the aspect ratios).

    Returns:
        (...) CIoU values in [-1.5, 1].
    """
    ax1, ay1, ax2, ay2 = boxes1.unbind(-1)
    bx1, by1, bx2, by2 = boxes2.unbind(-1)
    aw, ah = ax2 - ax1, ay2 - ay1 + eps
    bw, bh = bx2 - bx1, by2 - by1 + eps
    inter = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(0) * \
        (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp(0)
    union = aw * ah + bw * bh - inter + eps
    iou = inter / union
    enclose_w = torch.maximum(ax2, bx2) - torch.minimum(ax1, bx1)
    enclose_h = torch.maximum(ay2, by2) - torch.minimum(ay1, by1)
    diag2 = enclose_w.pow(2) + enclose_h.pow(2) + eps
    centre2 = ((bx1 + bx2 - ax1 - ax2).pow(2) + (by1 + by2 - ay1 - ay2).pow(2)) / 4
    v = (4 / math.pi ** 2) * ((bw / bh).atan() - (aw / ah).atan()).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (centre2 / diag2 + v * alpha)


def box_side_targets(points: torch.Tensor, boxes: torch.Tensor, reg_max: int) -> torch.Tensor:
    """Distances (left, top, right, bottom) from prior points (..., 2) to box sides (..., 4), in the same units,
    clamped to the bin range [0, reg_max - 1 - 0.01] of the distribution."""
    dist = torch.cat((points - boxes[..., :2], boxes[..., 2:] - points), -1)
    return dist.clamp(0, reg_max - 1 - 0.01)


def side_distribution_loss(side_logits: torch.Tensor, side_targets: torch.Tensor) -> torch.Tensor:
    """Distribution focal loss of the four box sides, averaged over sides.

    Args:
        side_logits: (P, 4, reg_max) bin logits.
        side_targets: (P, 4) continuous targets in bin units.

    Returns:
        (P,) loss per box (mmdet's ``distribution_focal_loss`` per side, mean over the sides).
    """
    p, sides, bins = side_logits.shape
    per_side = distribution_focal_loss(side_logits.reshape(-1, bins), side_targets.reshape(-1), reduction='none')
    return per_side.view(p, sides).mean(-1)
