# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdet 3.3's ``ByteTracker`` with its cost matrix computed in numpy: the same matching, less per-frame overhead.

``ByteTracker.assign_ids`` (called three times a frame) builds the association cost ``1 - IoU x score`` (+1e6 between
different classes) from a few boxes with some twenty small torch operations; on a CPU their dispatch costs more
than the arithmetic. :class:`NumpyCostByteTracker` overrides that one method only: the same formulas, in the same
order and dtype (float32 boxes and costs, float64 Kalman means cast to the boxes' dtype, mmdet's ``eps`` of 1e-6),
handed to the same ``lap.lapjv`` call with the same ``cost_limit``. Everything else (thresholds, the two
association rounds, tentative tracks, the Kalman filter, the track memory) is mmdet's code, unchanged.
``tests/test_tracking_units.py`` checks that both methods give identical costs and assignments.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import lap
import numpy as np
import torch
from mmdet.models.trackers import ByteTracker

_EPS = 1e-6  # mmdet.structures.bbox.bbox_overlaps' default


def cxcyah_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) centre x, centre y, aspect ratio w/h, height -> (N, 4) x1, y1, x2, y2 (mmdet's formulas)."""
    cx, cy, ratio, h = boxes[:, 0:1], boxes[:, 1:2], boxes[:, 2:3], boxes[:, 3:4]
    w = ratio * h
    return np.concatenate([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], axis=-1)


def iou_matrix(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """(M, 4) x (N, 4) xyxy -> (M, N) IoU, as mmdet's ``bbox_overlaps(mode='iou')`` computes it."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = np.maximum(rb - lt, 0)
    overlap = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - overlap
    union = np.maximum(union, np.asarray(_EPS, dtype=union.dtype))
    return overlap / union


class NumpyCostByteTracker(ByteTracker):
    """mmdet's ``ByteTracker`` (same arguments, same results) whose ``assign_ids`` computes its cost in numpy."""

    def assign_ids(self, ids: List[int], det_bboxes: torch.Tensor, det_labels: torch.Tensor,
                   det_scores: torch.Tensor, weight_iou_with_det_scores: Optional[bool] = False,
                   match_iou_thr: Optional[float] = 0.5) -> Tuple[np.ndarray, np.ndarray]:
        """Match tracks ``ids`` to detections: ``(row, col)`` of ``lap.lapjv`` (-1 = unmatched), as mmdet's.

        Args:
            ids: track ids to match.
            det_bboxes: (N, 4) xyxy detections. det_labels: (N,). det_scores: (N,).
            weight_iou_with_det_scores: multiply the IoU by the detection score.
            match_iou_thr: pairs with a cost above ``1 - match_iou_thr`` stay unmatched.
        """
        boxes = det_bboxes.detach().cpu().numpy()
        means = np.zeros((len(ids), 4), np.float64)
        for i, track_id in enumerate(ids):
            means[i] = self.tracks[track_id].mean[:4]
        track_boxes = cxcyah_to_xyxy(means.astype(boxes.dtype))
        if len(ids) == 0 or len(boxes) == 0:
            return (np.zeros(len(ids)).astype(np.int32) - 1, np.zeros(len(boxes)).astype(np.int32) - 1)
        ious = iou_matrix(track_boxes, boxes)
        if weight_iou_with_det_scores:
            ious *= det_scores.detach().cpu().numpy()
        track_labels = np.array([int(self.tracks[track_id]['labels'][-1]) for track_id in ids], np.int64)
        same_class = det_labels.detach().cpu().numpy()[None, :] == track_labels[:, None]
        class_cost = (1 - same_class.astype(np.int32)).astype(ious.dtype) * np.asarray(1e6, ious.dtype)
        dists = 1 - ious + class_cost
        _, row, col = lap.lapjv(dists, extend_cost=True, cost_limit=1 - match_iou_thr)
        return row, col


__all__ = ['NumpyCostByteTracker', 'cxcyah_to_xyxy', 'iou_matrix']
