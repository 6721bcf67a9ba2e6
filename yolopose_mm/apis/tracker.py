# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Persistent person IDs over consecutive frames with mmdet 3.3's ``ByteTracker`` / ``OCSORTTracker``."""
from __future__ import annotations

import copy
import os
import time
from typing import Any, Dict, List, Mapping, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from .track_smoothing import KeypointSmoother
from .tracker_config import TrackerSettings, load_tracker_config


def _build_mmdet_tracker(cfg: Dict[str, Any]):
    """Build the mmdet tracker (and its motion model) from mmdet's registries, whatever the current scope."""
    import mmdet.models.task_modules  # noqa: F401  (registers KalmanFilter)
    import mmdet.models.trackers  # noqa: F401  (registers ByteTracker, OCSORTTracker)
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = copy.deepcopy(dict(cfg))  # the settings may be shared (PoseTracker(settings)); mmdet may keep its dicts
    with DefaultScope.overwrite_default_scope('mmdet'):
        if cfg.get('type') == 'ByteTracker':  # mmdet's ByteTracker, its cost matrix in numpy (same matching)
            from .byte_tracker_numpy import NumpyCostByteTracker
            return NumpyCostByteTracker(**{k: v for k, v in cfg.items() if k != 'type'})
        return MODELS.build(cfg)


def _as_numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _rows_of(out_boxes: np.ndarray, out_scores: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Index into (boxes, scores) of each row the mmdet tracker returned (it returns copies of input rows,
    reordered and subset); equal rows are taken in turn."""
    same = (out_boxes[:, None, :] == boxes[None, :, :]).all(-1) & (out_scores[:, None] == scores[None, :])
    taken = np.zeros(len(boxes), bool)
    rows = np.empty(len(out_boxes), np.int64)
    for i, candidates in enumerate(same):
        free = np.flatnonzero(candidates & ~taken)
        if not len(free):
            raise RuntimeError('tracker returned a box that is not one of the detections')
        rows[i] = free[0]
        taken[free[0]] = True
    return rows


def _take(inst: InstanceData, rows: np.ndarray) -> InstanceData:
    """``inst[rows]`` (every field's rows ``rows``, copied) for fields that are numpy arrays or tensors, without
    the per-field index conversions of ``InstanceData.__getitem__``; other field types go through it."""
    fields: Dict[str, Any] = {}
    for key, value in inst.items():
        if isinstance(value, np.ndarray):
            fields[key] = value[rows]
        elif isinstance(value, torch.Tensor):
            fields[key] = value[torch.from_numpy(rows).to(value.device)]
        else:
            return inst[rows] if len(inst) else inst.clone()
    out = InstanceData(metainfo=inst.metainfo)
    out.set_data(fields)
    return out


class PoseTracker:
    """Gives the people of consecutive frames persistent IDs.

    The detections of each frame (boxes and scores of a ``PoseDataSample``) go to an mmdet tracker built from
    ``configs/trackers/<name>.py``; the keypoints follow their box. A track gets its public ID (1, 2, 3, ... in
    the order tracks are confirmed) once mmdet confirms it (``num_tentatives`` frames in a row; at once on the
    first frame), so IDs of one-frame false detections are never shown. ByteTrack runs on
    :class:`~yolopose_mm.apis.byte_tracker_numpy.NumpyCostByteTracker`: mmdet's ``ByteTracker`` with its cost
    matrix computed in numpy (the same costs and assignments, bit for bit; less overhead per frame).

    Args:
        tracker: ``'bytetrack'``, ``'ocsort'``, a tracker config file or dict (:func:`load_tracker_config`), or
            settings it already returned (a ``TrackerSettings``, used as they are: no ``smoothing`` or overrides).
        smoothing: One-Euro keypoint smoothing: None (the config's; off by default), False, True or a dict of
            ``min_cutoff``, ``beta``, ``d_cutoff``.
        fps: frames per second of the source (the smoothing filter works in seconds).
        **overrides: tracker settings, e.g. ``num_frames_retain=60``.

    Raises:
        TrackerConfigError: a bad tracker name or setting (one line).
    """

    def __init__(self, tracker: Union[str, os.PathLike, Mapping[str, Any], Config, TrackerSettings] = 'bytetrack',
                 smoothing: Any = None, fps: float = 30.0, **overrides: Any) -> None:
        if not fps > 0:
            raise ValueError(f'PoseTracker: fps must be > 0, got {fps!r}')
        if isinstance(tracker, TrackerSettings):
            if smoothing is not None or overrides:
                raise TypeError('PoseTracker: settings from load_tracker_config are used as they are; pass the '
                                'smoothing and overrides to load_tracker_config instead')
            self.settings: TrackerSettings = tracker
        else:
            self.settings = load_tracker_config(tracker, smoothing, **overrides)
        self.fps = float(fps)
        self._tracker = _build_mmdet_tracker(self.settings.tracker)
        retain_s = self.settings.tracker['num_frames_retain'] / self.fps  # filled from mmdet's default if unset
        self._smoother = KeypointSmoother(**self.settings.smoothing, max_gap_s=retain_s) \
            if self.settings.smoothing else None
        self._public: Dict[int, int] = {}  # mmdet track id -> public track id
        self.frame_id = -1
        self.tracker_seconds = 0.0  # time spent in update() (association, smoothing), for overhead reports

    @property
    def num_tracks(self) -> int:
        """Tracks confirmed so far."""
        return len(self._public)

    def update(self, sample: PoseDataSample, frame_id: int = None) -> PoseDataSample:
        """Associate one frame's people with the tracks.

        Args:
            sample: a prediction (:func:`~yolopose_mm.apis.inference`) with ``pred_instances`` holding ``bboxes``
                (M, 4) xyxy, ``bbox_scores`` (M,), ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K), ``labels``.
            frame_id: the frame's index in the source (default: the previous one + 1; gaps age the tracks).

        Returns:
            A new sample (the input is not changed): ``pred_instances`` holds the people on a confirmed track,
            ordered by ``track_ids`` (M', int64); ``untracked_instances`` the other detections (below the
            tracker's thresholds, or the first frame(s) of a track not yet confirmed); metainfo ``frame_id``.
            The instances are copies; the metainfo values and other fields are the input's own objects.
        """
        t0 = time.perf_counter()
        frame_id = self.frame_id + 1 if frame_id is None else int(frame_id)
        if frame_id <= self.frame_id:
            raise ValueError(f'PoseTracker.update: frame_id {frame_id} is not after the last one ({self.frame_id})')
        self.frame_id = frame_id
        inst = sample.pred_instances
        boxes = _as_numpy(inst.bboxes).astype(np.float32).reshape(-1, 4)  # copies: the tracker keeps its rows
        scores = _as_numpy(inst.bbox_scores).astype(np.float32).reshape(-1)
        labels = _as_numpy(inst.labels).astype(np.int64).reshape(-1) if 'labels' in inst else \
            np.zeros(len(boxes), np.int64)
        with torch.inference_mode():
            rows, ids = self._associate(boxes, scores, labels, frame_id)
        order = np.argsort(ids, kind='stable')
        rows, ids = rows[order], ids[order]
        others = np.ones(len(boxes), bool)
        others[rows] = False
        tracked = _take(inst, rows)
        tracked.track_ids = ids
        if self._smoother is not None and len(tracked):
            kpts = _as_numpy(tracked.keypoints)
            tracked.keypoints = self._smoother(ids, kpts, frame_id / self.fps).astype(kpts.dtype)
        out = PoseDataSample()
        for key, value in sample.metainfo_items():  # shared, not deep-copied (set_metainfo would copy them)
            out.set_field(value, key, field_type='metainfo')
        out.set_field(frame_id, 'frame_id', field_type='metainfo')
        for key in sample.keys():  # other fields are shared, not copied (neither sample is changed later)
            if key != 'pred_instances':
                out.set_field(getattr(sample, key), key)
        out.pred_instances = tracked
        out.untracked_instances = _take(inst, np.flatnonzero(others))
        self.tracker_seconds += time.perf_counter() - t0
        return out

    def _associate(self, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                   frame_id: int) -> "tuple[np.ndarray, np.ndarray]":
        """(rows of the detections on a confirmed track, their public IDs)."""
        from mmdet.structures import DetDataSample
        det = DetDataSample(metainfo=dict(frame_id=frame_id))
        det.pred_instances = InstanceData(bboxes=torch.from_numpy(boxes), scores=torch.from_numpy(scores),
                                          labels=torch.from_numpy(labels))
        res = self._tracker.track(det)
        out_boxes, out_scores = _as_numpy(res.bboxes).reshape(-1, 4), _as_numpy(res.scores).reshape(-1)
        mm_ids = _as_numpy(res.instances_id).reshape(-1).tolist()
        found = _rows_of(out_boxes, out_scores, boxes, scores)
        rows: List[int] = []
        ids: List[int] = []
        for row, mm_id in zip(found.tolist(), mm_ids):
            track = self._tracker.tracks.get(int(mm_id))
            if track is None or track.get('tentative', False):
                continue
            rows.append(row)
            ids.append(self._public.setdefault(int(mm_id), len(self._public) + 1))
        return np.asarray(rows, np.int64), np.asarray(ids, np.int64)
