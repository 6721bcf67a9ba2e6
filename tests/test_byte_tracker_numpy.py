# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""NumpyCostByteTracker = mmdet's ByteTracker: the same cost matrices, assignments and tracks, frame by frame."""
from __future__ import annotations

import lap
import numpy as np
import pytest
import torch
from mmdet.models.trackers import ByteTracker
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from yolopose_mm.apis.byte_tracker_numpy import NumpyCostByteTracker
from yolopose_mm.apis.tracker import _build_mmdet_tracker
from yolopose_mm.apis.tracker_config import load_tracker_config


def _trackers():
    cfg = load_tracker_config('bytetrack').tracker
    ours = _build_mmdet_tracker(cfg)
    import mmdet.models.trackers  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        theirs = MODELS.build(cfg)
    assert type(ours) is NumpyCostByteTracker and type(theirs) is ByteTracker
    return ours, theirs


def _frames(rng, num_frames=40, people=6):
    """Random people (two classes) walking, with noisy scores; some frames drop people or have none."""
    start = rng.uniform(0, 500, (people, 2))
    speed = rng.normal(0, 6, (people, 2))
    size = rng.uniform(30, 160, (people, 2))
    labels = rng.integers(0, 2, people)
    for t in range(num_frames):
        keep = rng.random(people) > 0.2 if t % 9 else np.zeros(people, bool)
        xy = start + speed * t + rng.normal(0, 2, (people, 2))
        boxes = np.concatenate([xy, xy + size], 1)[keep].astype(np.float32)
        scores = rng.uniform(0.05, 1.0, people)[keep].astype(np.float32)
        order = rng.permutation(int(keep.sum()))
        yield t, boxes[order], scores[order], labels[keep][order].astype(np.int64)


def _sample(t, boxes, scores, labels) -> DetDataSample:
    det = DetDataSample(metainfo=dict(frame_id=t))
    det.pred_instances = InstanceData(bboxes=torch.from_numpy(boxes), scores=torch.from_numpy(scores),
                                      labels=torch.from_numpy(labels))
    return det


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_same_costs_assignments_and_tracks_as_mmdet(seed, monkeypatch):
    costs = []
    real = lap.lapjv

    def recording(cost, **kwargs):
        costs.append((np.array(cost), kwargs))
        return real(cost, **kwargs)

    monkeypatch.setattr(lap, 'lapjv', recording)
    ours, theirs = _trackers()
    rng = np.random.default_rng(seed)
    compared = 0
    with torch.inference_mode():
        for t, boxes, scores, labels in _frames(rng):
            if ours.tracks:  # assign_ids on the same state, every kind of call track() makes
                det = _sample(t, boxes, scores, labels).pred_instances
                for ids in (ours.confirmed_ids, ours.unconfirmed_ids, list(ours.tracks)):
                    for weight, thr in ((True, 0.2), (False, 0.5), (True, 0.7)):
                        costs.clear()
                        mine = ours.assign_ids(ids, det.bboxes, det.labels, det.scores, weight, thr)
                        ref = ByteTracker.assign_ids(ours, ids, det.bboxes, det.labels, det.scores, weight, thr)
                        for a, b in zip(mine, ref):
                            assert a.dtype == b.dtype and np.array_equal(a, b)
                        if costs:  # both ran lapjv: same cost matrix (bit for bit) and limit
                            assert len(costs) == 2 and costs[0][1] == costs[1][1]
                            assert costs[0][0].dtype == costs[1][0].dtype
                            assert np.array_equal(costs[0][0], costs[1][0])
                            compared += 1
            out_ours = ours.track(_sample(t, boxes, scores, labels))
            out_theirs = theirs.track(_sample(t, boxes, scores, labels))
            for key in ('bboxes', 'scores', 'labels', 'instances_id'):
                assert torch.equal(out_ours.get(key), out_theirs.get(key)), (t, key)
            assert sorted(ours.tracks) == sorted(theirs.tracks)
            for i in ours.tracks:
                assert ours.tracks[i].tentative == theirs.tracks[i].tentative
                assert np.array_equal(ours.tracks[i].mean, theirs.tracks[i].mean)
    assert compared > 50 and ours.num_tracks > 6


def test_helpers_match_mmdet_bbox_functions():
    from mmdet.structures.bbox import bbox_cxcyah_to_xyxy, bbox_overlaps

    from yolopose_mm.apis.byte_tracker_numpy import cxcyah_to_xyxy, iou_matrix
    rng = np.random.default_rng(3)
    xyah = np.concatenate([rng.uniform(0, 600, (7, 2)), rng.uniform(0.2, 2, (7, 1)), rng.uniform(5, 300, (7, 1))],
                          1).astype(np.float32)
    assert np.array_equal(cxcyah_to_xyxy(xyah), bbox_cxcyah_to_xyxy(torch.from_numpy(xyah)).numpy())
    a = cxcyah_to_xyxy(xyah)
    b = np.concatenate([a[:4] + rng.normal(0, 20, (4, 4)).astype(np.float32), [[5, 5, 5, 5]]]).astype(np.float32)
    assert np.array_equal(iou_matrix(a, b), bbox_overlaps(torch.from_numpy(a), torch.from_numpy(b)).numpy())
    assert iou_matrix(a[:0], b).shape == (0, 5)
