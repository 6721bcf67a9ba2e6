# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLO26-pose end to end: tools/train.py with the YOLO26 recipe (MuSGD, class branches at 3x lr, both branch sets,
the one-to-many weight following the runner's epoch) learns coco8-pose, and tools/test.py evaluates the result."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'tests' / 'configs' / 'coco8_tiny_26.py'  # the coco8 recipe at 160 px, no augmentation
EPOCHS = 30


def _run(tool: str, *args: str, data_dir: Path) -> str:
    return run_tool(tool, *args, data_dir=data_dir, timeout=1200)


@pytest.mark.slow
def test_trains_on_coco8_and_evaluates(tmp_path, data_dir):
    work = tmp_path / 'train'
    log = _run('train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options', f'train_cfg.max_epochs={EPOCHS}',
               'train_dataloader.batch_size=4', f'default_hooks.checkpoint.interval={EPOCHS}', data_dir=data_dir)
    lines = [line for line in log.splitlines() if 'Epoch(train)' in line]
    losses = [float(line.split(' loss: ')[1].split()[0]) for line in lines]
    assert len(losses) == EPOCHS
    # every term of the end-to-end loss is logged (summed over both branch sets)
    assert all(f' {k}: ' in lines[0] for k in ('loss_box', 'loss_cls', 'loss_l1', 'loss_pose', 'loss_kobj', 'loss_rle')), lines[0]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.7 * first, (first, last)
    out = tmp_path / 'test'
    _run('test.py', str(CONFIG), str(work / f'epoch_{EPOCHS}.pth'), '--work-dir', str(out), data_dir=data_dir)
    metrics = json.loads((out / 'metrics.json').read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0 and 'coco/AR' in metrics, metrics
