# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""COCO-official keypoint and box AP/AR through xtcocotools' COCOeval (any K, sigmas from metainfo)."""
from __future__ import annotations

import contextlib
import copy
import io
from typing import Dict, List, Optional, Sequence

import numpy as np
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

KEYPOINT_STAT_NAMES = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)', 'AR (L)')
CROWD_KEYPOINT_STAT_NAMES = ('AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP(E)', 'AP(M)', 'AP(H)')
BOX_STAT_NAMES = ('bbox_AP', 'bbox_AP .5', 'bbox_AP .75', 'bbox_AP (S)', 'bbox_AP (M)', 'bbox_AP (L)',
                  'bbox_AR@1', 'bbox_AR@10', 'bbox_AR', 'bbox_AR (S)', 'bbox_AR (M)', 'bbox_AR (L)')


def quiet(fn, *args, **kwargs):
    """Call a cocoapi function without its progress prints on stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def run_cocoeval(coco_gt: COCO, results: List[dict], iou_type: str, img_ids: Optional[Sequence[int]] = None,
                 sigmas: Optional[np.ndarray] = None, use_area: bool = True) -> Dict[str, float]:
    """Evaluate COCO-format results against ``coco_gt`` and return the named summary stats.

    Args:
        coco_gt: ground truth index.
        results: COCO results (``image_id``, ``category_id``, ``score`` and ``keypoints`` (K x 3 flat) for
            keypoints / ``bbox`` (xywh) for boxes). Not modified.
        iou_type: 'keypoints', 'keypoints_crowd' or 'bbox'.
        img_ids: images to evaluate (default: every image of ``coco_gt``).
        sigmas: (K,) OKS sigmas (keypoint types).
        use_area: take the OKS scale from the ground truth ``area`` (else from its box).

    Returns:
        stat name -> value (COCO convention: -1 where a stat is undefined, e.g. no ground truth in a range).
    """
    if iou_type not in ('keypoints', 'keypoints_crowd', 'bbox'):
        raise ValueError(f"run_cocoeval: iou_type must be 'keypoints', 'keypoints_crowd' or 'bbox', got {iou_type!r}")
    names = dict(keypoints=KEYPOINT_STAT_NAMES, keypoints_crowd=CROWD_KEYPOINT_STAT_NAMES, bbox=BOX_STAT_NAMES)
    coco_dt = quiet(coco_gt.loadRes, copy.deepcopy(list(results)))
    kwargs = dict(sigmas=np.asarray(sigmas, np.float64), use_area=use_area) if iou_type != 'bbox' else {}
    evaluator = COCOeval(coco_gt, coco_dt, iou_type, **kwargs)
    evaluator.params.useSegm = None
    if img_ids is not None:
        evaluator.params.imgIds = sorted(int(i) for i in img_ids)
    quiet(evaluator.evaluate)
    quiet(evaluator.accumulate)
    quiet(evaluator.summarize)
    return {name: float(v) for name, v in zip(names[iou_type], evaluator.stats)}
