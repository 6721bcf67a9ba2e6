# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .batch_task_aligned_assigner import AssignResult, BatchTaskAlignedAssigner
from .pose_task_aligned_assigner import PoseTaskAlignedAssigner

__all__ = ['AssignResult', 'BatchTaskAlignedAssigner', 'PoseTaskAlignedAssigner']
