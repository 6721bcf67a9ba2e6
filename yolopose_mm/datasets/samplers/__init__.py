# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .yolo_batch_sampler import YOLOBatchSampler

__all__ = ['YOLOBatchSampler']
