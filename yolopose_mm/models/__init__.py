# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .backbones import YOLOBackbone  # noqa: F401  (registers in mmpose MODELS)
from .data_preprocessors import YOLOPoseDataPreprocessor  # noqa: F401  (registers in mmpose MODELS)
from .heads import YOLO26PoseHead, YOLOPoseHead, YOLOPoseHeadModule  # noqa: F401  (registers in mmpose MODELS)
from .necks import YOLOPAFPN  # noqa: F401  (registers in mmpose MODELS)
from .task_modules import BatchTaskAlignedAssigner, PoseTaskAlignedAssigner  # noqa: F401  (mmpose TASK_UTILS)

__all__ = ['YOLOBackbone', 'YOLOPAFPN', 'YOLOPoseHead', 'YOLOPoseHeadModule', 'YOLO26PoseHead',
           'BatchTaskAlignedAssigner', 'PoseTaskAlignedAssigner', 'YOLOPoseDataPreprocessor']
