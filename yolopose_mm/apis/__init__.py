# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .inference import PREDICT_TEST_CFG, build_inference_pipeline, inference, init_model

__all__ = ['init_model', 'inference', 'build_inference_pipeline', 'PREDICT_TEST_CFG']
