# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""CloseMosaicHook rebuilds the training dataloader once: persistent workers stay persistent after the switch, the
old workers stop, and the new sampler draws the current epoch."""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

import yolopose_mm  # noqa: F401
from yolopose_mm.engine import CloseMosaicHook

REPO = Path(__file__).resolve().parents[1]


def _worker_pids(loader) -> set:
    return {w.pid for w in loader._iterator._workers}


def test_switch_keeps_persistent_workers_and_stops_the_old_ones(tmp_path, data_dir):
    cfg = Config.fromfile(str(REPO / 'tests' / 'configs' / 'coco8_tiny.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.train_cfg.max_epochs = 3
    runner = Runner.from_cfg(cfg)
    old = runner.train_loop.dataloader
    next(iter(old))
    old_pids, old_workers = _worker_pids(old), list(old._iterator._workers)
    assert len(old_pids) == 2 and all(w.is_alive() for w in old_workers)
    hook = next(h for h in cfg.custom_hooks if h['type'] == 'CloseMosaicHook')
    hook = CloseMosaicHook(close_mosaic=hook['close_mosaic'], new_train_pipeline=hook['new_train_pipeline'])
    runner.train_loop._epoch = 1
    hook.before_train_epoch(runner)
    assert runner.train_loop.dataloader is old  # not yet: epoch 2 of 3 still has mosaic
    runner.train_loop._epoch = 2
    hook.before_train_epoch(runner)
    new = runner.train_loop.dataloader
    assert new is not old and new.persistent_workers and new.num_workers == 2
    assert new.batch_sampler.sampler.epoch == 2
    assert not any(w.is_alive() for w in old_workers)  # stopped at the switch, not whenever garbage-collected
    assert 'YOLOMosaic' not in repr(new.dataset.pipeline) and 'YOLOMosaic' in repr(old.dataset.pipeline)
    pids = []
    for _ in range(2):  # two epochs after the switch: the same worker processes
        for _batch in new:
            pass
        pids.append(_worker_pids(new))
    assert pids[0] == pids[1] and len(pids[0]) == 2 and not pids[0] & old_pids
    hook.before_train_epoch(runner)  # later epochs: no further rebuild
    assert runner.train_loop.dataloader is new
