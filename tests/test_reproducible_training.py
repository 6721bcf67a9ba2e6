# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Augmentation is a pure function of (seed, epoch, index): same batches whatever the workers, and a run killed
mid-epoch and resumed ends bit-identical to an uninterrupted one (real tools/train.py processes)."""
from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import yolopose_mm  # noqa: F401  (registration, safe globals for runner checkpoints)

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / 'tests' / 'configs' / 'coco8_tiny.py'
# 3 epochs of 4 one-image iterations: 2 with mosaic, the last without (random affine)
RUN = ['train_cfg.max_epochs=3', 'train_dataloader.batch_size=1']


def _cmd(work_dir: Path, *extra: str):
    return [sys.executable, str(REPO / 'tools' / 'train.py'), str(TINY), '--work-dir', str(work_dir), *extra]


def _env(data_dir: Path):
    return dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))


def _train(work_dir: Path, data_dir: Path, workers: int, *extra: str) -> str:
    opts = RUN + [f'train_dataloader.num_workers={workers}', f'train_dataloader.persistent_workers={workers > 0}']
    proc = subprocess.run(_cmd(work_dir, *extra, '--cfg-options', *opts), capture_output=True, text=True,
                          env=_env(data_dir), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _assert_same_weights(a_path: Path, b_path: Path) -> None:
    a = torch.load(a_path, map_location='cpu')
    b = torch.load(b_path, map_location='cpu')
    assert a['meta']['iter'] == b['meta']['iter']
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        differ = [n for n in a[key] if not torch.equal(a[key][n], b[key][n])]
        assert not differ, f'{key}: {len(differ)} of {len(a[key])} tensors differ, e.g. {differ[:3]}'


def test_batches_do_not_depend_on_workers(data_dir):
    """The dataloader gives the same batches (pixels and labels) with 0 workers, 2 workers and 2 persistent ones,
    over two epochs."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(TINY))

    def batches(workers, persistent):
        c = copy.deepcopy(cfg.train_dataloader)
        c.update(num_workers=workers, persistent_workers=persistent)
        loader = Runner.build_dataloader(c, seed=0)
        out = []
        for epoch in range(2):
            loader.batch_sampler.set_epoch(epoch)
            for b in loader:
                out.append([x.numpy() for x in b['inputs']] + [s.gt_instances.keypoints for s in b['data_samples']])
        return out

    ref = batches(0, False)
    assert len(ref) == 4 and not np.array_equal(ref[0][0], ref[2][0])  # epochs differ
    for workers, persistent in ((2, False), (2, True)):
        for x, y in zip(ref, batches(workers, persistent)):
            assert all(np.array_equal(u, v) for u, v in zip(x, y))


@pytest.mark.slow
def test_killed_and_resumed_with_two_workers_equals_uninterrupted_with_none(tmp_path, data_dir):
    """Reference: an uninterrupted run in the main process (0 workers). Second run: 2 persistent workers, its whole
    process group SIGKILLed at a random iteration of the second (mosaic) epoch, then --resume. After the first epoch
    both have bit-identical weights (workers do not matter); at the end too, weights and EMA (resume is exact)."""
    ref = tmp_path / 'reference'
    assert 'CloseMosaicHook: epoch 3' in _train(ref, data_dir, 0)
    work = tmp_path / 'killed'
    rng = random.Random()
    stop_at, delay = rng.randint(1, 3), rng.uniform(0.0, 0.3)
    print(f'killing at iteration {stop_at} of epoch 2 (+{delay:.2f} s)')
    opts = RUN + ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True']
    work.mkdir()
    log_path = work / 'killed.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(_cmd(work, '--cfg-options', *opts), stdout=log, stderr=subprocess.STDOUT,
                                env=_env(data_dir), start_new_session=True)
    deadline = time.time() + 900
    try:
        while f'Epoch(train) [2][{stop_at}/4]' not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.time() < deadline, 'the run did not reach the kill point'
            time.sleep(0.05)
        time.sleep(delay)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (work / 'epoch_3.pth').exists()
    _assert_same_weights(ref / 'epoch_1.pth', work / 'epoch_1.pth')  # 0 vs 2 workers, after an epoch
    log = _train(work, data_dir, 2, '--resume')
    assert 'resumed epoch: 1, iter: 4' in log or 'resumed epoch: 2, iter: 8' in log  # 2: killed after its save
    _assert_same_weights(ref / 'epoch_3.pth', work / 'epoch_3.pth')
