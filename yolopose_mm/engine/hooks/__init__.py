# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .batch_pictures_hook import BatchPicturesHook
from .best_checkpoint_hook import BestCheckpointHook
from .close_mosaic_hook import CloseMosaicHook
from .dataset_meta_hook import DatasetMetaToHeadHook
from .freeze_norm_stats_hook import FreezeNormStatsHook
from .pr_curves_hook import PRCurvesHook
from .run_notes_hook import RunNotesHook
from .training_curves_hook import TrainingCurvesHook
from .transfer_weights_hook import TransferWeightsHook
from .yolo_ema_hook import YOLOEMAHook
from .yolo_lr_hook import YOLOLrMomentumHook

__all__ = ['AtomicCheckpointHook', 'CloseMosaicHook', 'DatasetMetaToHeadHook', 'YOLOEMAHook', 'YOLOLrMomentumHook',
           'BatchPicturesHook', 'BestCheckpointHook', 'FreezeNormStatsHook', 'PRCurvesHook', 'RunNotesHook',
           'TrainingCurvesHook', 'TransferWeightsHook']
