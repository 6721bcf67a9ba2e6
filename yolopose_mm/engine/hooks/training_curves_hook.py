# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""``results.csv`` and ``results.png`` in the work dir: training losses, lr and validation metrics per epoch."""
from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS

from ...plots import plot_results, write_results_csv

_HUB_KEY = 'training_curves/rows'


@HOOKS.register_module()
class TrainingCurvesHook(Hook):
    """Record each epoch's mean training loss terms, the lr at its end and its validation metrics; redraw
    ``results.png`` (and rewrite ``results.csv``) after every validation and at the end of training.

    The rows live in the message hub, which checkpoints save, so a resumed run continues the same curves. Drawing
    errors are logged once as warnings and never stop training.

    Args:
        out_dir: where the files go (default: the work dir).
        draw_every_epoch: also redraw after epochs without validation.
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None, draw_every_epoch: bool = False) -> None:
        self.out_dir = out_dir
        self.draw_every_epoch = draw_every_epoch
        self._sums: Dict[str, float] = defaultdict(float)
        self._count = 0
        self._failed = False

    def _rows(self, runner: Runner) -> List[dict]:
        rows = runner.message_hub.get_info(_HUB_KEY)
        return list(rows) if rows else []

    def _row(self, runner: Runner, rows: List[dict], epoch: int) -> dict:
        for row in rows:
            if row['epoch'] == epoch:
                return row
        row = {'epoch': epoch}
        rows.append(row)
        rows.sort(key=lambda r: r['epoch'])
        return row

    def before_train_epoch(self, runner: Runner) -> None:
        self._sums.clear()
        self._count = 0

    def after_train_iter(self, runner: Runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs:
            return
        for key, value in outputs.items():
            if 'loss' in key:
                self._sums[key] += float(value.item() if hasattr(value, 'item') else value)
        self._count += 1

    def after_train_epoch(self, runner: Runner) -> None:
        rows = self._rows(runner)
        row = self._row(runner, rows, runner.epoch + 1)  # the loop counts the epoch after this hook
        if self._count:
            row.update({f'train/{k}': v / self._count for k, v in self._sums.items()})
        lrs = runner.optim_wrapper.get_lr().get('lr') if hasattr(runner, 'optim_wrapper') else None
        if lrs:
            row['lr'] = float(max(lrs))
        runner.message_hub.update_info(_HUB_KEY, rows)
        if self.draw_every_epoch:
            self._draw(runner)

    def after_val_epoch(self, runner: Runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not metrics:
            return
        rows = self._rows(runner)
        row = self._row(runner, rows, runner.epoch)  # here the finished epochs (1-based epoch number)
        row.update({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})
        runner.message_hub.update_info(_HUB_KEY, rows)
        self._draw(runner)

    def after_train(self, runner: Runner) -> None:
        self._draw(runner)

    def _draw(self, runner: Runner) -> None:
        if not is_main_process() or self._failed:
            return
        rows = self._rows(runner)
        if not rows:
            return
        out_dir = self.out_dir or runner.work_dir
        try:
            write_results_csv(rows, osp.join(out_dir, 'results.csv'))
            plot_results(rows, osp.join(out_dir, 'results.png'), title=osp.basename(osp.abspath(runner.work_dir)))
        except Exception as e:  # pictures must never stop a run
            self._failed = True
            runner.logger.warning(f'TrainingCurvesHook: could not draw results.png ({type(e).__name__}: {e}); '
                                  'training goes on without it')
