# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .inference import PREDICT_TEST_CFG, build_inference_pipeline, inference, init_model, read_image
from .optimize import fold_batchnorm, optimize_for_inference, prepack_convolutions
from .results import image_record, people, track_summary, video_record
from .sources import InputError, InputSpec, VideoReader, VideoWriter, resolve_input, write_video
from .track_smoothing import KeypointSmoother
from .tracker import PoseTracker
from .tracker_config import TRACKER_NAMES, TrackerConfigError, load_tracker_config
from .tracking import track, track_frames

__all__ = [
    'init_model', 'inference', 'build_inference_pipeline', 'read_image', 'PREDICT_TEST_CFG',
    'optimize_for_inference', 'fold_batchnorm', 'prepack_convolutions', 'people', 'image_record',
    'video_record', 'InputError', 'InputSpec', 'resolve_input', 'VideoReader', 'VideoWriter', 'write_video',
    'track', 'track_frames', 'PoseTracker', 'KeypointSmoother', 'load_tracker_config', 'TrackerConfigError',
    'TRACKER_NAMES', 'track_summary'
]
