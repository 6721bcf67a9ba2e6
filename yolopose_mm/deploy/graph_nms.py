# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""NMS inside the exported graph, with the same selection as eager ``filter_and_nms``.

Eager prediction keeps, per prior, its best class; drops priors whose best score is not above ``score_thr``; runs
class-aware NMS; keeps the ``max_per_img`` best. Here the same happens in ONNX ops:

* ONNX Runtime / OpenVINO / other ONNX backends: mmdeploy's ``ONNXNMSop`` (the standard ``NonMaxSuppression`` op
  that mmdeploy's ``multiclass_nms`` emits) on scores masked to each prior's best class, then a sort and a
  gather that return the *prior indices*. mmdeploy 1.3.1's own ``multiclass_nms(..., output_index=True)`` returns
  positions in its sorted detection list instead of prior indices for batched (dynamic-batch) exports and when
  ``keep_top_k`` exceeds the number of detections (ORT ``TopK`` error), so we gather ourselves.
  TensorRT 10 parses this op natively (its own NMS layer), so the TensorRT deploy configs use it too by default
  (``codebase_config.tensorrt_nms='onnx'``; see :mod:`yolopose_mm.deploy.tensorrt_support`).
* TensorRT with ``tensorrt_nms='mmdeploy_plugin'``: mmdeploy's ``multiclass_nms`` (its TensorRT rewrite emits the
  ``TRTBatchedNMS`` plugin of mmdeploy's TensorRT-8 plugin library, whose index output is -1 for padding; a zero
  prior is appended so that -1 selects it, as mmdeploy does for YOLOX-Pose). The plugin takes at most
  :data:`TRT_PLUGIN_PRE_TOP_K` boxes, so the best-scoring ones are passed (8400 priors at 640 would be refused).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

# Boxes the TRTBatchedNMS plugin accepts (it refuses more than 5,120 candidates); mmdeploy's detectors use 5000.
TRT_PLUGIN_PRE_TOP_K = 5000


class GraphNMSResult(NamedTuple):
    """Selected priors per image, best first, padded with zero-score rows.

    Attributes:
        indices: (B, M) prior indices (0 on padding rows).
        scores: (B, M) best-class scores (0 on padding rows).
    """

    indices: torch.Tensor
    scores: torch.Tensor


def best_class_scores(scores: torch.Tensor) -> torch.Tensor:
    """Keep each prior's best class score and zero the others (B, N, C) -> (B, N, C)."""
    if scores.shape[-1] == 1:
        return scores
    best = scores.max(-1, keepdim=True).values
    return scores * (scores >= best).to(scores.dtype)


def onnx_graph_nms(bboxes: torch.Tensor, scores: torch.Tensor, score_thr: float, iou_thr: float,
                   max_per_img: int) -> GraphNMSResult:
    """Class-aware NMS with the ONNX ``NonMaxSuppression`` op.

    Args:
        bboxes: (B, N, 4) x1, y1, x2, y2.
        scores: (B, N, C) class probabilities.
        score_thr: keep best-class scores strictly above this.
        iou_thr: suppress boxes of the same class with IoU above this.
        max_per_img: detections kept per image.

    Returns:
        :class:`GraphNMSResult` with M = min(max_per_img, selected + 1).
    """
    from mmdeploy.mmcv.ops.nms import ONNXNMSop

    masked = best_class_scores(scores)
    selected = ONNXNMSop.apply(bboxes, masked.transpose(1, 2).contiguous(), max_per_img,
                               torch.tensor([iou_thr], dtype=torch.float32),
                               torch.tensor([score_thr], dtype=torch.float32))  # (S, 3): image, class, prior
    img_idx, cls_idx, prior_idx = selected[:, 0], selected[:, 1], selected[:, 2]
    sel_scores = masked[img_idx, prior_idx, cls_idx]  # (S,)
    batch = torch.arange(bboxes.shape[0], device=bboxes.device, dtype=img_idx.dtype).view(-1, 1)
    ranked = torch.where(img_idx.view(1, -1) == batch, sel_scores.view(1, -1),
                         sel_scores.new_full((1, 1), -1.0))  # (B, S): -1 where the selection is another image's
    # one padding column so that an image without detections still yields a (B, 1) result
    ranked = torch.cat((ranked, ranked.new_full((ranked.shape[0], 1), -1.0)), 1)
    prior_pad = torch.cat((prior_idx, prior_idx.new_zeros(1)))
    order = ranked.argsort(1, descending=True)[:, :max_per_img]  # (B, M)
    kept_scores = ranked.gather(1, order)
    valid = kept_scores > 0
    indices = torch.where(valid, prior_pad[order], torch.zeros_like(order))
    return GraphNMSResult(indices, kept_scores.clamp(min=0.0))


def tensorrt_graph_nms(bboxes: torch.Tensor, scores: torch.Tensor, score_thr: float, iou_thr: float,
                       max_per_img: int) -> GraphNMSResult:
    """Class-aware NMS with mmdeploy's ``multiclass_nms`` (TensorRT ``TRTBatchedNMS`` plugin).

    Shapes as :func:`onnx_graph_nms`. The caller must append one zero prior (index N) that padding (-1) selects.
    """
    from mmdeploy.mmcv.ops.nms import multiclass_nms

    masked = best_class_scores(scores)
    pre_top_k = min(int(bboxes.shape[1]), TRT_PLUGIN_PRE_TOP_K)
    dets, _, index = multiclass_nms(bboxes, masked, max_output_boxes_per_class=max_per_img,
                                    iou_threshold=iou_thr, score_threshold=score_thr, pre_top_k=pre_top_k,
                                    keep_top_k=max_per_img, output_index=True)
    n = bboxes.shape[1]
    index = torch.where(index < 0, torch.full_like(index, n - 1), index)
    return GraphNMSResult(index, dets[..., 4])


__all__ = ['TRT_PLUGIN_PRE_TOP_K', 'GraphNMSResult', 'best_class_scores', 'onnx_graph_nms', 'tensorrt_graph_nms']
