# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/demo.py end to end with the real yolo11n-pose weights: images, folders, videos and bad inputs."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _demo_module():
    spec = importlib.util.spec_from_file_location('yolopose_demo_tool', REPO / 'tools' / 'demo.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def demo():
    return _demo_module()


def _run(demo, capsys, *argv):
    code = demo.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    return lines[0]


def make_coco8_video(data_dir: Path, path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    from yolopose_mm.apis import write_video
    images = [cv2.resize(cv2.imread(str(p)), (640, 480))
              for p in sorted((data_dir / 'coco8-pose' / 'images').glob('*/*.jpg'))]
    assert len(images) == 8
    assert write_video((images[i % len(images)] for i in range(frames)), path, fps) == frames
    return path


@pytest.mark.slow
def test_bus_drawing_has_a_skeleton_on_every_person(demo, capsys, tmp_path, data_dir, converted_yolo11n,
                                                    ultralytics, yolo11n_pose_pt):
    from ultralytics import YOLO
    bus = data_dir / 'images' / 'bus.jpg'
    code, out, _ = _run(demo, capsys, bus, '--checkpoint', converted_yolo11n, '--out-dir', tmp_path, '--save-json')
    assert code == 0, out
    ref = YOLO(str(yolo11n_pose_pt)).predict(str(bus), conf=0.25, iou=0.7, verbose=False)[0]
    rec = json.loads((tmp_path / 'bus.json').read_text())
    assert len(rec['people']) == len(ref.boxes) >= 4  # every person Ultralytics finds
    assert (rec['width'], rec['height']) == (810, 1080) and len(rec['keypoint_names']) == 17
    drawn, original = cv2.imread(str(tmp_path / 'bus.jpg')), cv2.imread(str(bus))
    assert drawn.shape == original.shape
    changed = np.abs(drawn.astype(int) - original.astype(int)).sum(-1) > 60  # well above JPEG noise
    ref_kpts = ref.keypoints.data.numpy()  # (N, 17, 3), image pixels
    for person, ref_person in zip(rec['people'], ref_kpts[np.argsort(-ref.boxes.conf.numpy())]):
        kp = np.array(person['keypoints'])
        np.testing.assert_allclose(kp[:, :2], ref_person[:, :2], atol=0.5)
        visible = kp[kp[:, 2] > 0.3]
        assert len(visible) >= 3
        for x, y, _ in visible:  # every drawn keypoint changed the pixels under it
            xi, yi = int(round(x)), int(round(y))
            if 0 <= xi < drawn.shape[1] and 0 <= yi < drawn.shape[0]:
                assert changed[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2].any(), (x, y)
    # the skeleton: pixels along the link between the two shoulders changed too
    kp = np.array(rec['people'][0]['keypoints'])
    (x0, y0, _), (x1, y1, _) = kp[5], kp[6]
    mid = (int((x0 + x1) / 2), int((y0 + y1) / 2))
    assert changed[mid[1] - 1:mid[1] + 2, mid[0] - 1:mid[0] + 2].any()
    assert changed.mean() < 0.2  # drawing, not a different picture


@pytest.mark.slow
def test_video_gives_mp4_with_same_frames_and_json_per_frame(demo, capsys, tmp_path, data_dir, converted_yolo11n):
    video = make_coco8_video(data_dir, tmp_path / 'coco8.mp4', frames=30, fps=10)
    out_dir = tmp_path / 'out'
    code, out, err = _run(demo, capsys, video, '--checkpoint', converted_yolo11n, '--out-dir', out_dir,
                          '--save-json', '--batch-size', '4')
    assert code == 0, err
    assert 'frame/s' in err  # the progress bar reports frames per second
    cap = cv2.VideoCapture(str(out_dir / 'coco8.mp4'))
    n_read = 0
    while cap.read()[0]:
        n_read += 1
    assert n_read == 30 and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10)
    rec = json.loads((out_dir / 'coco8.json').read_text())
    assert rec['num_frames'] == 30 and [f['frame'] for f in rec['frames']] == list(range(30))
    assert (rec['width'], rec['height'], rec['fps']) == (640, 480, 10)
    assert sum(len(f['people']) for f in rec['frames']) > 30
    # each JSON entry is the prediction for that frame, in frame pixels (checked against the API on the frames)
    from yolopose_mm.apis import VideoReader, inference, init_model
    model = init_model(str(converted_yolo11n))
    with VideoReader(str(video)) as reader:
        frames = list(reader)
    for i in (0, 13, 29):
        ours = inference(model, frames[i]).pred_instances
        got = rec['frames'][i]['people']
        assert len(got) == len(ours)
        if len(ours):
            np.testing.assert_allclose(np.array([p['keypoints'] for p in got])[..., :2], ours.keypoints, atol=0.02)
            np.testing.assert_allclose([p['bbox'] for p in got], ours.bboxes, atol=0.02)


@pytest.mark.slow
def test_folder_run_counts_a_corrupt_file_and_continues(demo, capsys, tmp_path, data_dir, converted_yolo11n):
    folder = tmp_path / 'in'
    folder.mkdir()
    for p in sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / '000_broken.jpg').write_bytes(b'\xff\xd8\xff not really a jpeg')
    (folder / 'readme.txt').write_text('not an image')
    code, out, err = _run(demo, capsys, folder, '--checkpoint', converted_yolo11n, '--out-dir', tmp_path / 'o',
                          '--save-json')
    assert code == demo.EXIT_SKIPPED
    assert '2 image(s)' in out and '1 unreadable' in out
    assert '000_broken.jpg' in err and 'readme.txt' in err
    written = sorted(p.name for p in (tmp_path / 'o').iterdir())
    assert len([n for n in written if n.endswith('.jpg')]) == 2
    assert len([n for n in written if n.endswith('.json')]) == 2


def test_bad_inputs_give_one_line_and_nonzero_exit(demo, capsys, tmp_path):
    code, _, err = _run(demo, capsys, tmp_path / 'missing.jpg', '--out-dir', tmp_path)
    assert code == 1 and 'input not found' in _one_line_error(err)
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video' * 100)
    code, _, err = _run(demo, capsys, bad, '--out-dir', tmp_path)
    assert code == 1 and 'cannot open video' in _one_line_error(err)
    code, _, err = _run(demo, capsys, tmp_path / '*.png', '--out-dir', tmp_path)
    assert code == 1 and 'no file matches' in _one_line_error(err)
    code, _, err = _run(demo, capsys, tmp_path, '--out-dir', tmp_path, '--checkpoint', tmp_path / 'none.pth')
    assert code == 1 and 'no images' in _one_line_error(err)


def test_missing_checkpoint_is_one_line(demo, capsys, tmp_path, data_dir):
    code, _, err = _run(demo, capsys, data_dir / 'images' / 'bus.jpg', '--checkpoint', tmp_path / 'none.pth',
                        '--out-dir', tmp_path)
    assert code == 1 and 'checkpoint not found' in _one_line_error(err)


def test_show_without_display_is_one_line(demo, capsys, tmp_path, data_dir, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    code, _, err = _run(demo, capsys, data_dir / 'images' / 'bus.jpg', '--show', '--out-dir', tmp_path)
    assert code == 1 and '--show needs a display' in _one_line_error(err)


def test_no_webcam_cli_one_line_nonzero_exit(tmp_path):
    """The real command line: no camera here, so index 9 cannot open (one line on stderr, exit 1)."""
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'demo.py'), '9', '--out-dir', str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1
    assert _one_line_error(proc.stderr) == 'error: no webcam at index 9 (OpenCV cannot open camera 9)'
