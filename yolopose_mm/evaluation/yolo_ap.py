# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics-style detection metrics: greedy matching, 101-point AP, precision/recall at the best mean F1.

The rules follow the behaviour of Ultralytics' pose validator (re-implemented from its documented behaviour,
no code taken), so the numbers are comparable with ``yolo pose val``:

* similarity thresholds 0.50:0.05:0.95 (box IoU for B, OKS with area = box area x 0.53 for P);
* per image, detections in descending score order each take the most similar ground truth that no earlier
  detection took at that threshold (a ground truth of another class counts as similarity 0);
* per class, AP is the trapezoid integral of the precision envelope sampled at 101 recall points; P and R are
  read at the confidence where the smoothed class-mean F1 is highest;
* only classes that have ground truth are averaged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_RECALL_GRID = np.linspace(0.0, 1.0, 101)
_CONF_GRID = np.linspace(0.0, 1.0, 1000)
PR_RECALL_GRID = np.linspace(0.0, 1.0, 1000)
_EPS = 1e-16


def box_iou_matrix(gt_xyxy: np.ndarray, pred_xyxy: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """IoU between ground-truth boxes (G, 4) and predicted boxes (D, 4), xyxy; returns (G, D)."""
    gt = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
    pr = np.asarray(pred_xyxy, np.float64).reshape(-1, 4)
    lt = np.maximum(gt[:, None, :2], pr[None, :, :2])
    rb = np.minimum(gt[:, None, 2:], pr[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_g = (gt[:, 2:] - gt[:, :2]).prod(-1)
    area_p = (pr[:, 2:] - pr[:, :2]).prod(-1)
    return inter / (area_g[:, None] + area_p[None, :] - inter + eps)


def oks_matrix(gt_kpts: np.ndarray, gt_visible: np.ndarray, gt_area: np.ndarray, pred_kpts: np.ndarray,
               sigmas: Sequence[float], eps: float = 1e-7) -> np.ndarray:
    """Object keypoint similarity between G ground-truth people and D predictions; returns (G, D).

    Args:
        gt_kpts: (G, K, 2) ground-truth keypoints.
        gt_visible: (G, K) 1 where the keypoint is labelled; unlabelled keypoints do not count.
        gt_area: (G,) object scale s^2 (here box area x 0.53).
        pred_kpts: (D, K, 2) predicted keypoints.
        sigmas: (K,) per-keypoint OKS sigmas.

    A person with no labelled keypoint has similarity 0 with every prediction.
    """
    g = np.asarray(gt_kpts, np.float64)
    p = np.asarray(pred_kpts, np.float64)
    mask = (np.asarray(gt_visible) > 0).astype(np.float64)
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    d2 = ((g[:, None, :, :] - p[None, :, :, :]) ** 2).sum(-1)  # (G, D, K)
    e = d2 / (var * (np.asarray(gt_area, np.float64)[:, None, None] + eps) * 2.0)
    return (np.exp(-e) * mask[:, None, :]).sum(-1) / (mask.sum(-1)[:, None] + eps)


def match_greedy(similarity: np.ndarray, gt_labels: np.ndarray, pred_labels: np.ndarray,
                 thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """True-positive flags (D, T) of detections already sorted by descending score.

    Args:
        similarity: (G, D) IoU or OKS.
        gt_labels: (G,) ground-truth classes.
        pred_labels: (D,) predicted classes.
        thresholds: (T,) similarity thresholds.
    """
    num_gt, num_pred = similarity.shape
    correct = np.zeros((num_pred, len(thresholds)), dtype=bool)
    if num_gt == 0 or num_pred == 0:
        return correct
    sim = similarity * (np.asarray(gt_labels)[:, None] == np.asarray(pred_labels)[None, :])
    taken = np.zeros((num_gt, len(thresholds)), dtype=bool)
    cols = np.arange(len(thresholds))
    for j in np.flatnonzero((sim >= thresholds.min()).any(0)):
        free = np.where(taken, 0.0, sim[:, j:j + 1])  # (G, T)
        best = free.argmax(0)
        hit = free[best, cols] >= thresholds
        correct[j] = hit
        taken[best, cols] |= hit
    return correct


def precision_envelope(recall: np.ndarray, precision: np.ndarray):
    """The curve AP integrates: recall with sentinels and the monotone precision envelope (both (D + 3,))."""
    last = recall[-1] if len(recall) else 1.0
    r = np.concatenate(([0.0], recall, [last, 1.0]))
    p = np.concatenate(([1.0], precision, [0.0, 0.0]))
    return r, np.maximum.accumulate(p[::-1])[::-1]


def average_precision_101(recall: np.ndarray, precision: np.ndarray) -> float:
    """101-point interpolated AP of one precision/recall curve (detections in descending score order)."""
    r, envelope = precision_envelope(recall, precision)
    return float(np.trapezoid(np.interp(_RECALL_GRID, r, envelope), _RECALL_GRID))


def _box_smooth(y: np.ndarray, fraction: float) -> np.ndarray:
    width = round(len(y) * fraction * 2) // 2 + 1  # odd
    half = width // 2
    padded = np.concatenate((np.full(half, y[0]), y, np.full(half, y[-1])))
    return np.convolve(padded, np.ones(width) / width, mode='valid')


@dataclass(frozen=True)
class DetectionSummary:
    """Ultralytics-style summary of one task (boxes or poses).

    Attributes:
        precision: mean over classes of the precision at the best-F1 confidence.
        recall: mean over classes of the recall at the best-F1 confidence.
        map50: mean AP at threshold 0.5.
        map50_95: mean AP over thresholds 0.5:0.95.
        ap_per_class: (C, 10) AP of each class that has ground truth.
        classes: (C,) those classes.
        pr_curve: (C, 1000) precision envelope at threshold 0.5 sampled at recall ``PR_RECALL_GRID`` (for plots).
    """

    precision: float
    recall: float
    map50: float
    map50_95: float
    ap_per_class: np.ndarray
    classes: np.ndarray
    pr_curve: Optional[np.ndarray] = None

    def as_dict(self) -> Dict[str, float]:
        return dict(P=self.precision, R=self.recall, mAP50=self.map50, **{'mAP50-95': self.map50_95})


def summarize_detections(tp: np.ndarray, scores: np.ndarray, pred_labels: np.ndarray,
                         gt_labels: np.ndarray) -> DetectionSummary:
    """Precision, recall, mAP50 and mAP50-95 over a whole dataset.

    Args:
        tp: (N, T) true-positive flags of every detection (from :func:`match_greedy`).
        scores: (N,) detection scores.
        pred_labels: (N,) detection classes.
        gt_labels: (M,) classes of every ground-truth object.
    """
    tp = np.asarray(tp, dtype=bool).reshape(len(scores), len(IOU_THRESHOLDS))
    order = np.argsort(-np.asarray(scores, np.float64))
    tp, conf, pred_labels = tp[order], np.asarray(scores, np.float64)[order], np.asarray(pred_labels)[order]
    classes, num_gt = np.unique(np.asarray(gt_labels), return_counts=True)
    ap = np.zeros((len(classes), tp.shape[1]))
    p_curve = np.zeros((len(classes), len(_CONF_GRID)))
    r_curve = np.zeros((len(classes), len(_CONF_GRID)))
    pr_curve = np.zeros((len(classes), len(PR_RECALL_GRID)))
    for ci, (cls, n_gt) in enumerate(zip(classes, num_gt)):
        sel = pred_labels == cls
        if not sel.any():
            continue
        tps = tp[sel].cumsum(0)
        fps = (~tp[sel]).cumsum(0)
        recall = tps / (n_gt + _EPS)
        precision = tps / (tps + fps)
        # curves over confidence (x decreasing in score, hence the negations for np.interp)
        r_curve[ci] = np.interp(-_CONF_GRID, -conf[sel], recall[:, 0], left=0)
        p_curve[ci] = np.interp(-_CONF_GRID, -conf[sel], precision[:, 0], left=1)
        for t in range(tp.shape[1]):
            ap[ci, t] = average_precision_101(recall[:, t], precision[:, t])
        pr_curve[ci] = np.interp(PR_RECALL_GRID, *precision_envelope(recall[:, 0], precision[:, 0]))
    if len(classes):
        f1 = 2 * p_curve * r_curve / (p_curve + r_curve + _EPS)
        best = int(_box_smooth(f1.mean(0), 0.1).argmax())
        prec, rec = float(p_curve[:, best].mean()), float(r_curve[:, best].mean())
        return DetectionSummary(prec, rec, float(ap[:, 0].mean()), float(ap.mean()), ap, classes, pr_curve)
    return DetectionSummary(0.0, 0.0, 0.0, 0.0, ap, classes, pr_curve)


def image_true_positives(gt_labels: np.ndarray, pred_labels: np.ndarray, scores: np.ndarray,
                         similarity: Optional[np.ndarray]) -> np.ndarray:
    """True-positive flags (D, 10) for one image, in the caller's detection order.

    Detections are matched in descending score order (stable for equal scores); ``similarity`` is (G, D) or
    ``None`` when either side is empty.
    """
    num_pred = len(pred_labels)
    if similarity is None or len(gt_labels) == 0 or num_pred == 0:
        return np.zeros((num_pred, len(IOU_THRESHOLDS)), dtype=bool)
    order = np.argsort(-np.asarray(scores, np.float64), kind='stable')
    flags = match_greedy(similarity[:, order], gt_labels, np.asarray(pred_labels)[order])
    out = np.empty_like(flags)
    out[order] = flags
    return out
