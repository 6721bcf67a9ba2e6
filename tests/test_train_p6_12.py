# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLOv8-pose-p6 (four levels) and YOLO12-pose train on coco8-pose with tools/train.py (validating after the
epoch) and evaluate the saved checkpoint with tools/test.py: the tiny coco8 recipe with the family swapped in."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import yolopose_mm  # noqa: F401  (safe globals for loading runner checkpoints)
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / 'tests' / 'configs' / 'coco8_tiny.py'
FAMILY_OPTIONS = {
    'v8-p6': ['model.head.featmap_strides=(8,16,32,64)', 'model.data_preprocessor.pad_size_divisor=64'],
    '12': [],
}


def _run(tool: str, *args: str, data_dir: Path) -> str:
    return run_tool(tool, *args, data_dir=data_dir, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize('version', ['v8-p6', '12'])
def test_family_trains_and_evaluates_on_coco8(version, tmp_path, data_dir):
    options = [f'model.{part}.version={version}' for part in ('backbone', 'neck', 'head')] + FAMILY_OPTIONS[version]
    work = tmp_path / 'train'
    log = _run('train.py', str(TINY), '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1',
               'train_cfg.val_interval=1', *options, data_dir=data_dir)
    losses = [float(line.split(' loss: ')[1].split()[0]) for line in log.splitlines() if 'Epoch(train)' in line]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), losses
    assert 'Epoch(val)' in log and 'coco/AP' in log  # validated after the epoch
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu')
    levels = {k.split('.')[3] for k in ckpt['state_dict'] if k.startswith('head.head_module.kpt_branch.')}
    assert len(levels) == (4 if version == 'v8-p6' else 3), sorted(levels)
    if version == '12':
        assert any('.attn.' in k for k in ckpt['state_dict'])  # area attention blocks were trained
    _run('test.py', str(TINY), str(work / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'), '--cfg-options',
         *options, data_dir=data_dir)
    metrics = json.loads((tmp_path / 'test' / 'metrics.json').read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
