# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .color import YOLOHSVRandomAug
from .filter import YOLOFilterInstances
from .flip import YOLORandomFlip
from .letterbox import LetterBox, letterbox_params
from .load import YOLOLoadImage
from .mosaic import YOLOMosaic
from .pack import YOLOPackPoseInputs
from .random_affine import YOLORandomAffine

__all__ = ['LetterBox', 'letterbox_params', 'YOLOHSVRandomAug', 'YOLORandomFlip', 'YOLOFilterInstances',
           'YOLOLoadImage', 'YOLOMosaic', 'YOLORandomAffine', 'YOLOPackPoseInputs']
