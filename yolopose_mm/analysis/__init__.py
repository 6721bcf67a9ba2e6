# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .complexity import PoseNetworkForFlops, count_flops, count_parameters, model_summary

__all__ = ['PoseNetworkForFlops', 'count_flops', 'count_parameters', 'model_summary']
