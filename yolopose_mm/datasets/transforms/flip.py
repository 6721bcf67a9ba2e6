# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Horizontal flip that swaps left/right keypoints, and refuses to guess when the dataset has no flip map."""
from __future__ import annotations

from typing import Dict, Optional

from mmpose.datasets.transforms import RandomFlip
from mmpose.registry import TRANSFORMS

from ..yolo_metainfo import warn_once


@TRANSFORMS.register_module()
class YOLORandomFlip(RandomFlip):
    """mmpose's ``RandomFlip`` (horizontal by default), skipped with a one-time warning when the sample's
    ``flip_indices`` is empty, i.e. the dataset yaml has no ``flip_idx``: flipping without swapping left and right
    keypoints would teach the model wrong labels.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        super().__init__(prob=prob, direction=direction)

    def transform(self, results: Dict) -> Optional[Dict]:
        if 'keypoints' in results and not results.get('flip_indices'):
            warn_once('flip-without-flip-idx',
                      'horizontal flip disabled: the dataset has no flip_idx (add flip_idx to the dataset yaml to '
                      'flip with left/right keypoints swapped)')
            results['flip'] = False
            results['flip_direction'] = None
            return results
        return super().transform(results)
