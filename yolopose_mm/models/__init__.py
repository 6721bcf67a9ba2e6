# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .backbones import YOLOBackbone  # noqa: F401  (registers in mmpose MODELS)
from .heads import YOLOPoseHead, YOLOPoseHeadModule  # noqa: F401  (registers in mmpose MODELS)
from .necks import YOLOPAFPN  # noqa: F401  (registers in mmpose MODELS)

__all__ = ['YOLOBackbone', 'YOLOPAFPN', 'YOLOPoseHead', 'YOLOPoseHeadModule']
