# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Residual log-likelihood estimation (RLE) loss of keypoint locations, with a learned error density."""
from __future__ import annotations

import torch
from torch import nn


def rle_keypoint_loss(pred: torch.Tensor, sigma_logits: torch.Tensor, target: torch.Tensor, labelled: torch.Tensor,
                      joint_weights: torch.Tensor, flow: nn.Module) -> torch.Tensor:
    """RLE loss (Li et al., 2021) with a Laplace residual, over labelled keypoints.

    Per labelled keypoint: sigma = sigmoid(sigma_logit) per axis, error e = (pred - target) / sigma; loss per axis
    ``log(sigma) - log q(e) + log(2 sigma) + |e|`` with ``q`` the flow's density of the 2-D error, times the
    keypoint's joint weight, averaged over the labelled keypoints and summed over the axes. Errors that are not
    finite are left out; the rest are clamped to [-100, 100].

    Args:
        pred: (P, K, 2) predicted x, y.
        sigma_logits: (P, K, 2) predicted error-scale logits.
        target: (P, K, 2) target x, y (same units as ``pred``).
        labelled: (P, K) bool, keypoints that carry a label.
        joint_weights: (K,) per-keypoint weights.
        flow: density of the normalised error, with ``log_prob`` (V, 2) -> (V,) (:class:`RLEFlow`).

    Returns:
        scalar loss; a zero that keeps ``pred``, ``sigma_logits`` and the flow in the graph when no keypoint is
        labelled (or none is finite).
    """
    sigma = sigma_logits[labelled].float().sigmoid().clamp_min(torch.finfo(sigma_logits.dtype).tiny)  # (V, 2)
    error = (pred[labelled] - target[labelled]) / (sigma + 1e-9)
    weights = joint_weights.to(pred.device).expand(labelled.shape)[labelled]  # (V,)
    finite = torch.isfinite(error).all(-1)
    if error.numel() == 0 or not bool(finite.all()):
        if not bool(finite.any()):
            return graph_zero(pred, sigma_logits, *flow.parameters())
        error, sigma, weights = error[finite], sigma[finite], weights[finite]
    error = error.clamp(-100, 100)
    log_q = flow.log_prob(error)  # (V,)
    per_axis = (torch.log(sigma) - log_q.unsqueeze(1)) + (torch.log(sigma * 2) + error.abs())  # (V, 2)
    return (per_axis * weights.unsqueeze(1) / per_axis.shape[0]).sum()


def graph_zero(*tensors: torch.Tensor) -> torch.Tensor:
    """A zero that depends on every tensor (sum of empty slices): their parameters get zero gradients, so
    distributed training never reports them unused, and an inf or nan in them cannot leak in."""
    return sum(t[..., :0].sum() for t in tensors)


__all__ = ['rle_keypoint_loss', 'graph_zero']
