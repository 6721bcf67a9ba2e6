# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/browse_dataset.py: draws the samples after the pipeline (flip pairs, mosaic + affine) on real data."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FLIP_CONFIG = REPO / 'tests' / 'configs' / 'browse_coco_flip.py'


@pytest.fixture(scope='module')
def browse():
    spec = importlib.util.spec_from_file_location('yolopose_browse_tool', REPO / 'tools' / 'browse_dataset.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def data_env(data_dir, monkeypatch):
    monkeypatch.setenv('YOLOPOSE_DATA', str(data_dir))
    return data_dir


def _cfg(path):
    from mmengine.config import Config

    import yolopose_mm  # noqa: F401
    return Config.fromfile(str(path))


def test_flip_shows_mirrored_keypoints_with_swapped_pairs(browse, data_env):
    cfg = _cfg(FLIP_CONFIG)
    original = list(browse.samples(browse.build_dataset(cfg, 'train', 'original'), 2))
    flipped = list(browse.samples(browse.build_dataset(cfg, 'train', 'transformed'), 2))
    flip_indices = browse.build_dataset(cfg, 'train', 'original').metainfo['flip_indices']
    assert flip_indices[5] == 6  # left shoulder <-> right shoulder
    checked = 0
    for (_, img0, s0), (_, img1, s1) in zip(original, flipped):
        w = img0.shape[1]
        np.testing.assert_array_equal(img1, img0[:, ::-1])  # the drawn picture is the flipped image
        k0 = browse.as_prediction(s0).pred_instances
        k1 = browse.as_prediction(s1).pred_instances
        vis = k0.keypoint_scores > 0.5
        for i in range(len(k0.keypoints)):
            for j in range(k0.keypoints.shape[1]):
                if not vis[i, j]:
                    continue
                # keypoint j of the original is keypoint flip_indices[j] of the flipped sample, mirrored
                x1, y1 = k1.keypoints[i, flip_indices[j]]
                assert abs(x1 - (w - 1 - k0.keypoints[i, j, 0])) < 1.01 and abs(y1 - k0.keypoints[i, j, 1]) < 1e-3
                checked += 1
    assert checked > 20


def test_cli_draws_keypoints_of_the_transformed_sample(browse, data_env, tmp_path, capsys):
    from yolopose_mm.visualization import draw_pose
    assert browse.main([str(FLIP_CONFIG), '--max-items', '3', '--out-dir', str(tmp_path)]) == 0
    assert '3 sample(s) of 4' in capsys.readouterr().out
    files = sorted(tmp_path.glob('*.jpg'))
    assert len(files) == 3
    cfg = _cfg(FLIP_CONFIG)
    dataset = browse.build_dataset(cfg, 'train', 'transformed')
    _, img, sample = next(browse.samples(dataset, 1))
    drawn = cv2.imread(str(files[0]))
    assert drawn.shape == img.shape
    changed = np.abs(drawn.astype(int) - img.astype(int)).sum(-1) > 60
    pred = browse.as_prediction(sample).pred_instances
    pts = pred.keypoints[pred.keypoint_scores > 0.5]
    assert len(pts) >= 10
    for x, y in pts:  # the (flipped) keypoints are where the drawing changed the picture
        xi, yi = int(round(x)), int(round(y))
        assert changed[max(yi - 2, 0):yi + 3, max(xi - 2, 0):xi + 3].any(), (x, y)
    # and the file is exactly what draw_pose makes of the sample (up to JPEG)
    expected = cv2.cvtColor(draw_pose(img, browse.as_prediction(sample), dataset.metainfo, kpt_thr=0.5),
                            cv2.COLOR_RGB2BGR)
    assert np.abs(drawn.astype(int) - expected.astype(int)).mean() < 3


@pytest.mark.slow
def test_yolo_training_pipeline_mosaic_affine(browse, data_env, tmp_path, capsys):
    config = REPO / 'configs' / 'yolopose_n_coco8.py'
    assert browse.main([str(config), '--max-items', '2', '--out-dir', str(tmp_path), '--seed', '1']) == 0
    out = capsys.readouterr().out
    assert out.count('640x640') == 2
    assert len(list(tmp_path.glob('*.jpg'))) == 2


def test_errors_are_one_line(browse, data_env, tmp_path, capsys):
    assert browse.main([str(tmp_path / 'none.py')]) == 1
    assert capsys.readouterr().err.strip() == f'error: config not found: {tmp_path / "none.py"}'
    cfg = tmp_path / 'no_train.py'
    cfg.write_text("default_scope = 'mmpose'\n")
    assert browse.main([str(cfg), '--out-dir', str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == 'error: the config has no train_dataloader.dataset; choose another --phase or config'
