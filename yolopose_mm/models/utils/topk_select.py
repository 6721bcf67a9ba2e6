# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""NMS-free selection for one-to-one heads: the k best (prior, class) pairs per image."""
from __future__ import annotations

from typing import NamedTuple

import torch


class TopKResult(NamedTuple):
    """Selected pairs per image, best first: ``indices`` (B, k) into the N priors, ``scores`` (B, k),
    ``labels`` (B, k) class ids."""

    indices: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def topk_select(scores: torch.Tensor, k: int) -> TopKResult:
    """The ``k`` highest-scoring (prior, class) pairs of each image, without suppression.

    First the ``k`` priors with the highest best-class score are kept, then the ``k`` best (prior, class) pairs
    among them, so a prior may appear with several classes (as Ultralytics' end-to-end heads select).

    Args:
        scores: (B, N, C) class probabilities.
        k: pairs kept per image (``min(k, N)`` when there are fewer priors).

    Returns:
        :class:`TopKResult` with k' = min(k, N) columns.
    """
    if k < 1:
        raise ValueError(f'topk_select: k (max_per_img) must be >= 1, got {k}')
    b, n, c = scores.shape
    k = min(int(k), n)
    candidates = scores.max(-1).values.topk(k, dim=1).indices  # (B, k) priors
    pairs = scores.gather(1, candidates.unsqueeze(-1).expand(-1, -1, c)).flatten(1)  # (B, k * C)
    top, flat = pairs.topk(k, dim=1)
    return TopKResult(candidates.gather(1, torch.div(flat, c, rounding_mode='floor')), top, flat % c)


__all__ = ['TopKResult', 'topk_select']
