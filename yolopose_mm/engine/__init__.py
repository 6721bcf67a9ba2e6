# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .ema import YOLORampEMA  # noqa: F401  (registers in mmpose MODELS)
from .hooks import (AtomicCheckpointHook, CloseMosaicHook, DatasetMetaToHeadHook,  # noqa: F401  (mmpose HOOKS)
                    YOLOLrMomentumHook)
from .musgd import MuSGD  # noqa: F401  (registers in mmengine OPTIMIZERS)
from .yolo_optim_constructor import YOLOOptimWrapperConstructor  # noqa: F401  (mmpose constructors)

__all__ = ['YOLORampEMA', 'AtomicCheckpointHook', 'CloseMosaicHook', 'DatasetMetaToHeadHook', 'YOLOLrMomentumHook',
           'MuSGD', 'YOLOOptimWrapperConstructor']
