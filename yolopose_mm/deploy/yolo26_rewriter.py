# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy rewriter of :meth:`YOLO26PoseHead.forward`: the NMS-free graph (top-k over the one-to-one branches).

Which branch set is exported (:func:`export_branch`): the one-to-one set for ``codebase_config.end2end=True``
(default) and the ``'ultralytics_end2end'`` layout, the one-to-many set for ``end2end=False`` and the
``'ultralytics'`` layout (YOLO26's default ``export(format='onnx')``). Decoding is the head's own
:meth:`YOLO26PoseHead.decode`; the one-to-one selection is :func:`~yolopose_mm.models.utils.topk_select` (ONNX
``TopK``, no NMS op), the one-to-many one the NMS graph of the YOLO11 rewriter.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from mmdeploy.core import FUNCTION_REWRITER

from ..models.utils.decode import DecodedPose
from ..models.utils.topk_select import topk_select
from .head_rewriter import dets_keypoints_with_nms
from .layouts import get_end2end, get_layout, get_nms_params, keypoints_with_scores, to_ultralytics


def export_branch(head, deploy_cfg) -> str:
    """'one2one' or 'one2many': the branch set a deploy config exports for a YOLO26 head."""
    layout = get_layout(deploy_cfg)
    if layout == 'ultralytics':
        return 'one2many' if 'one2many' in head.branches else head.branches[0]
    return head.inference_branch(layout == 'ultralytics_end2end' or get_end2end(deploy_cfg))


def dets_keypoints_topk(decoded: DecodedPose, score_thr: float, max_per_img: int) -> Tuple[torch.Tensor, ...]:
    """``dets`` (B, M, 5) and ``keypoints`` (B, M, K, 3) of the ``max_per_img`` best one-to-one predictions; rows
    not above ``score_thr`` are zero (padding), as in the NMS graph."""
    sel = topk_select(decoded.scores, max_per_img)
    batch = torch.arange(decoded.bboxes.shape[0], device=decoded.bboxes.device).view(-1, 1)
    valid = (sel.scores > score_thr).to(decoded.bboxes.dtype)  # (B, M)
    scores = sel.scores * valid
    dets = torch.cat((decoded.bboxes[batch, sel.indices] * valid.unsqueeze(-1), scores.unsqueeze(-1)), -1)
    kpts = torch.cat((decoded.keypoints[batch, sel.indices], decoded.keypoint_scores[batch, sel.indices].unsqueeze(-1)),
                     -1)
    return dets, kpts * valid.view(*valid.shape, 1, 1)


def ultralytics_end2end(decoded: DecodedPose, keypoint_dim: int, max_per_img: int) -> torch.Tensor:
    """(B, M, 6 + K * dim): x1, y1, x2, y2, score, class, keypoints (x, y[, visibility probability])."""
    sel = topk_select(decoded.scores, max_per_img)
    batch = torch.arange(decoded.bboxes.shape[0], device=decoded.bboxes.device).view(-1, 1)
    kpts = decoded.keypoints[batch, sel.indices]  # (B, M, K, 2)
    if keypoint_dim == 3:
        kpts = torch.cat((kpts, decoded.keypoint_scores[batch, sel.indices].unsqueeze(-1)), -1)
    return torch.cat((decoded.bboxes[batch, sel.indices], sel.scores.unsqueeze(-1),
                      sel.labels.unsqueeze(-1).to(sel.scores.dtype), kpts.flatten(2)), -1)


def nms_free_after_network(head, deploy_cfg) -> bool:
    """Whether the backend model selects by top-k (no NMS) after a network exported in the ``'raw'`` or
    ``'decoded'`` layout: a YOLO26 head exporting its one-to-one branches."""
    from ..models.heads import YOLO26PoseHead
    return isinstance(head, YOLO26PoseHead) and get_layout(deploy_cfg) in ('raw', 'decoded') and \
        export_branch(head, deploy_cfg) == 'one2one'


def rows_from_ultralytics_end2end(output: torch.Tensor, keypoint_dim: int,
                                  score_thr: float) -> List[Tuple[torch.Tensor, ...]]:
    """Per image (bboxes, scores, labels, keypoints, keypoint scores) from the ``'ultralytics_end2end'`` layout
    (B, M, 6 + K * dim), keeping rows scoring above ``score_thr``."""
    out = []
    for rows in output:
        rows = rows[rows[:, 4] > score_thr]
        kpts = rows[:, 6:].reshape(rows.shape[0], -1, keypoint_dim)
        kpt_scores = kpts[..., 2] if keypoint_dim == 3 else torch.ones_like(kpts[..., 0])
        out.append((rows[:, :4], rows[:, 4], rows[:, 5].long(), kpts[..., :2], kpt_scores))
    return out


@FUNCTION_REWRITER.register_rewriter('yolopose_mm.models.heads.yolo26_pose_head.YOLO26PoseHead.forward')
def yolo26_pose_head__forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    """Exported outputs of the YOLO26 pose head (layouts of :mod:`.layouts`).

    Returns:
        ``'dets_keypoints'``: ``dets`` (B, M, 5), ``keypoints`` (B, M, K, 3); ``'decoded'``: ``bboxes``,
        ``scores``, ``keypoints`` of all N priors; ``'raw'``: the exported branch set's raw outputs;
        ``'ultralytics'``: ``(output0,)`` (B, 4 + C + K * dim, N); ``'ultralytics_end2end'``: ``(output0,)``
        (B, M, 6 + K * dim).
    """
    ctx = FUNCTION_REWRITER.get_context()
    layout = get_layout(ctx.cfg)
    branch = export_branch(self, ctx.cfg)
    raw = getattr(self.head_module(feats, branches=(branch,)), branch)
    if layout == 'raw':
        return raw.box_logits, raw.cls_logits, raw.kpt_raw
    decoded = self.decode(raw)
    nms = get_nms_params(ctx.cfg)
    if layout == 'ultralytics':
        return (to_ultralytics(decoded, self.keypoint_dim),)
    if layout == 'ultralytics_end2end':
        return (ultralytics_end2end(decoded, self.keypoint_dim, nms.max_per_img),)
    if layout == 'decoded':
        return decoded.bboxes, decoded.scores, keypoints_with_scores(decoded)
    if branch == 'one2one':
        return dets_keypoints_topk(decoded, nms.score_thr, nms.max_per_img)
    return dets_keypoints_with_nms(decoded, ctx.cfg)


__all__ = ['yolo26_pose_head__forward', 'export_branch', 'dets_keypoints_topk', 'ultralytics_end2end',
           'nms_free_after_network', 'rows_from_ultralytics_end2end']
