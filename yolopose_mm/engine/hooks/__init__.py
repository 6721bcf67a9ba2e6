# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .close_mosaic_hook import CloseMosaicHook
from .dataset_meta_hook import DatasetMetaToHeadHook
from .yolo_ema_hook import YOLOEMAHook
from .yolo_lr_hook import YOLOLrMomentumHook

__all__ = ['AtomicCheckpointHook', 'CloseMosaicHook', 'DatasetMetaToHeadHook', 'YOLOEMAHook', 'YOLOLrMomentumHook']
