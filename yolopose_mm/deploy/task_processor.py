# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy's pose-detection task processor, able to build our data preprocessor for backend models.

mmdeploy 1.3.1 builds a backend model's data preprocessor itself and accepts only ``PoseDataPreprocessor`` /
``mmdet.DetDataPreprocessor`` configs (an ``assert`` in ``build_pose_detection_model``); our configs use
``YOLOPoseDataPreprocessor`` (mmpose's, plus ``yolo val``'s batch padding). This subclass, registered in place of
mmdeploy's ``'PoseDetection'`` task, builds any other data-preprocessor config from mmpose's ``MODELS`` and hands
mmdeploy the instance (which it accepts); everything else is mmdeploy's own code.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from mmdeploy.codebase.mmpose.deploy.pose_detection import MMPOSE_TASK, PoseDetection
from mmdeploy.utils import Task

# the data-preprocessor types mmdeploy 1.3.1 builds itself
_MMDEPLOY_TYPES = ('PoseDataPreprocessor', 'mmdet.DetDataPreprocessor')


def build_data_preprocessor_for_mmdeploy(cfg):
    """``cfg`` unchanged when mmdeploy can build it (or it is built already), else the module from mmpose's MODELS."""
    if not isinstance(cfg, dict) or cfg.get('type') in _MMDEPLOY_TYPES:
        return cfg
    import yolopose_mm  # noqa: F401  (registers YOLOPoseDataPreprocessor)
    from mmpose.registry import MODELS
    return MODELS.build(cfg)


@MMPOSE_TASK.register_module(Task.POSE_DETECTION.value, force=True)
class YOLOPoseDetection(PoseDetection):
    """mmdeploy's ``PoseDetection`` task whose backend models accept any registered data preprocessor."""

    def build_backend_model(self, model_files: Sequence[str] = None,
                            data_preprocessor_updater: Optional[Callable] = None, **kwargs) -> torch.nn.Module:
        def updater(cfg):
            if data_preprocessor_updater is not None:
                cfg = data_preprocessor_updater(cfg)
            return build_data_preprocessor_for_mmdeploy(cfg)
        return super().build_backend_model(model_files, updater, **kwargs)


__all__ = ['YOLOPoseDetection', 'build_data_preprocessor_for_mmdeploy']
