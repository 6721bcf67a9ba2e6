# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""How closely an INT8 model's people follow the same model's fp32 people, for ``benchmark_formats.py``.

Keypoint AP on a handful of annotated images cannot rank two INT8 models (last session both scored above their fp32
model on 4 images). Agreement with the fp32 predictions needs no annotations, so every image counts, and it is
measured on every keypoint of every person: fp32 people (score >= 0.25) are matched one to one to the INT8 model's
people (score >= 0.25) by box IoU >= 0.5 (greedy, highest IoU first), and per image set we report

* ``matched``: the share of fp32 people the INT8 model finds (and ``extra``: INT8 people with no fp32 match);
* ``oks``: the mean OKS of matched pairs (COCO sigmas, the fp32 box area as the scale; 1 = identical);
* ``px``: the mean keypoint displacement in image pixels over the matched pairs' keypoints that fp32 scores >= 0.5.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np

COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]).clip(0) * (x[:, 3] - x[:, 1]).clip(0)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def _keep(inst, score: float):
    s = np.asarray(inst.bbox_scores)
    k = s >= score
    return (np.asarray(inst.bboxes)[k].reshape(-1, 4), np.asarray(inst.keypoints)[k],
            np.asarray(inst.keypoint_scores)[k])


def match_people(ref, other, score: float = 0.25, iou: float = 0.5) -> Dict[str, List]:
    """Per-pair OKS and keypoint displacements between ``ref`` (fp32) and ``other`` (INT8) people of one image."""
    rb, rk, rs = _keep(ref, score)
    ob, ok, _ = _keep(other, score)
    out = dict(ref=len(rb), other=len(ob), oks=[], px=[], matched=0)
    if not len(rb) or not len(ob):
        return out
    ious = _iou(rb, ob)
    used_r, used_o = set(), set()
    for flat in np.argsort(-ious, axis=None):
        i, j = np.unravel_index(flat, ious.shape)
        if ious[i, j] < iou:
            break
        if i in used_r or j in used_o:
            continue
        used_r.add(i)
        used_o.add(j)
        d2 = ((rk[i] - ok[j]) ** 2).sum(-1)
        area = max((rb[i, 2] - rb[i, 0]) * (rb[i, 3] - rb[i, 1]), 1.0)
        sig = COCO_SIGMAS if rk.shape[1] == len(COCO_SIGMAS) else np.full(rk.shape[1], COCO_SIGMAS.mean())
        out['oks'].append(float(np.exp(-d2 / (2 * area * (2 * sig) ** 2)).mean()))
        vis = rs[i] >= 0.5
        out['px'].extend(np.sqrt(d2[vis]).tolist())
    out['matched'] = len(used_r)
    return out


def agreement(predict_ref: Callable[[str], object], predict_other: Callable[[str], object],
              images: Sequence[str]) -> Dict[str, float]:
    """Agreement of ``predict_other`` with ``predict_ref`` (image path -> people in image pixels) over ``images``."""
    ref = matched = other = 0
    oks: List[float] = []
    px: List[float] = []
    for path in images:
        m = match_people(predict_ref(path), predict_other(path))
        ref, matched, other = ref + m['ref'], matched + m['matched'], other + m['other']
        oks.extend(m['oks'])
        px.extend(m['px'])
    return dict(images=len(images), people=ref, keypoints=len(px), matched=matched / max(ref, 1),
                extra=other - matched, oks=float(np.mean(oks)) if oks else float('nan'),
                px=float(np.mean(px)) if px else float('nan'))


__all__ = ['COCO_SIGMAS', 'match_people', 'agreement']
