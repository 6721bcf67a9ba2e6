# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .batch_task_aligned_assigner import AssignResult, BatchTaskAlignedAssigner

__all__ = ['AssignResult', 'BatchTaskAlignedAssigner']
