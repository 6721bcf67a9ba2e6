# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .safe_pickle import InertRecord, UnsafeCheckpointError, safe_load_checkpoint
from .ultralytics_ckpt import (ConversionError, DetectedArch, build_pose_network, convert_ultralytics_checkpoint,
                               save_converted)

__all__ = ['InertRecord', 'UnsafeCheckpointError', 'safe_load_checkpoint', 'ConversionError', 'DetectedArch',
           'build_pose_network', 'convert_ultralytics_checkpoint', 'save_converted']
