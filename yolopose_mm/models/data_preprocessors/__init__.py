# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .yolo_pose_data_preprocessor import YOLOPoseDataPreprocessor, pad_rect_batch  # noqa: F401  (mmpose MODELS)

__all__ = ['YOLOPoseDataPreprocessor', 'pad_rect_batch']
