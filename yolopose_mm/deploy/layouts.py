# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Output layouts of an exported YOLO pose model and the deploy-config keys that choose them.

``codebase_config.output_layout``:

* ``'dets_keypoints'`` (default): NMS in the graph. ``dets`` (B, M, 5: x1 y1 x2 y2 score) and ``keypoints``
  (B, M, K, 3: x y score) in network-input pixels, best first; rows with score 0 are padding.
* ``'decoded'``: no NMS in the graph (backends without an NMS op, e.g. ncnn); NMS runs after the network.
  ``bboxes`` (B, N, 4), ``scores`` (B, N, C), ``keypoints`` (B, N, K, 3) for all N priors.
* ``'raw'``: the head's raw outputs ``box_logits`` (B, 4 * reg_max, N), ``cls_logits`` (B, C, N), ``kpt_raw``
  (B, K * dim, N); decoding (the head's own ``decode``) and NMS run after the network. Used for ncnn, whose
  converter (pnnx) cannot take the prior-generation ops of the traced decode.
* ``'ultralytics'``: one output ``output0`` (B, 4 + C + K * dim, N) as Ultralytics' ONNX export lays it out:
  rows cx, cy, w, h (input pixels), C class probabilities, then per keypoint x, y (input pixels) and, for
  dim 3, its visibility probability. For users whose post-processing expects that layout. (YOLO26: the
  one-to-many branches, as its default ``export(format='onnx')``.)
* ``'ultralytics_end2end'`` (YOLO26 only): one output ``output0`` (B, M, 6 + K * dim), the layout of YOLO26's
  ``export(format='onnx', nms=False)``: rows x1, y1, x2, y2, score, class, then the keypoints; M =
  ``max_per_img`` best one-to-one predictions (no score threshold in the graph).

``codebase_config.end2end`` (YOLO26, default True): the ``'dets_keypoints'``, ``'decoded'`` and ``'raw'`` layouts
use the one-to-one branches and select without NMS (top-k, no NMS op); False: the one-to-many branches with NMS.

``codebase_config.post_processing``: ``score_threshold`` (0.25), ``iou_threshold`` (0.7), ``max_per_img`` (300),
the eager predict defaults of :func:`yolopose_mm.apis.inference`. They override the model config's ``test_cfg``.
"""
from __future__ import annotations

from typing import Dict, NamedTuple, Tuple

import torch

from ..models.utils.decode import DecodedPose

LAYOUTS = ('dets_keypoints', 'decoded', 'raw', 'ultralytics', 'ultralytics_end2end')
OUTPUT_NAMES: Dict[str, Tuple[str, ...]] = {
    'dets_keypoints': ('dets', 'keypoints'),
    'decoded': ('bboxes', 'scores', 'keypoints'),
    'raw': ('box_logits', 'cls_logits', 'kpt_raw'),
    'ultralytics': ('output0',),
    'ultralytics_end2end': ('output0',),
}
DEFAULT_NMS = {'score_threshold': 0.25, 'iou_threshold': 0.7, 'max_per_img': 300}


class NMSParams(NamedTuple):
    """NMS settings of an export: score threshold, IoU threshold, detections kept per image."""

    score_thr: float
    iou_thr: float
    max_per_img: int


def _codebase_cfg(deploy_cfg) -> dict:
    from mmdeploy.utils import get_codebase_config
    return dict(get_codebase_config(deploy_cfg) or {})


def get_layout(deploy_cfg) -> str:
    """The deploy config's ``codebase_config.output_layout`` (checked against :data:`LAYOUTS`)."""
    layout = _codebase_cfg(deploy_cfg).get('output_layout', 'dets_keypoints')
    if layout not in LAYOUTS:
        raise ValueError(f'deploy config: codebase_config.output_layout={layout!r} is not one of {LAYOUTS}')
    return layout


def get_end2end(deploy_cfg) -> bool:
    """The deploy config's ``codebase_config.end2end`` (default True): NMS-free export of YOLO26's one-to-one
    branches (models without them ignore it)."""
    value = _codebase_cfg(deploy_cfg).get('end2end', True)
    if not isinstance(value, bool):
        raise ValueError(f'deploy config: codebase_config.end2end must be True or False, got {value!r}')
    return value


def get_nms_params(deploy_cfg) -> NMSParams:
    """The deploy config's ``codebase_config.post_processing`` merged over :data:`DEFAULT_NMS`."""
    cfg = {**DEFAULT_NMS, **dict(_codebase_cfg(deploy_cfg).get('post_processing') or {})}
    params = NMSParams(float(cfg['score_threshold']), float(cfg['iou_threshold']), int(cfg['max_per_img']))
    if not 0.0 <= params.score_thr <= 1.0 or not 0.0 <= params.iou_thr <= 1.0 or params.max_per_img < 1:
        raise ValueError(f'deploy config: codebase_config.post_processing needs score_threshold and '
                         f'iou_threshold in [0, 1] and max_per_img >= 1, got {cfg}')
    return params


def keypoints_with_scores(decoded: DecodedPose) -> torch.Tensor:
    """(B, N, K, 3) x, y, score from a :class:`DecodedPose`."""
    return torch.cat((decoded.keypoints, decoded.keypoint_scores.unsqueeze(-1)), -1)


def to_ultralytics(decoded: DecodedPose, keypoint_dim: int) -> torch.Tensor:
    """Ultralytics' raw layout (B, 4 + C + K * dim, N) from a :class:`DecodedPose`.

    Built channel-first: the decoded fields are transposed views of channel-first tensors, so the transposes
    here cancel against theirs in the exported graph and every concatenation joins whole rows of N values.
    """
    boxes = decoded.bboxes.transpose(1, 2)  # (B, 4, N)
    xy1, xy2 = boxes[:, :2], boxes[:, 2:]
    kpts = decoded.keypoints.permute(0, 2, 3, 1)  # (B, K, 2, N)
    if keypoint_dim == 3:
        kpts = torch.cat((kpts, decoded.keypoint_scores.transpose(1, 2).unsqueeze(2)), 2)  # (B, K, 3, N)
    return torch.cat(((xy1 + xy2) * 0.5, xy2 - xy1, decoded.scores.transpose(1, 2), kpts.flatten(1, 2)), 1)


def from_ultralytics(raw: torch.Tensor, num_classes: int, num_keypoints: int, keypoint_dim: int) -> DecodedPose:
    """Split Ultralytics' raw layout (B, 4 + C + K * dim, N) back into a :class:`DecodedPose`."""
    expected = 4 + num_classes + num_keypoints * keypoint_dim
    if raw.ndim != 3 or raw.shape[1] != expected:
        raise ValueError(f'ultralytics layout: expected (B, {expected}, N) for {num_classes} class(es) and '
                         f'{num_keypoints}x{keypoint_dim} keypoints, got {tuple(raw.shape)}')
    x = raw.transpose(1, 2)
    b, n = x.shape[:2]
    centre, size = x[..., :2], x[..., 2:4]
    bboxes = torch.cat((centre - size * 0.5, centre + size * 0.5), -1)
    kpts = x[..., 4 + num_classes:].reshape(b, n, num_keypoints, keypoint_dim)
    kpt_scores = kpts[..., 2] if keypoint_dim == 3 else torch.ones_like(kpts[..., 0])
    return DecodedPose(bboxes, x[..., 4:4 + num_classes], kpts[..., :2], kpt_scores)


__all__ = ['LAYOUTS', 'OUTPUT_NAMES', 'DEFAULT_NMS', 'NMSParams', 'get_layout', 'get_end2end', 'get_nms_params',
           'keypoints_with_scores', 'to_ultralytics', 'from_ultralytics']
