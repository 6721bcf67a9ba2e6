# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Tell the head which epoch is training, for losses whose weights follow the epochs (YOLO26's end-to-end mix)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpose.registry import HOOKS


@HOOKS.register_module()
class EpochToHeadHook(Hook):
    """Before each training epoch, call ``head.set_epoch(epoch, max_epochs)`` (0-based epoch).

    :class:`~yolopose_mm.models.YOLO26PoseHead` moves its one-to-many loss weight from 0.8 (first epoch) to 0.1
    (last epoch) with it. The weight is a pure function of the epoch, so a resumed run continues exactly (a resume
    at epoch e trains epoch e with the weight of epoch e, as Ultralytics' trainer does).
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'head', None)
        if head is None or not callable(getattr(head, 'set_epoch', None)):
            raise ValueError(f'EpochToHeadHook: the model head ({type(head).__name__}) has no set_epoch(epoch, '
                             'max_epochs); remove EpochToHeadHook from custom_hooks for this model')
        head.set_epoch(runner.epoch, runner.max_epochs)
