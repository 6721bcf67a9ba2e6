# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Tracking end to end with the real yolo11n-pose weights on a synthetic clip of real people: one ID per person
(ByteTrack and OC-SORT), re-identification after the hidden frames, Ultralytics' track mode on the same clip, the
demo's --track on a video and on a (stand-in) webcam, smoothing, and the errors."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from yolopose_mm.analysis.tracking_clip import id_switches, make_tracking_clip, match_tracks

REPO = Path(__file__).resolve().parents[1]
SIZE = 320  # network input (long side) for the 640x360 clip: fast, people still ~90 px tall
PERSON_HIDDEN, FIRST_HIDDEN, LAST_HIDDEN = 1, 16, 21
# every shipped tracker config is built and run on the clip here (tests/test_configs.py leaves configs/trackers/ out)
TRACKER_CONFIGS = sorted((REPO / 'configs' / 'trackers').glob('*.py'))


@pytest.fixture(scope='module')
def clip(data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp('clip') / 'walk.mp4'
    made = make_tracking_clip(data_dir, num_frames=40, hidden=(PERSON_HIDDEN, FIRST_HIDDEN, LAST_HIDDEN), out=path)
    return made, path


@pytest.fixture(scope='module')
def model(converted_yolo11n):
    from yolopose_mm.apis import init_model
    return init_model(str(converted_yolo11n), optimize=True)


def _ids(samples):
    return [(s.pred_instances.bboxes, s.pred_instances.track_ids) for s in samples]


def _per_person(ids):
    """{person: set of track IDs it had}, {person: frames it was tracked}."""
    people = range(len(ids[0]))
    return ({p: {row[p] for row in ids if row[p] is not None} for p in people},
            {p: sum(row[p] is not None for row in ids) for p in people})


def test_tracker_config_list_is_complete():
    assert [p.stem for p in TRACKER_CONFIGS] == ['bytetrack', 'ocsort']  # each one runs in the test below


@pytest.mark.slow
@pytest.mark.parametrize('config', TRACKER_CONFIGS, ids=lambda p: p.stem)
def test_one_id_per_person_and_reidentified_after_hiding(clip, model, config):
    from yolopose_mm.apis import load_tracker_config, track
    made, path = clip
    kind = load_tracker_config(str(config)).tracker['type']
    samples = list(track(model, str(path), str(config), input_size=SIZE))
    assert [s.metainfo['frame_id'] for s in samples] == list(range(40))
    ids = match_tracks(made.boxes, _ids(samples))
    assert id_switches(ids) == 0
    per_person, tracked = _per_person(ids)
    assert all(len(v) == 1 for v in per_person.values()), per_person  # one ID each, for the whole clip
    assert len(set.union(*per_person.values())) == 3
    every_id = {int(i) for s in samples for i in s.pred_instances.track_ids}
    assert every_id == set.union(*per_person.values())  # no other track (nothing but the three people)
    hidden = PERSON_HIDDEN
    assert all(ids[t][hidden] is None for t in range(FIRST_HIDDEN, LAST_HIDDEN + 1))
    before = [row[hidden] for row in ids[:FIRST_HIDDEN] if row[hidden] is not None][-1]
    back = [row[hidden] for row in ids[LAST_HIDDEN + 1:] if row[hidden] is not None][0]
    assert back == before  # re-identified: hidden 6 frames, fewer than the 30 a lost track is kept
    visible = 40 - (LAST_HIDDEN - FIRST_HIDDEN + 1)
    if kind == 'ByteTracker':  # its second, low-score association keeps even the weak frames of a person
        assert tracked == {0: 40, 1: visible, 2: 40}
    else:  # OC-SORT matches only detections over 0.25: a weak frame is missed, never given to someone else
        assert tracked[0] >= 38 and tracked[1] >= visible - 5 and tracked[2] >= 38


@pytest.mark.slow
def test_lost_track_buffer_decides_reidentification(clip, model):
    from yolopose_mm.apis import track
    made, path = clip
    samples = list(track(model, str(path), 'bytetrack', input_size=SIZE, num_frames_retain=3, batch_size=4,
                         prefetch=False))
    ids = match_tracks(made.boxes, _ids(samples))
    before = ids[FIRST_HIDDEN - 1][PERSON_HIDDEN]
    # hidden 6 frames > 3: the lost track was dropped, so the person comes back on a new track, which waits one
    # frame for confirmation like any new track
    assert ids[LAST_HIDDEN + 1][PERSON_HIDDEN] is None
    after = ids[LAST_HIDDEN + 2][PERSON_HIDDEN]
    assert before is not None and after is not None and after != before
    assert id_switches(ids) == 1 and len({int(i) for s in samples for i in s.pred_instances.track_ids}) == 4


@pytest.mark.slow
@pytest.mark.parametrize('tracker', ['bytetrack', 'ocsort'])
def test_same_tracks_as_ultralytics_track_mode(clip, model, tracker, ultralytics, yolo11n_pose_pt):
    from ultralytics import YOLO

    from yolopose_mm.apis import track
    made, path = clip
    ours = match_tracks(made.boxes, _ids(track(model, str(path), tracker, input_size=SIZE)))
    results = YOLO(str(yolo11n_pose_pt)).track(str(path), tracker=f'{tracker}.yaml', imgsz=SIZE, stream=True,
                                               verbose=False)
    theirs = match_tracks(made.boxes, [(r.boxes.xyxy.numpy(), np.zeros(0) if r.boxes.id is None else
                                        r.boxes.id.numpy()) for r in results])
    ours_ids, ours_tracked = _per_person(ours)
    their_ids, their_tracked = _per_person(theirs)
    assert len(set.union(*ours_ids.values())) == len(set.union(*their_ids.values())) == 3  # same number of tracks
    assert id_switches(theirs) == id_switches(ours) == 0
    assert all(abs(ours_tracked[p] - their_tracked[p]) <= 1 for p in ours_tracked), (ours_tracked, their_tracked)


@pytest.mark.slow
def test_smoothing_steadies_keypoints_along_a_track(clip, model):
    from yolopose_mm.apis import track
    made, path = clip
    frames = list(made.frames[:FIRST_HIDDEN])  # everyone visible, walking straight at constant speed
    raw = list(track(model, frames, 'bytetrack', input_size=SIZE, fps=made.fps))
    smooth = list(track(model, frames, 'bytetrack', input_size=SIZE, fps=made.fps, smoothing=dict(min_cutoff=0.5)))

    def wobble(samples):  # frame-to-frame change of each keypoint's velocity (0 for straight, even motion)
        kpts = np.stack([s.pred_instances.keypoints[np.argsort(s.pred_instances.track_ids)] for s in samples])
        return float(np.abs(np.diff(kpts, n=2, axis=0)).mean())

    assert [s.pred_instances.track_ids.tolist() for s in raw] == [s.pred_instances.track_ids.tolist()
                                                                  for s in smooth]
    assert np.array_equal(raw[0].pred_instances.keypoints, smooth[0].pred_instances.keypoints)
    assert wobble(smooth) < 0.7 * wobble(raw)
    shift = np.abs(np.stack([s.pred_instances.keypoints for s in smooth])
                   - np.stack([r.pred_instances.keypoints for r in raw]))
    assert np.median(shift) < 3.0  # smoothing, not a different pose


@pytest.mark.slow
def test_two_tracks_over_one_model_at_once(clip, model):
    from yolopose_mm.apis import track
    made, _ = clip
    frames = list(made.frames[:8])
    alone = [s.pred_instances.track_ids.tolist() for s in track(model, frames, input_size=SIZE, batch_size=1)]
    a = track(model, frames, input_size=SIZE, batch_size=1, prefetch=True)  # both run the network in their
    b = track(model, frames, 'bytetrack', input_size=SIZE, batch_size=2, prefetch=True)  # background threads
    pairs = [(x.pred_instances.track_ids.tolist(), y.pred_instances.track_ids.tolist()) for x, y in zip(a, b)]
    assert len(pairs) == 8 and [p[0] for p in pairs] == [p[1] for p in pairs] == alone and alone[0] == [1, 2, 3]


@pytest.mark.slow
def test_background_thread_only_with_a_core_to_spare(clip, model, monkeypatch):
    import threading

    import torch

    from yolopose_mm.apis import tracking
    frames = list(clip[0].frames[:8])  # one frame a batch: the worker waits on its full queue, alive

    def background_thread_ran(**kwargs) -> bool:
        pairs = tracking.track_frames(model, frames, input_size=SIZE, batch_size=1, **kwargs)
        next(pairs)
        seen = any(t.name == 'yolopose-track-detect' for t in threading.enumerate())
        pairs.close()
        return seen

    monkeypatch.setattr(tracking, '_usable_cpus', lambda: torch.get_num_threads())  # every core in torch's pool
    assert not background_thread_ran() and background_thread_ran(prefetch=True)
    monkeypatch.setattr(tracking, '_usable_cpus', lambda: torch.get_num_threads() + 1)  # a core to spare
    assert background_thread_ran() and not background_thread_ran(prefetch=False)


def test_inference_builds_its_pipeline_once_per_setting(clip, model, monkeypatch):
    import weakref

    from yolopose_mm.apis import inference
    module = sys.modules['yolopose_mm.apis.inference']
    built = []
    real = module.build_inference_pipeline
    monkeypatch.setattr(module, 'build_inference_pipeline', lambda *a, **k: built.append(k) or real(*a, **k))
    monkeypatch.setattr(module, '_PIPELINES', weakref.WeakKeyDictionary())
    frame = clip[0].frames[0]
    first, again = (inference(model, frame, input_size=SIZE) for _ in range(2))
    small = inference(model, frame, input_size=256)
    inference(model, [frame, frame], input_size=SIZE, rect=True)
    assert [(k['auto'], k['input_size']) for k in built] == [(True, SIZE), (True, 256)]
    assert np.array_equal(first.pred_instances.keypoints, again.pred_instances.keypoints)
    assert small.metainfo['input_size'] != first.metainfo['input_size']


@pytest.mark.slow
def test_image_sequence_source_and_unreadable_frames(clip, model, tmp_path):
    from yolopose_mm.apis import track
    made, _ = clip
    for i, frame in enumerate(made.frames[:6]):
        cv2.imwrite(str(tmp_path / f'{i:03d}.jpg'), frame)
    (tmp_path / '003.jpg').write_bytes(b'not a jpeg')
    with pytest.warns(UserWarning, match='frame 3 skipped: cannot read image'):
        samples = list(track(model, str(tmp_path), input_size=SIZE))
    assert [s.metainfo['frame_id'] for s in samples] == [0, 1, 2, 4, 5]
    assert samples[0].metainfo['img_path'].endswith('000.jpg')
    assert [len(s.pred_instances) for s in samples] == [3] * 5


# -- the demo --------------------------------------------------------------------------------------------------
def _demo():
    spec = importlib.util.spec_from_file_location('yolopose_demo_tool_track', REPO / 'tools' / 'demo.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_record(rec, frames):
    assert rec['tracker'] == 'bytetrack' and rec['num_frames'] == frames and len(rec['frames']) == frames
    assert all('track_id' in p for f in rec['frames'] for p in f['people'])
    summary = {t['track_id']: t for t in rec['tracks']}
    assert len(summary) == 3
    for tid, entry in summary.items():
        seen = [f['frame'] for f in rec['frames'] if any(p['track_id'] == tid for p in f['people'])]
        assert (entry['first_frame'], entry['last_frame'], entry['frames_seen']) == (seen[0], seen[-1], len(seen))
    return summary


@pytest.mark.slow
def test_demo_track_video_draws_ids_and_writes_json(clip, converted_yolo11n, tmp_path, capsys):
    made, path = clip
    code = _demo().main([str(path), '--track', 'bytetrack', '--checkpoint', str(converted_yolo11n), '--out-dir',
                         str(tmp_path), '--save-json', '--input-size', str(SIZE)])
    out = capsys.readouterr().out
    assert code == 0 and '3 track(s) (bytetrack)' in out, out
    summary = _check_record(json.loads((tmp_path / 'walk.json').read_text()), 40)
    hidden_frames = LAST_HIDDEN - FIRST_HIDDEN + 1
    assert sorted(t['frames_seen'] for t in summary.values()) == [40 - hidden_frames, 40, 40]
    from yolopose_mm.apis import VideoReader
    from yolopose_mm.visualization import track_color
    with VideoReader(str(tmp_path / 'walk.mp4')) as reader:
        drawn = list(reader)
    assert len(drawn) == 40
    rec = json.loads((tmp_path / 'walk.json').read_text())
    for person in rec['frames'][0]['people']:  # the box of each person is drawn in the colour of its ID
        x1, y1, x2, y2 = (int(round(v)) for v in person['bbox'])
        edge = cv2.cvtColor(drawn[0], cv2.COLOR_BGR2RGB)[y1 + 20:y2 - 20, x1 - 1:x1 + 2].reshape(-1, 3).astype(int)
        assert (np.abs(edge - track_color(person['track_id'])).sum(-1) < 60).mean() > 0.5, person['track_id']


@pytest.mark.slow
def test_demo_track_webcam(clip, converted_yolo11n, tmp_path, capsys, monkeypatch):
    """No camera on the test machine: OpenCV's capture of index 0 is pointed at the clip; everything after the
    capture (the demo's webcam path, tracking, drawing, JSON) is the real code."""
    made, path = clip
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, 'VideoCapture', lambda src, *a: real_capture(str(path) if src == 0 else src, *a))
    code = _demo().main(['0', '--track', 'bytetrack', '--checkpoint', str(converted_yolo11n), '--out-dir',
                         str(tmp_path), '--save-json', '--input-size', str(SIZE)])
    assert code == 0, capsys.readouterr()
    rec = json.loads((tmp_path / 'webcam_0.json').read_text())
    assert rec['source'] == '0'
    _check_record(rec, 40)


@pytest.mark.parametrize('argv, message', [
    (['--track', 'botsort'], "error: unknown tracker 'botsort'; choose bytetrack or ocsort, or give a tracker "
                             'config file (see configs/trackers/)'),
    (['--track', 'bytetrack', '--track-cfg', 'num_frames_retain=-1'],
     'error: bytetrack setting num_frames_retain must be a whole number >= 1, got -1'),
    (['--track', 'ocsort', '--track-cfg', 'buffer=30'], "error: unknown ocsort setting(s) ['buffer']; valid: "),
    (['--track', 'bytetrack', '--track-cfg', 'num_frames_retain'],
     "error: --track-cfg expects KEY=VALUE, got 'num_frames_retain'"),
    (['--track', 'bytetrack', '--smooth', 'beta=-1'], 'error: smoothing setting beta must be a number >= 0, got -1'),
    (['--smooth'], 'error: --track-cfg and --smooth need --track bytetrack|ocsort'),
])
def test_demo_bad_tracker_arguments_are_one_line(clip, tmp_path, capsys, argv, message):
    _, path = clip
    code = _demo().main([str(path), '--out-dir', str(tmp_path), *argv])  # fails before the model is loaded
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith(message), lines


def test_demo_bad_tracker_name_cli_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'demo.py'), '0', '--track', 'sort', '--out-dir',
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 1 and lines == ["error: unknown tracker 'sort'; choose bytetrack or ocsort, or give a "
                                              'tracker config file (see configs/trackers/)'], proc.stderr
