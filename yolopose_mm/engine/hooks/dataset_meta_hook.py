# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Give the pose head what it needs from the training dataset's metainfo (OKS sigmas)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpose.registry import HOOKS


@HOOKS.register_module()
class DatasetMetaToHeadHook(Hook):
    """Before training, set the head's keypoint-loss sigmas from ``train_dataloader.dataset.metainfo['sigmas']``
    (COCO sigmas for COCO, ``kpt_oks_sigmas`` from a YOLO yaml, or 1/K with the dataset's warning), unless the
    head config already fixed them."""

    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'head', None)
        if head is None or not hasattr(head, 'set_sigmas') or head.sigmas.numel():
            return
        meta = getattr(runner.train_dataloader.dataset, 'metainfo', {}) or {}
        sigmas = meta.get('sigmas')
        if sigmas is not None and len(sigmas) == head.num_keypoints:
            head.set_sigmas(sigmas)
            runner.logger.info(f'DatasetMetaToHeadHook: keypoint-loss sigmas from {meta.get("dataset_name")} '
                               'metainfo')
