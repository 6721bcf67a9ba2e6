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
    head config already fixed them; likewise per-keypoint loss weights (``dataset_keypoint_weights``, COCO's
    ``joint_weights``) for heads that use them (YOLO26's RLE term)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'head', None)
        meta = getattr(runner.train_dataloader.dataset, 'metainfo', {}) or {}
        weights = meta.get('dataset_keypoint_weights')
        if head is not None and hasattr(head, 'set_joint_weights') and not head.joint_weights.numel() and \
                weights is not None and len(weights) == head.num_keypoints:
            head.set_joint_weights(weights)
            runner.logger.info(f'DatasetMetaToHeadHook: per-keypoint loss weights from {meta.get("dataset_name")} '
                               'metainfo')
        if head is None or not hasattr(head, 'set_sigmas') or head.sigmas.numel():
            return
        sigmas = meta.get('sigmas')
        if sigmas is not None and len(sigmas) == head.num_keypoints:
            head.set_sigmas(sigmas)
            runner.logger.info(f'DatasetMetaToHeadHook: keypoint-loss sigmas from {meta.get("dataset_name")} '
                               'metainfo')
