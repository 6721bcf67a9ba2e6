# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Keep the best checkpoint of a run under one fixed name (``best.pth``), as Ultralytics keeps ``best.pt``."""
from __future__ import annotations

import math
import os.path as osp
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, Runner
from mmpose.registry import HOOKS

from .atomic_checkpoint_hook import ATOMIC_BACKEND


@HOOKS.register_module()
class BestCheckpointHook(Hook):
    """After each validation, save ``{work_dir}/{filename}`` when ``metric`` is the best of the run so far.

    The checkpoint holds the evaluated weights (the EMA weights when ``EMAHook`` is on: it swaps them into
    ``state_dict`` when saving), the config and the epoch, no optimizer state (like ``best.pt``: for deployment and
    fine-tuning, not for resuming); it is written atomically (a temporary file renamed into place, as
    ``AtomicCheckpointHook`` does). The best score lives in the message hub, so a resumed run keeps comparing with
    the best of the epochs before the restart. mmengine's ``CheckpointHook(save_best=...)`` names the file after the
    metric and the epoch; this hook gives it a name scripts can rely on.

    With ``validate_first`` the run validates once before its first epoch (not when resuming), so the starting
    weights compete too: a fine-tune that never beats its pretrained start on the validation set ends with those
    weights in ``best.pth``, and the curves and early stopping start from the starting score.

    Args:
        metric: key of the validation metrics (default ``coco/AP``, the COCO keypoint AP of ``YOLOPoseMetric``).
        rule: ``'greater'`` or ``'less'``.
        filename: file name in the work dir.
        validate_first: validate the starting weights before training (epoch 0).
    """

    priority = 'LOW'  # after EMAHook has swapped the training weights back (after_val_epoch)

    def __init__(self, metric: str = 'coco/AP', rule: str = 'greater', filename: str = 'best.pth',
                 validate_first: bool = False) -> None:
        if rule not in ('greater', 'less'):
            raise ValueError(f"BestCheckpointHook: rule must be 'greater' or 'less', got {rule!r}")
        if not filename or osp.basename(filename) != filename:
            raise ValueError(f'BestCheckpointHook: filename must be a plain file name, got {filename!r}')
        self.metric = metric
        self.rule = rule
        self.filename = filename
        self.validate_first = validate_first
        self._warned = False

    @property
    def _hub_key(self) -> str:
        return f'best_checkpoint/{self.metric}'

    def _better(self, score: float, best: Optional[float]) -> bool:
        if best is None:
            return True
        return score > best if self.rule == 'greater' else score < best

    def before_train(self, runner: Runner) -> None:
        if not self.validate_first or runner.iter > 0 or getattr(runner, '_resume', False):
            return
        val_loop = getattr(runner, 'val_loop', None)
        if val_loop is None:
            return
        runner.logger.info(f'validating the starting weights (epoch 0): {self.filename} keeps them unless training '
                           f'beats their {self.metric}')
        val_loop.run()

    def after_val_epoch(self, runner: Runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not metrics or not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return  # a validation outside training
        if self.metric not in metrics:
            if not self._warned:
                runner.logger.warning(f'BestCheckpointHook: the validation metrics have no {self.metric!r} '
                                      f'(they have {sorted(metrics)[:6]}...); {self.filename} is not saved')
                self._warned = True
            return
        score = float(metrics[self.metric])
        if math.isnan(score):
            return
        hub = runner.message_hub
        best = hub.get_info(self._hub_key)
        if not self._better(score, best):
            return
        hub.update_info(self._hub_key, score)
        hub.update_info(f'{self._hub_key}/epoch', runner.epoch)
        runner.save_checkpoint(runner.work_dir, self.filename, save_optimizer=False, save_param_scheduler=False,
                               meta=dict(best_metric=self.metric, best_score=score), by_epoch=False,
                               backend_args=dict(backend=ATOMIC_BACKEND))  # temp file + rename
        previous = ('the starting weights' if runner.epoch == 0 else 'first validation') if best is None \
            else f'previous best {best:.4f}'
        runner.logger.info(f'{self.filename}: {self.metric} {score:.4f} at epoch {runner.epoch} ({previous}) -> '
                           f'{osp.join(runner.work_dir, self.filename)}')
