# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Compare the people found by a deployed model with the eager model's (same image, image coordinates)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np


@dataclass(frozen=True)
class PoseDiff:
    """Differences between two predictions of one image.

    Attributes:
        num_a: people in the first (eager) prediction.
        num_b: people in the second (deployed) prediction.
        pairs: (index in a, index in b) of matched people, a's order.
        box_px: largest |difference| of matched box coordinates, pixels.
        kpt_px: largest |difference| of matched keypoint coordinates, pixels.
        score: largest |difference| of matched box scores.
        kpt_score: largest |difference| of matched keypoint scores.
    """

    num_a: int
    num_b: int
    pairs: Tuple[Tuple[int, int], ...] = field(default_factory=tuple)
    box_px: float = 0.0
    kpt_px: float = 0.0
    score: float = 0.0
    kpt_score: float = 0.0

    @property
    def same_people(self) -> bool:
        """Both found the same number of people and every one was matched."""
        return self.num_a == self.num_b == len(self.pairs)

    def within(self, px: float = 1.0, score: float = 1e-3) -> bool:
        """Same people, boxes and keypoints within ``px`` pixels, box and keypoint scores within ``score``."""
        return self.same_people and max(self.box_px, self.kpt_px) <= px and max(self.score,
                                                                               self.kpt_score) <= score


def _iou(a: np.ndarray, b: np.ndarray, degenerate_px: float = 1.0) -> np.ndarray:
    """Matching similarity (Na, Nb) of boxes a (Na, 4) and b (Nb, 4), x1 y1 x2 y2: their IoU.

    Two boxes whose union has no area (zero-width or zero-height boxes, e.g. a person squeezed against the image
    border after clipping) have no IoU; they count as the same box (1.0) when every coordinate agrees within
    ``degenerate_px`` pixels, and as different (0.0) otherwise.
    """
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / np.maximum(union, 1e-9)
    flat = union <= 1e-9
    if flat.any():
        close = np.abs(a[:, None, :] - b[None, :, :]).max(-1) <= degenerate_px
        iou = np.where(flat, close.astype(iou.dtype), iou)
    return iou


def _as_np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def compare_instances(a, b, min_iou: float = 0.5) -> PoseDiff:
    """Match the people of two ``pred_instances`` (greedy by box IoU, highest first) and measure differences.

    Args:
        a: ``InstanceData`` with ``bboxes`` (N, 4), ``bbox_scores`` (N,), ``keypoints`` (N, K, 2),
            ``keypoint_scores`` (N, K).
        b: the same fields for the other model.
        min_iou: pairs below this IoU are not matched.

    Returns:
        :class:`PoseDiff`.
    """
    boxes_a, boxes_b = _as_np(a.bboxes).reshape(-1, 4), _as_np(b.bboxes).reshape(-1, 4)
    na, nb = len(boxes_a), len(boxes_b)
    if na == 0 or nb == 0:
        return PoseDiff(na, nb)
    iou = _iou(boxes_a, boxes_b)
    pairs: List[Tuple[int, int]] = []
    while True:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] < min_iou:
            break
        pairs.append((int(i), int(j)))
        iou[i, :], iou[:, j] = -1, -1
    if not pairs:
        return PoseDiff(na, nb)
    pairs.sort()
    ia, ib = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def diff(name: str) -> float:
        return float(np.abs(_as_np(getattr(a, name))[ia].astype(np.float64)
                            - _as_np(getattr(b, name))[ib].astype(np.float64)).max())

    return PoseDiff(na, nb, tuple(pairs), diff('bboxes'), diff('keypoints'), diff('bbox_scores'),
                    diff('keypoint_scores'))


def format_side_by_side(a, b, diff: PoseDiff, names: Tuple[str, str] = ('eager', 'backend')) -> str:
    """A text table: matched people with box and score from both models, then the largest differences."""
    lines = [f'{names[0]}: {diff.num_a} people, {names[1]}: {diff.num_b} people']
    lines.append(f'{"#":>3} | {names[0] + " box (x1 y1 x2 y2) score":<46} | {names[1] + " box score":<46}')
    boxes_a, boxes_b = _as_np(a.bboxes), _as_np(b.bboxes)
    scores_a, scores_b = _as_np(a.bbox_scores), _as_np(b.bbox_scores)
    for n, (i, j) in enumerate(diff.pairs):
        fa = ' '.join(f'{v:8.2f}' for v in boxes_a[i]) + f'  {scores_a[i]:.4f}'
        fb = ' '.join(f'{v:8.2f}' for v in boxes_b[j]) + f'  {scores_b[j]:.4f}'
        lines.append(f'{n:>3} | {fa:<46} | {fb:<46}')
    lines.append(f'largest differences: box {diff.box_px:.4g} px, keypoints {diff.kpt_px:.4g} px, '
                 f'box score {diff.score:.3g}, keypoint score {diff.kpt_score:.3g}'
                 f'{"" if diff.same_people else "  (NOT the same people)"}')
    return '\n'.join(lines)


__all__ = ['PoseDiff', 'compare_instances', 'format_side_by_side']
