# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Keypoint terms of the YOLO pose loss: an OKS-shaped location loss and the visibility BCE."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def keypoint_oks_loss(pred: torch.Tensor, target: torch.Tensor, labelled: torch.Tensor, area: torch.Tensor,
                      sigmas: torch.Tensor) -> torch.Tensor:
    """1 - exp(-d^2 / (2 * s^2)) with COCO's OKS scale s^2 = (2 sigma)^2 * area, over labelled keypoints.

    Each instance is re-weighted by K / (number of labelled keypoints), then the mean over instances and keypoints
    is taken, so instances with few labelled keypoints are not under-weighted.

    Args:
        pred: (P, K, 2) predicted x, y.
        target: (P, K, 2) target x, y (same units as ``pred``).
        labelled: (P, K) bool, which keypoints carry a label.
        area: (P, 1) object area in squared units of the coordinates.
        sigmas: (K,) per-keypoint OKS sigmas.

    Returns:
        scalar loss.
    """
    d2 = (pred - target).pow(2).sum(-1)
    weight = labelled.shape[1] / (labelled.sum(1) + 1e-9)
    e = d2 / ((2 * sigmas).pow(2) * (area + 1e-9) * 2)
    return (weight.view(-1, 1) * ((1 - torch.exp(-e)) * labelled)).mean()


def keypoint_visibility_loss(logits: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the visibility logits (P, K) against which keypoints are labelled (mean)."""
    return F.binary_cross_entropy_with_logits(logits, labelled.to(logits.dtype))
