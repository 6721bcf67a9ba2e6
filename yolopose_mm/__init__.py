# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""yolopose_mm: YOLOv8-pose and YOLO11-pose as MMPose components.

Importing this package registers every component in the mmpose registries (``mmpose.registry``), so configs can
use them with ``custom_imports=dict(imports=['yolopose_mm'])`` and ``default_scope='mmpose'``.
"""
from . import compat  # noqa: F401  (registration-only / torch-2.14 compatibility fixes, applied on import)
from . import datasets  # noqa: F401  (registration-only)
from . import engine  # noqa: F401  (registration-only)
from . import evaluation  # noqa: F401  (registration-only)
from . import models  # noqa: F401  (registration-only)
from .version import __version__

__all__ = ['__version__']
