# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Deployment with mmdeploy (needs ``mmdeploy``; not imported by ``import yolopose_mm``).

Importing this package registers, in mmdeploy's registries:

* the torch 2.14 export fixes (:mod:`.torch_compat`),
* the pose-detection rewriters of ``YOLOPoseHead.forward`` (:mod:`.head_rewriter`) and
  ``YOLO26PoseHead.forward`` (:mod:`.yolo26_rewriter`),
* the ``'yolopose_end2end'`` backend model (:mod:`.backend_model`),
* mmpose's ``'PoseDetection'`` task processor (:mod:`.task_processor`): builds our data preprocessor for backend
  models and feeds yolopose exports the deploy config's static input shape.

Deploy configs in ``configs/deploy/`` import it through ``custom_imports``.
"""
from . import torch_compat  # noqa: F401  (registration-only)
from . import head_rewriter  # noqa: F401  (registration-only)
from . import yolo26_rewriter  # noqa: F401  (registration-only)
from . import backend_model  # noqa: F401  (registration-only)
from . import task_processor  # noqa: F401  (registration-only)
from .layouts import LAYOUTS, OUTPUT_NAMES, from_ultralytics, to_ultralytics

__all__ = ['LAYOUTS', 'OUTPUT_NAMES', 'from_ultralytics', 'to_ultralytics']
