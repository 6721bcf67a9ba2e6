# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Predictions as plain JSON-ready dicts (the demo's JSON schema, documented in the README)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmpose.structures import PoseDataSample

COORD_DECIMALS = 2
SCORE_DECIMALS = 4


def _arr(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else np.asarray(value)


def people(sample: PoseDataSample) -> List[Dict[str, Any]]:
    """One dict per detected person, in original image pixels.

    Args:
        sample: a prediction with ``pred_instances`` holding ``bboxes`` (M, 4) xyxy, ``bbox_scores`` (M,),
            ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K) and optionally ``labels`` (M,).

    Returns:
        ``[{'bbox': [x1, y1, x2, y2], 'score': s, 'label': c, 'keypoints': [[x, y, score] * K]}, ...]``, floats
        rounded to 0.01 px and 1e-4 for scores; plus ``'track_id'`` when the instances carry ``track_ids``
        (:func:`~yolopose_mm.apis.track`).
    """
    inst = sample.pred_instances
    kpts = _arr(inst.keypoints).reshape(len(inst), -1, 2) if len(inst) else np.zeros((0, 0, 2))
    kscores = _arr(inst.keypoint_scores).reshape(kpts.shape[:2]) if len(inst) else np.zeros((0, 0))
    bboxes = _arr(inst.bboxes).reshape(-1, 4) if 'bboxes' in inst else np.zeros((len(kpts), 4))
    scores = _arr(inst.bbox_scores).reshape(-1) if 'bbox_scores' in inst else kscores.mean(axis=1)
    labels = _arr(inst.labels).reshape(-1) if 'labels' in inst else np.zeros(len(kpts), np.int64)
    track_ids = _arr(inst.track_ids).reshape(-1) if 'track_ids' in inst else None
    out = []
    for i in range(len(kpts)):
        xys = np.round(kpts[i].astype(np.float64), COORD_DECIMALS)
        ks = np.round(kscores[i].astype(np.float64), SCORE_DECIMALS)
        out.append(dict(
            bbox=[round(float(v), COORD_DECIMALS) for v in bboxes[i]],
            score=round(float(scores[i]), SCORE_DECIMALS),
            label=int(labels[i]),
            keypoints=[[float(x), float(y), float(s)] for (x, y), s in zip(xys, ks)]))
        if track_ids is not None:
            out[-1]['track_id'] = int(track_ids[i])
    return out


def _header(source: str, width: int, height: int, dataset_meta: Optional[dict]) -> Dict[str, Any]:
    names = None
    if dataset_meta and 'keypoint_id2name' in dataset_meta:
        id2name = dataset_meta['keypoint_id2name']
        names = [id2name[i] for i in sorted(id2name)]
    return dict(source=str(source), width=int(width), height=int(height), keypoint_names=names)


def image_record(sample: PoseDataSample, source: str, width: int, height: int,
                 dataset_meta: Optional[dict] = None) -> Dict[str, Any]:
    """The JSON record of one image: header (source, size, keypoint names) and ``people``."""
    return {**_header(source, width, height, dataset_meta), 'people': people(sample)}


def track_summary(frames: Sequence[List[Dict[str, Any]]],
                  frame_ids: Optional[Sequence[int]] = None) -> List[Dict[str, int]]:
    """One entry per track ID found in per-frame ``people`` lists, ordered by ID:
    ``{'track_id', 'first_frame', 'last_frame', 'frames_seen'}`` (frames_seen < last - first + 1 when the person
    was hidden or missed for a while). Frame numbers are ``frame_ids`` (default: the list positions)."""
    tracks: Dict[int, Dict[str, int]] = {}
    for i, frame_people in zip(range(len(frames)) if frame_ids is None else frame_ids, frames):
        for person in frame_people:
            tid = person.get('track_id')
            if tid is None:
                continue
            entry = tracks.setdefault(tid, dict(track_id=tid, first_frame=i, last_frame=i, frames_seen=0))
            entry['last_frame'], entry['frames_seen'] = i, entry['frames_seen'] + 1
    return [tracks[k] for k in sorted(tracks)]


def video_record(frames: Sequence[List[Dict[str, Any]]], source: str, width: int, height: int, fps: float,
                 dataset_meta: Optional[dict] = None, tracker: Optional[str] = None,
                 frame_ids: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """The JSON record of a video: header, ``fps``, ``num_frames`` and ``frames`` (one entry per frame, numbered
    by ``frame_ids``, default 0, 1, ...); with ``tracker`` (its name) also ``tracker`` and ``tracks``
    (:func:`track_summary`)."""
    ids = list(range(len(frames))) if frame_ids is None else [int(i) for i in frame_ids]
    if len(ids) != len(frames):
        raise ValueError(f'video_record: {len(ids)} frame_ids for {len(frames)} frames')
    record = {**_header(source, width, height, dataset_meta), 'fps': float(fps), 'num_frames': len(frames),
              'frames': [dict(frame=i, people=p) for i, p in zip(ids, frames)]}
    if tracker is not None:
        record.update(tracker=str(tracker), tracks=track_summary(frames, ids))
    return record
