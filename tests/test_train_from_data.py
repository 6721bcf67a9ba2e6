# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The Ultralytics-style one-liner on a fresh dataset: K = 5, dim 2, two classes, no config written by hand.

    tools/train.py --data X.yaml --weights <converted yolo11n-pose> --epochs 3 --imgsz 320
then tools/test.py and tools/demo.py on what it wrote.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from mmengine.config import Config

from conftest import REPO

sys.path.insert(0, str(REPO / 'projects' / 'custom_keypoints' / 'tools'))


def _size_values(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('input_size', 'img_scale'):
                yield value
            yield from _size_values(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _size_values(value)


def _run(cmd, cwd=REPO, timeout=900):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.slow
def test_one_liner_trains_tests_and_demos_a_k5_dim2_two_class_dataset(tmp_path, converted_yolo11n):
    from make_shapes import write_dataset
    yaml_path = write_dataset(str(tmp_path / 'shapes'), num_train=4, num_val=2, size=320, dim=2, seed=3)
    work = tmp_path / 'run'
    log = _run([sys.executable, 'tools/train.py', '--data', yaml_path, '--weights', converted_yolo11n, '--epochs', 3,
                '--imgsz', 320, '--batch', 2, '--workers', 0, '--work-dir', work])
    # the head follows the yaml, the weights load where they fit and the rest is listed
    assert 'model.head.num_classes=2, num_keypoints=5, keypoint_dim=2' in log
    assert 'was trained for 1 class(es) and 17x3 keypoints' in log
    assert 'Transferred ' in log and '/541 tensors from' in log and 'cls_branch.0.2.weight [1, 64, 1, 1] -> [2, 64' \
        in log
    assert 'input size 640x640 -> 320x320' in log
    assert 'best.pth: coco/AP' in log
    assert 'Epoch(train) [3]' in log and 'Epoch(val) [3]' in log
    # the pictures and the checkpoints
    for name in ('best.pth', 'epoch_3.pth', 'results.png', 'results.csv', 'train_batch0.jpg', 'train_batch1.jpg',
                 'val_batch0_labels.jpg', 'val_batch0_pred.jpg', 'PosePR_curve.png', 'BoxPR_curve.png'):
        assert (work / name).is_file(), f'{name} missing in {sorted(p.name for p in work.iterdir())}'
    assert cv2.imread(str(work / 'train_batch0.jpg')).shape[:2] == (320, 640)  # two 320 px tiles side by side
    rows = (work / 'results.csv').read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith('epoch,train/loss') and 'coco/AP' in rows[0]
    config = next(p for p in work.glob('*.py'))  # the config mmengine dumped: what test / demo / deploy use
    dumped = Config.fromfile(str(config))
    assert dumped.model.head.num_keypoints == 5 and dumped.train_dataloader.dataset.type == 'YOLOPoseDataset'
    sizes = [tuple(v) for v in _size_values([dumped.train_dataloader, dumped.val_dataloader, dumped.custom_hooks])]
    assert sizes and set(sizes) == {(320, 320)}, sizes

    # tools/test.py on the output
    _run([sys.executable, 'tools/test.py', config, work / 'best.pth', '--work-dir', tmp_path / 'test'])
    metrics = json.loads((tmp_path / 'test' / 'metrics.json').read_text())
    assert 'coco/AP' in metrics and 'yolo/mAP50-95(P)' in metrics

    # tools/demo.py on the output: 5 named keypoints per person
    img = Path(yaml_path).parent / 'images' / 'val' / '00000.jpg'
    _run([sys.executable, 'tools/demo.py', img, '--config', config, '--checkpoint', work / 'best.pth', '--out-dir',
          tmp_path / 'demo', '--save-json', '--score-thr', '0.0'])
    record = json.loads((tmp_path / 'demo' / '00000.json').read_text())
    assert record['keypoint_names'] == ['apex', 'left_near', 'right_near', 'left_far', 'right_far']
    assert all(len(p['keypoints']) == 5 for p in record['people'])
