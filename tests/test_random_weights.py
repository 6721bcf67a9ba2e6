# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/analysis/random_weights.py: the benchmarks' ``--yaml`` checkpoints (random weights, same on both sides)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
from random_weights import default_input_size, random_pose_checkpoint  # noqa: E402

from yolopose_mm.converters import convert_ultralytics_checkpoint  # noqa: E402


def test_random_checkpoint_converts_and_is_seeded(tmp_path, ultralytics):
    before = torch.random.get_rng_state()
    a = random_pose_checkpoint('yolo12n-pose.yaml', str(tmp_path / 'a.pt'), seed=3)
    b = random_pose_checkpoint('yolo12n-pose.yaml', str(tmp_path / 'b.pt'), seed=3)
    c = random_pose_checkpoint('yolo12n-pose.yaml', str(tmp_path / 'c.pt'), seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global generator is untouched
    converted, arch = convert_ultralytics_checkpoint(str(a))
    assert (arch.version, arch.scale) == ('12', 'n')
    assert sum(v.numel() for k, v in converted['state_dict'].items() if 'running' not in k
               and 'num_batches' not in k) == 2_852_670
    sa, sb, sc = (torch.load(p, weights_only=False)['model'].state_dict() for p in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa['model.0.conv.weight'], sc['model.0.conv.weight'])
    bn = sa['model.0.bn.running_var']
    assert not torch.equal(bn, torch.ones_like(bn))  # randomised BatchNorm statistics


def test_bad_yaml_names_say_what_exists(tmp_path, ultralytics):
    with pytest.raises(ValueError, match='yolov8n-pose-p6.yaml'):
        random_pose_checkpoint('yolo13n-pose.yaml', str(tmp_path / 'x.pt'))
    with pytest.raises(ValueError, match='scale letter'):
        random_pose_checkpoint('yolo12-pose.yaml', str(tmp_path / 'x.pt'))
    assert not (tmp_path / 'x.pt').exists()


def test_default_input_size():
    assert default_input_size('configs/yolov8_pose/yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py') == 1280
    assert default_input_size('configs/yolo12_pose/yolo12-pose-n_8xb16-600e_coco-640x640.py') == 640
    assert default_input_size('configs/yolopose_n_coco.py') == 640
