# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy rewriter of :meth:`YOLOPoseHead.forward` for the pose-detection task.

During export, ``BasePoseEstimator.forward`` -> ``_forward`` -> ``head.forward(feats)``; this rewrite makes the head
return decoded (and, by default, NMS-filtered) results instead of raw logits. Decoding is the head's own
:meth:`YOLOPoseHead.decode` (its priors + :func:`~yolopose_mm.models.utils.decode.decode_predictions`): there is
no second decode. The layout is chosen by ``codebase_config.output_layout`` (see :mod:`.layouts`).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
from mmdeploy.core import FUNCTION_REWRITER

from ..models.utils.decode import DecodedPose
from .graph_nms import onnx_graph_nms, tensorrt_graph_nms
from .layouts import get_layout, get_nms_params, keypoints_with_scores, to_ultralytics
from .tensorrt_support import uses_mmdeploy_trt_nms


def _append_zero_prior(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Append one all-zero prior along dim 1 of each (B, N, ...) tensor (TensorRT's -1 padding selects it)."""
    return tuple(torch.cat((t, t.new_zeros((t.shape[0], 1, *t.shape[2:]))), 1) for t in tensors)


@FUNCTION_REWRITER.register_rewriter('yolopose_mm.models.heads.yolo_pose_head.YOLOPoseHead.forward')
def yolo_pose_head__forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    """Decoded pose-detection outputs of the YOLO pose head.

    Args:
        feats: neck outputs, (B, C_i, H_i, W_i) per level.

    Returns:
        For ``output_layout='dets_keypoints'``: ``dets`` (B, M, 5) and ``keypoints`` (B, M, K, 3), input pixels.
        For ``'decoded'``: ``bboxes`` (B, N, 4), ``scores`` (B, N, C), ``keypoints`` (B, N, K, 3).
        For ``'raw'``: ``box_logits`` (B, 4 * reg_max, N), ``cls_logits`` (B, C, N), ``kpt_raw`` (B, K * dim, N).
        For ``'ultralytics'``: ``(output0,)`` (B, 4 + C + K * dim, N).
    """
    ctx = FUNCTION_REWRITER.get_context()
    raw = ctx.origin_func(self, feats)
    layout = get_layout(ctx.cfg)
    if layout == 'raw':
        return raw.box_logits, raw.cls_logits, raw.kpt_raw
    decoded = self.decode(raw)
    if layout == 'ultralytics':
        return (to_ultralytics(decoded, self.keypoint_dim),)
    if layout == 'decoded':
        return decoded.bboxes, decoded.scores, keypoints_with_scores(decoded)
    return dets_keypoints_with_nms(decoded, ctx.cfg)


def dets_keypoints_with_nms(decoded: DecodedPose, deploy_cfg) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``'dets_keypoints'`` outputs of decoded predictions, selected by NMS in the graph.

    Returns:
        ``dets`` (B, M, 5) and ``keypoints`` (B, M, K, 3), input pixels; padding rows are zero.
    """
    bboxes, scores, kpt_xy, kpt_scores = decoded
    nms = get_nms_params(deploy_cfg)
    if uses_mmdeploy_trt_nms(deploy_cfg):  # opt-in; TensorRT configs default to the standard op (TensorRT 10)
        bboxes, scores, kpt_xy, kpt_scores = _append_zero_prior(bboxes, scores, kpt_xy, kpt_scores)
        kept = tensorrt_graph_nms(bboxes, scores, nms.score_thr, nms.iou_thr, nms.max_per_img)
    else:
        kept = onnx_graph_nms(bboxes, scores, nms.score_thr, nms.iou_thr, nms.max_per_img)
    batch = torch.arange(bboxes.shape[0], device=bboxes.device).view(-1, 1)
    valid = (kept.scores > 0).to(bboxes.dtype)  # (B, M): zero the padding rows
    dets = torch.cat((bboxes[batch, kept.indices] * valid.unsqueeze(-1), kept.scores.unsqueeze(-1)), -1)
    # gather the M kept rows first, then join x, y and score: M x K x 3, not N x K x 3, values to interleave
    kpts = torch.cat((kpt_xy[batch, kept.indices], kpt_scores[batch, kept.indices].unsqueeze(-1)), -1)
    kpts = kpts * valid.view(*valid.shape, 1, 1)
    return dets, kpts


__all__ = ['yolo_pose_head__forward', 'dets_keypoints_with_nms']
