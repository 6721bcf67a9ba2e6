# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Tracking pieces without a network: settings and their errors, PoseTracker on mmdet's real trackers fed with
hand-made detections, One-Euro smoothing, JSON records and drawing."""
from __future__ import annotations

import copy
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from yolopose_mm.apis import (KeypointSmoother, PoseTracker, TrackerConfigError, load_tracker_config, people,
                              track_summary, video_record)

K = 17
REPO = Path(__file__).resolve().parents[1]


def _sample(boxes, scores, keypoint_offset=0.0) -> PoseDataSample:
    """People whose 17 keypoints sit on a grid inside their box (so a keypoint tells whose it is)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    grid = np.linspace(0.1, 0.9, K, dtype=np.float32)
    kpts = np.stack([boxes[:, 0:1] + grid * (boxes[:, 2:3] - boxes[:, 0:1]),
                     boxes[:, 1:2] + grid * (boxes[:, 3:4] - boxes[:, 1:2])], -1) + keypoint_offset
    inst = InstanceData(bboxes=boxes, bbox_scores=np.asarray(scores, np.float32), keypoints=kpts,
                        keypoint_scores=np.full((len(boxes), K), 0.9, np.float32),
                        labels=np.zeros(len(boxes), np.int64))
    return PoseDataSample(pred_instances=inst)


def _walk(t, x0, y0, vx, vy, w=60.0, h=150.0):
    x, y = x0 + vx * t, y0 + vy * t
    return [x, y, x + w, y + h]


# -- settings -------------------------------------------------------------------------------------------------
def test_shipped_configs_load_with_ultralytics_defaults():
    byte = load_tracker_config('bytetrack')
    assert byte.tracker['type'] == 'ByteTracker' and byte.smoothing is None
    assert byte.tracker['obj_score_thrs'] == {'high': 0.25, 'low': 0.1}
    assert byte.tracker['num_frames_retain'] == 30 and byte.detect_score_thr == pytest.approx(0.1)
    oc = load_tracker_config('ocsort')
    assert oc.tracker['type'] == 'OCSORTTracker' and oc.detect_score_thr == pytest.approx(0.25)


def test_overrides_merge_nested_and_dotted_without_touching_the_callers_dict():
    high = dict(high=0.5)
    cfg = load_tracker_config('bytetrack', obj_score_thrs=high, num_frames_retain=5,
                              **{'match_iou_thrs.low': 0.4})
    assert cfg.tracker['obj_score_thrs'] == {'high': 0.5, 'low': 0.1}
    assert cfg.tracker['match_iou_thrs'] == {'high': 0.2, 'low': 0.4, 'tentative': 0.3}
    assert cfg.tracker['num_frames_retain'] == 5 and high == dict(high=0.5)
    body = dict(type='ByteTracker', obj_score_thrs=dict(high=0.3, low=0.2), init_track_thr=0.4,
                match_iou_thrs=dict(high=0.1, low=0.5, tentative=0.3))
    before = copy.deepcopy(body)
    from_dict = load_tracker_config(body, smoothing=dict(beta=0.1))
    assert body == before and from_dict.detect_score_thr == pytest.approx(0.2)
    assert from_dict.smoothing == {'min_cutoff': 1.0, 'beta': 0.1, 'd_cutoff': 1.0}
    bare = load_tracker_config(dict(type='ByteTracker'))  # what a config leaves out is mmdet's own default
    assert bare.tracker['obj_score_thrs'] == {'high': 0.6, 'low': 0.1} and bare.tracker['num_frames_retain'] == 10
    assert bare.tracker['num_tentatives'] == 3 and bare.tracker['motion'] == {'type': 'KalmanFilter'}
    assert load_tracker_config(dict(type='OCSORTTracker')).tracker['vel_delta_t'] == 3


@pytest.mark.parametrize('args, kwargs, message', [
    (('botsort',), {}, "unknown tracker 'botsort'; choose bytetrack or ocsort, or give a tracker config file"),
    (('missing.py',), {}, 'tracker config not found: missing.py'),
    ((dict(type='StrongSORTTracker'),), {}, "tracker type 'StrongSORTTracker' is not supported"),
    (('bytetrack',), dict(track_buffer=30), "unknown bytetrack setting(s) ['track_buffer']; valid: "),
    (('bytetrack',), dict(obj_score_thrs=0.5), "unknown bytetrack setting(s) ['obj_score_thrs']"),
    (('ocsort',), dict(obj_score_thrs=dict(high=0.5)), "unknown ocsort setting(s) ['obj_score_thrs.high']"),
    (('bytetrack',), dict(num_frames_retain=0), 'bytetrack setting num_frames_retain must be a whole number >= 1'),
    (('bytetrack',), dict(num_frames_retain='30'), "num_frames_retain must be a whole number >= 1, got '30'"),
    (('bytetrack',), dict(obj_score_thrs=dict(high=1.5)), 'obj_score_thrs.high must be a number within [0, 1]'),
    (('bytetrack',), dict(obj_score_thrs=dict(low=0.5, high=0.3)), 'obj_score_thrs.low (0.5) must not exceed'),
    (('bytetrack',), dict(weight_iou_with_det_scores=1), 'weight_iou_with_det_scores must be True or False'),
    (('ocsort',), dict(motion='kalman'), "motion must be an mmdet motion config such as dict(type='KalmanFilter')"),
    (('bytetrack',), dict(smoothing=dict(gamma=1)), "unknown smoothing setting(s) ['gamma']"),
    (('bytetrack',), dict(smoothing=dict(min_cutoff=0)), 'smoothing setting min_cutoff must be a number > 0'),
    ((42,), {}, 'tracker must be a name (bytetrack or ocsort), a tracker config file or a dict, got int'),
    ((dict(tracker='ByteTracker'),), {}, "'tracker' must be a dict(type=...), got 'ByteTracker'"),
])
def test_bad_names_and_settings_are_one_line(args, kwargs, message):
    with pytest.raises(TrackerConfigError) as err:
        load_tracker_config(*args, **kwargs)
    text = str(err.value)
    assert message in text and '\n' not in text


def test_user_config_file(tmp_path):
    cfg = tmp_path / 'mine.py'
    cfg.write_text(f"_base_ = '{REPO / 'configs' / 'trackers' / 'bytetrack.py'}'\n"
                   'tracker = dict(num_frames_retain=90)\nsmoothing = dict(enabled=True, beta=0.05)\n')
    settings = load_tracker_config(str(cfg))
    assert settings.name == 'mine' and settings.tracker['num_frames_retain'] == 90
    assert settings.smoothing == {'min_cutoff': 1.0, 'beta': 0.05, 'd_cutoff': 1.0}
    assert load_tracker_config(str(cfg), smoothing=False).smoothing is None
    assert load_tracker_config('bytetrack', smoothing=True).smoothing == {'min_cutoff': 1.0, 'beta': 0.01,
                                                                          'd_cutoff': 1.0}
    assert load_tracker_config('bytetrack', smoothing=dict(enabled=False, beta=2.0)).smoothing is None
    (tmp_path / 'broken.py').write_text('tracker = dict(\n')
    with pytest.raises(TrackerConfigError, match='cannot read tracker config .*broken.py'):
        load_tracker_config(str(tmp_path / 'broken.py'))


# -- PoseTracker with mmdet's trackers --------------------------------------------------------------------------
@pytest.mark.parametrize('name', ['bytetrack', 'ocsort'])
def test_ids_persist_keypoints_follow_and_a_hidden_person_comes_back(name):
    tracker = PoseTracker(name)
    hidden = range(10, 16)
    seen = []
    for t in range(30):
        boxes = [_walk(t, 20, 50, 6, 0), _walk(t, 400, 60, -5, 1)]
        if t in hidden:
            boxes = boxes[:1]
        # the order of detections changes every frame: IDs must not depend on it
        order = [1, 0] if t % 2 and len(boxes) == 2 else list(range(len(boxes)))
        sample = _sample([boxes[i] for i in order], [0.9, 0.8][:len(boxes)])
        out = tracker.update(sample)
        inst = out.pred_instances
        assert out.metainfo['frame_id'] == t and list(inst.track_ids) == sorted(inst.track_ids)
        for box, kpts in zip(inst.bboxes, inst.keypoints):  # keypoints travel with their own box
            assert box[0] <= kpts[:, 0].min() and kpts[:, 0].max() <= box[2]
        seen.append({int(i): float(b[0]) for i, b in zip(inst.track_ids, inst.bboxes)})
    assert tracker.num_tracks == 2
    assert all(min(f, key=f.get) == 1 for f in seen if len(f) == 2)  # ID 1 stays the person on the left
    assert all(set(f) == {1} for f in seen[10:16]) and all(set(f) == {1, 2} for f in seen[16:])


def test_short_buffer_gives_a_new_id_after_the_gap():
    tracker = PoseTracker('bytetrack', num_frames_retain=3)
    ids = []
    for t in range(20):
        boxes = [_walk(t, 20, 50, 6, 0)] + ([] if 8 <= t < 14 else [_walk(t, 400, 60, -5, 1)])
        ids.append(tracker.update(_sample(boxes, [0.9] * len(boxes))).pred_instances.track_ids.tolist())
    assert ids[7] == [1, 2] and ids[19] == [1, 3] and tracker.num_tracks == 3


def test_tracker_takes_loaded_settings_as_they_are():
    settings = load_tracker_config('bytetrack', num_frames_retain=3)
    loaded, named = PoseTracker(settings), PoseTracker('bytetrack', num_frames_retain=3)
    assert loaded.settings is settings and named.settings == settings
    for t in range(20):
        boxes = [_walk(t, 20, 50, 6, 0)] + ([] if 8 <= t < 14 else [_walk(t, 400, 60, -5, 1)])
        ids = [tr.update(_sample(boxes, [0.9] * len(boxes))).pred_instances.track_ids.tolist()
               for tr in (loaded, named)]
        assert ids[0] == ids[1]
    assert ids[0] == [1, 3]
    with pytest.raises(TypeError, match='used as they are'):
        PoseTracker(settings, num_frames_retain=5)


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='glibc malloc settings')
def test_retain_freed_memory_keeps_a_freed_large_block_in_the_heap():
    code = ('import ctypes, sys\n'
            'from yolopose_mm.apis.cpu_memory import retain_freed_memory\n'
            'applied = [retain_freed_memory() for _ in range(2)] if sys.argv[1] == "1" else []\n'
            'class Info(ctypes.Structure):\n'
            '    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks '
            'uordblks fordblks keepcost".split()]\n'
            'libc = ctypes.CDLL("libc.so.6")\n'
            'libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, (ctypes.c_void_p,)\n'
            'libc.mallinfo2.restype = Info\n'
            'block = libc.malloc(16 << 20)\n'
            'libc.free(block)\n'
            'print(applied, libc.mallinfo2().fordblks >= 16 << 20)\n')
    env = {**os.environ, 'YOLOPOSE_RETAIN_MEMORY': '1'}
    run = [sys.executable, '-c', code]
    assert subprocess.run(run + ['1'], capture_output=True, text=True, env=env, check=True).stdout.split('\n')[0] \
        == '[True, True] True'  # the 16 MB block stayed in the heap for the next frame
    assert subprocess.run(run + ['0'], capture_output=True, text=True, env=env, check=True).stdout.split('\n')[0] \
        == '[] False'  # glibc's default: mapped from the kernel and given back when freed
    env['YOLOPOSE_RETAIN_MEMORY'] = '0'
    assert subprocess.run(run + ['1'], capture_output=True, text=True, env=env, check=True).stdout.split('\n')[0] \
        == '[False, False] False'


def test_new_people_wait_for_confirmation_and_weak_detections_are_kept_aside():
    tracker = PoseTracker('bytetrack')
    first = tracker.update(_sample([_walk(0, 20, 50, 6, 0)], [0.9]))
    assert first.pred_instances.track_ids.tolist() == [1]  # frame 0: confirmed at once (as Ultralytics)
    late = tracker.update(_sample([_walk(1, 20, 50, 6, 0), _walk(1, 400, 60, 0, 0)], [0.9, 0.9]))
    assert late.pred_instances.track_ids.tolist() == [1] and len(late.untracked_instances) == 1
    confirmed = tracker.update(_sample([_walk(2, 20, 50, 6, 0), _walk(2, 400, 60, 0, 0)], [0.9, 0.9]))
    assert confirmed.pred_instances.track_ids.tolist() == [1, 2]
    weak = tracker.update(_sample([_walk(3, 20, 50, 6, 0), _walk(3, 400, 60, 0, 0), [200, 200, 260, 350]],
                                  [0.9, 0.9, 0.15]))
    assert weak.pred_instances.track_ids.tolist() == [1, 2] and len(weak.untracked_instances) == 1
    empty = tracker.update(_sample(np.zeros((0, 4)), []))
    assert len(empty.pred_instances) == 0 and empty.pred_instances.track_ids.shape == (0,)
    with pytest.raises(ValueError, match='frame_id 2 is not after the last one'):
        tracker.update(_sample([_walk(0, 20, 50, 6, 0)], [0.9]), frame_id=2)


def test_smoothing_changes_keypoints_only_when_on():
    rng = np.random.default_rng(0)
    raw, smooth = PoseTracker('bytetrack'), PoseTracker('bytetrack', smoothing=True, fps=30)
    jitter = {'raw': [], 'smooth': []}
    for t in range(40):
        sample = _sample([[100, 100, 160, 250]], [0.9], keypoint_offset=rng.normal(0, 2.0, (1, K, 2)))
        given = sample.pred_instances.keypoints.copy()
        jitter['raw'].append(raw.update(sample).pred_instances.keypoints[0])
        jitter['smooth'].append(smooth.update(sample).pred_instances.keypoints[0])
        assert np.array_equal(sample.pred_instances.keypoints, given)  # the caller's sample is not changed
    spread = {k: np.std(np.stack(v[10:]), axis=0).mean() for k, v in jitter.items()}
    assert spread['smooth'] < 0.5 * spread['raw']


# -- One-Euro filter ----------------------------------------------------------------------------------------------
def test_one_euro_smooths_still_points_and_follows_fast_ones():
    rng = np.random.default_rng(1)
    still = KeypointSmoother(min_cutoff=1.0, beta=0.0)
    noisy = 50 + rng.normal(0, 3, (60, 1, 1, 2))
    out = np.stack([still(np.array([7]), noisy[t], t / 30) for t in range(60)])
    assert np.array_equal(out[0], noisy[0].astype(np.float32))  # a track's first frame is passed through
    assert out[20:].std() < 0.3 * noisy[20:].std()
    ramp = np.arange(60, dtype=np.float64)[:, None, None, None].repeat(2, -1) * 10.0  # 300 px/s
    lag = {}
    for beta in (0.0, 0.05):
        f = KeypointSmoother(min_cutoff=1.0, beta=beta)
        res = np.stack([f(np.array([1]), ramp[t], t / 30) for t in range(60)])
        lag[beta] = float(np.abs(res[-1] - ramp[-1]).max())
    assert lag[0.05] < 0.3 * lag[0.0]  # beta lets a fast keypoint through
    gap = KeypointSmoother(max_gap_s=0.5)
    gap(np.array([1]), np.zeros((1, 1, 2)), 0.0)
    assert np.array_equal(gap(np.array([1]), np.full((1, 1, 2), 99.0), 2.0), np.full((1, 1, 2), 99.0, np.float32))
    with pytest.raises(ValueError, match='min_cutoff > 0'):
        KeypointSmoother(min_cutoff=0)


# -- JSON records --------------------------------------------------------------------------------------------------
def test_people_track_id_and_track_summary():
    sample = _sample([[0, 0, 10, 20], [30, 0, 40, 20]], [0.9, 0.8])
    assert 'track_id' not in people(sample)[0]
    sample.pred_instances.track_ids = np.array([3, 5])
    assert [p['track_id'] for p in people(sample)] == [3, 5]
    frames = [[{'track_id': 1}], [{'track_id': 1}, {'track_id': 2}], [], [{'track_id': 2}, {'track_id': 1}]]
    assert track_summary(frames) == [dict(track_id=1, first_frame=0, last_frame=3, frames_seen=3),
                                     dict(track_id=2, first_frame=1, last_frame=3, frames_seen=2)]
    rec = video_record(frames, 'v.mp4', 64, 48, 25.0, tracker='bytetrack', frame_ids=[0, 1, 5, 6])
    assert rec['tracker'] == 'bytetrack' and [f['frame'] for f in rec['frames']] == [0, 1, 5, 6]
    assert rec['tracks'][0] == dict(track_id=1, first_frame=0, last_frame=6, frames_seen=3)
    assert 'tracks' not in video_record(frames, 'v.mp4', 64, 48, 25.0)
    with pytest.raises(ValueError, match='2 frame_ids for 4 frames'):
        video_record(frames, 'v.mp4', 64, 48, 25.0, frame_ids=[0, 1])


# -- drawing -------------------------------------------------------------------------------------------------------
def test_draw_tracks_uses_the_colour_of_each_id():
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    from yolopose_mm.visualization import draw_pose, draw_tracks, track_color
    meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    frame = np.full((200, 300, 3), 40, np.uint8)
    sample = _sample([[20, 20, 120, 180], [160, 30, 260, 190]], [0.9, 0.9])
    plain = draw_pose(frame, sample, meta)
    sample.pred_instances.track_ids = np.array([1, 4])
    rgb = draw_tracks(frame, sample, meta)
    for (x1, y1, x2, y2), tid in zip(sample.pred_instances.bboxes.astype(int), (1, 4)):
        edge = rgb[y1 + 30:y2 - 10, x2 - 1:x2 + 2].reshape(-1, 3)  # the box's right edge
        assert (np.abs(edge.astype(int) - track_color(tid)).sum(-1) < 30).any(), tid
    assert np.array_equal(plain, draw_pose(frame, sample, meta))  # the shared visualizer has its colours back
    del sample.pred_instances.track_ids
    with pytest.raises(ValueError, match='no track_ids'):
        draw_tracks(frame, sample, meta)
