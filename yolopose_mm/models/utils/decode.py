# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The one decoding path of the YOLO pose heads, shared by predict, loss and deploy.

Coordinates are produced in *grid units* of each prior's level by :func:`decode_boxes_grid` and
:func:`decode_keypoints_grid` (what the loss compares against), and in input pixels by
:func:`decode_predictions` (grid units x stride), which predict and the deploy rewriter call.

Two variants, chosen by arguments rather than separate decoders:

* boxes: ``reg_max > 1`` (YOLOv8 / YOLO11) decodes each side as the expectation of a ``reg_max``-bin
  distribution; ``reg_max == 1`` (YOLO26) takes the four raw outputs as the side distances directly.
* keypoints (``keypoint_decode``): ``'v8'`` (YOLOv8 / YOLO11) places x at ``2 * raw + prior - 0.5``;
  ``'26'`` (YOLO26) at ``raw + prior`` (an offset from the cell centre).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple

import torch

KEYPOINT_DECODES = ('v8', '26')


class Priors(NamedTuple):
    """Prior points of all levels.

    Attributes:
        points: (N, 2) cell centres (x + 0.5, y + 0.5) in grid units of the prior's level.
        strides: (N, 1) stride of the prior's level in pixels.
    """

    points: torch.Tensor
    strides: torch.Tensor


class DecodedPose(NamedTuple):
    """Decoded predictions in input-image pixels.

    Attributes:
        bboxes: (B, N, 4) x1, y1, x2, y2.
        scores: (B, N, C) class probabilities.
        keypoints: (B, N, K, 2) x, y.
        keypoint_scores: (B, N, K) visibility probabilities (ones when the model has dim 2).
    """

    bboxes: torch.Tensor
    scores: torch.Tensor
    keypoints: torch.Tensor
    keypoint_scores: torch.Tensor


def make_priors(featmap_sizes: Sequence[Tuple[int, int]], strides: Sequence[int], dtype: torch.dtype = torch.float32,
                device: Optional[torch.device] = None) -> Priors:
    """Cell-centre priors for every level, level-major then row-major (the order of the flattened outputs).

    Args:
        featmap_sizes: (H_i, W_i) per level.
        strides: stride per level.
        dtype: dtype of the result.
        device: device of the result.

    Returns:
        :class:`Priors` with N = sum H_i * W_i.
    """
    if len(featmap_sizes) != len(strides):
        raise ValueError(f'make_priors: {len(featmap_sizes)} feature maps but {len(strides)} strides')
    points, prior_strides = [], []
    for (h, w), stride in zip(featmap_sizes, strides):
        xs = torch.arange(w, dtype=dtype, device=device) + 0.5
        ys = torch.arange(h, dtype=dtype, device=device) + 0.5
        gy, gx = torch.meshgrid(ys, xs, indexing='ij')
        points.append(torch.stack((gx, gy), -1).view(-1, 2))
        prior_strides.append(torch.full((h * w, 1), float(stride), dtype=dtype, device=device))
    return Priors(torch.cat(points), torch.cat(prior_strides))


def box_distances(box_logits: torch.Tensor, reg_max: int, bins: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Distance of each box side: softmax over ``reg_max`` bins dotted with the bin values, or (``reg_max == 1``)
    the raw outputs themselves.

    Args:
        box_logits: (B, 4 * reg_max, N), side-major.
        reg_max: number of bins (1: direct distances, no distribution).
        bins: (reg_max,) bin values; default 0..reg_max-1 (the head passes its frozen ``dfl_bins``).

    Returns:
        (B, 4, N) distances (left, top, right, bottom) in grid units, channel-first like the head's outputs.
    """
    if reg_max == 1:
        return box_logits
    b, _, n = box_logits.shape
    probs = box_logits.view(b, 4, reg_max, n).softmax(2)
    if bins is None:
        bins = torch.arange(reg_max, dtype=probs.dtype, device=probs.device)
    return torch.matmul(bins.to(probs.dtype), probs)  # (R,) @ (B, 4, R, N): sum over the bins, no transposes


def decode_boxes_grid(distances: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Boxes x1, y1, x2, y2 (B, 4, N) in grid units from side distances (B, 4, N) and prior points (N, 2)."""
    centres = points.t()  # (2, N)
    return torch.cat((centres - distances[:, :2], centres + distances[:, 2:]), 1)


def keypoints_channel_first(kpt_raw: torch.Tensor, keypoint_dim: int) -> torch.Tensor:
    """Raw keypoint outputs (B, K * dim, N) viewed as (B, K, dim, N)."""
    b, kd, n = kpt_raw.shape
    return kpt_raw.view(b, kd // keypoint_dim, keypoint_dim, n)


def check_keypoint_decode(keypoint_decode: str) -> str:
    """``keypoint_decode`` if it is one of :data:`KEYPOINT_DECODES`, else a ValueError naming the choices."""
    if keypoint_decode not in KEYPOINT_DECODES:
        raise ValueError(f"keypoint_decode must be 'v8' (YOLOv8 / YOLO11: 2 * raw + prior - 0.5) or '26' (YOLO26: "
                         f'raw + prior), got {keypoint_decode!r}')
    return keypoint_decode


def keypoint_xy_grid(kpts: torch.Tensor, points: torch.Tensor, keypoint_decode: str = 'v8') -> torch.Tensor:
    """Keypoint x, y (B, K, 2, N) in grid units from raw keypoints (B, K, dim, N): ``2 * raw + (prior - 0.5)``
    (``keypoint_decode='v8'``) or ``raw + prior`` (``'26'``)."""
    if keypoint_decode == '26':
        return kpts[:, :, :2] + points.t()
    return kpts[:, :, :2] * 2.0 + (points.t() - 0.5)


def decode_keypoints_grid(kpt_raw: torch.Tensor, points: torch.Tensor, keypoint_dim: int,
                          keypoint_decode: str = 'v8') -> torch.Tensor:
    """Keypoints in grid units (see :func:`keypoint_xy_grid`); visibility stays a logit.

    Args:
        kpt_raw: (B, K * dim, N) raw keypoint outputs.
        points: (N, 2) prior points in grid units.
        keypoint_dim: dim (2 or 3).
        keypoint_decode: 'v8' or '26'.

    Returns:
        (B, K, dim, N): x, y in grid units (and the raw visibility logit when dim == 3), channel-first.
    """
    kpts = keypoints_channel_first(kpt_raw, keypoint_dim)
    return torch.cat((keypoint_xy_grid(kpts, points, keypoint_decode), kpts[:, :, 2:]), 2)


def decode_predictions(box_logits: torch.Tensor, cls_logits: torch.Tensor, kpt_raw: torch.Tensor, priors: Priors,
                       reg_max: int, keypoint_dim: int, bins: Optional[torch.Tensor] = None,
                       keypoint_decode: str = 'v8') -> DecodedPose:
    """Decode raw head outputs to boxes, class scores and keypoints in input pixels.

    The arithmetic runs channel-first, on the head's (B, C, N) layout: exported graphs then concatenate and
    scale whole rows of N values instead of interleaving 2- or 3-wide columns, which backends run slowly. The
    returned fields are (B, N, ...) transposed *views* of those results (no copy in eager mode; in an exported
    graph a later transpose back cancels against them).

    Args:
        box_logits: (B, 4 * reg_max, N).
        cls_logits: (B, C, N).
        kpt_raw: (B, K * dim, N).
        priors: :class:`Priors` for the N positions.
        reg_max: box distribution bins.
        keypoint_dim: 2 or 3.
        bins: (reg_max,) box-distribution bin values (default 0..reg_max-1; unused when reg_max == 1).
        keypoint_decode: 'v8' or '26' (see :func:`keypoint_xy_grid`).

    Returns:
        :class:`DecodedPose`.
    """
    stride = priors.strides.t()  # (1, N)
    bboxes = decode_boxes_grid(box_distances(box_logits, reg_max, bins), priors.points) * stride  # (B, 4, N)
    kpts = keypoints_channel_first(kpt_raw, keypoint_dim)  # (B, K, dim, N)
    keypoints = keypoint_xy_grid(kpts, priors.points, keypoint_decode) * stride  # (B, K, 2, N)
    if keypoint_dim == 3:
        keypoint_scores = kpts[:, :, 2].sigmoid()
    else:
        keypoint_scores = torch.ones_like(kpts[:, :, 0])
    return DecodedPose(bboxes.transpose(1, 2), cls_logits.sigmoid().transpose(1, 2), keypoints.permute(0, 3, 1, 2),
                       keypoint_scores.transpose(1, 2))
