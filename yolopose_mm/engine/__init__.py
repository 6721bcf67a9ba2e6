# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .ema import YOLORampEMA  # noqa: F401  (registers in mmpose MODELS)
from .hooks import (AtomicCheckpointHook, CloseMosaicHook, DatasetMetaToHeadHook,  # noqa: F401  (mmpose HOOKS)
                    YOLOEMAHook, YOLOLrMomentumHook)
from .hooks import (BatchPicturesHook, BestCheckpointHook, FreezeNormStatsHook, PRCurvesHook,  # noqa: F401
                    RunNotesHook, TrainingCurvesHook, TransferWeightsHook)
from .musgd import MuSGD  # noqa: F401  (registers in mmengine OPTIMIZERS)
from .nominal_batch import NominalBatchPlan, plan_nominal_batch, warmup_iterations
from .yolo26_optim_constructor import YOLO26OptimWrapperConstructor  # noqa: F401  (mmpose constructors)
from .yolo_optim_constructor import YOLOOptimWrapperConstructor  # noqa: F401  (mmpose constructors)
from .yolo_optim_wrapper import YOLOAmpOptimWrapper, YOLOOptimWrapper  # noqa: F401  (mmpose OPTIM_WRAPPERS)

__all__ = ['YOLORampEMA', 'AtomicCheckpointHook', 'CloseMosaicHook', 'DatasetMetaToHeadHook', 'YOLOEMAHook',
           'YOLOLrMomentumHook', 'MuSGD', 'YOLOOptimWrapperConstructor', 'YOLO26OptimWrapperConstructor',
           'YOLOOptimWrapper', 'YOLOAmpOptimWrapper',
           'NominalBatchPlan', 'plan_nominal_batch', 'warmup_iterations', 'BatchPicturesHook', 'BestCheckpointHook',
           'FreezeNormStatsHook', 'PRCurvesHook', 'RunNotesHook', 'TrainingCurvesHook', 'TransferWeightsHook']
