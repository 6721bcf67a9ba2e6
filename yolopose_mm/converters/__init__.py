# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .checkpoint_errors import (EXIT_NOT_FOUND, EXIT_UNREADABLE, EXIT_UNSAFE, UnreadableCheckpointError,
                                UnsafeCheckpointError, checkpoint_error_line, checkpoint_errors,
                                exit_on_checkpoint_error, report_checkpoint_error)
from .checkpoint_file import load_weights_only, sniff_checkpoint, verify_checkpoint_file
from .safe_pickle import InertRecord, safe_load_checkpoint
from .ultralytics_ckpt import (ConversionError, DetectedArch, build_pose_network, convert_ultralytics_checkpoint,
                               save_converted)

__all__ = ['InertRecord', 'UnsafeCheckpointError', 'UnreadableCheckpointError', 'safe_load_checkpoint',
           'load_weights_only', 'sniff_checkpoint', 'verify_checkpoint_file', 'checkpoint_error_line',
           'checkpoint_errors', 'report_checkpoint_error', 'exit_on_checkpoint_error', 'EXIT_NOT_FOUND',
           'EXIT_UNSAFE', 'EXIT_UNREADABLE',
           'ConversionError', 'DetectedArch', 'build_pose_network', 'convert_ultralytics_checkpoint',
           'save_converted']
