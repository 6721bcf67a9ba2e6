# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random flip that swaps left/right keypoints, and refuses to guess when the dataset has no flip map."""
from __future__ import annotations

import random
from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ..yolo_metainfo import warn_once


@TRANSFORMS.register_module()
class YOLORandomFlip(BaseTransform):
    """Flip the image with probability ``prob``, with its boxes and keypoints (left and right keypoints swapped by
    the sample's ``flip_indices``), as the YOLO training recipe does: in continuous pixel coordinates, x -> w - x
    (mmpose's ``RandomFlip`` uses w - 1 - x, one pixel off for YOLO labels).

    Skipped with a one-time warning when the sample has keypoints but an empty ``flip_indices``, i.e. the dataset
    yaml has no ``flip_idx``: flipping without swapping left and right would teach the model wrong labels.

    Args:
        prob: flip probability.
        direction: 'horizontal' or 'vertical'.

    The flipped image goes into the sample's ``img_slot`` of the batch when there is one (in place when the image
    is already there). Draws from Python's ``random`` (seeded per sample by the dataset). Required keys: img.
    Modified keys: img, bbox, keypoints, keypoints_visible. Added keys: flip, flip_direction.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'YOLORandomFlip: prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"YOLORandomFlip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = float(prob)
        self.direction = direction

    def transform(self, results: Dict) -> Optional[Dict]:
        results['flip'], results['flip_direction'] = False, None
        if not random.random() < self.prob:
            return results
        kpts = results.get('keypoints')
        flip_indices = results.get('flip_indices')
        if kpts is not None and kpts.ndim == 3 and kpts.shape[1] and not flip_indices:
            warn_once('flip-without-flip-idx',
                      'horizontal flip disabled: the dataset has no flip_idx (add flip_idx to the dataset yaml to '
                      'flip with left/right keypoints swapped)')
            return results
        img = results['img']
        h, w = img.shape[:2]
        horizontal = self.direction == 'horizontal'
        slot = results.get('img_slot')
        if slot is not None and slot.holds(img):  # the sample's own slot of the batch: flip it in place
            results['img'] = cv2.flip(img, 1 if horizontal else 0, dst=img)
        else:
            dst = slot.out(img) if slot is not None else None
            results['img'] = cv2.flip(img, 1 if horizontal else 0, dst=dst)
        axis, size = (0, w) if horizontal else (1, h)
        if results.get('bbox') is not None:
            b = results['bbox'].copy()
            b[:, axis], b[:, axis + 2] = size - results['bbox'][:, axis + 2], size - results['bbox'][:, axis]
            results['bbox'] = b
        if kpts is not None:
            kpts = kpts.copy()
            kpts[..., axis] = size - kpts[..., axis]
            if kpts.ndim == 3 and kpts.shape[1]:
                order = np.asarray(flip_indices, dtype=np.int64)
                kpts = kpts[:, order]
                if results.get('keypoints_visible') is not None:
                    results['keypoints_visible'] = results['keypoints_visible'][:, order]
            results['keypoints'] = kpts
        results['flip'], results['flip_direction'] = True, self.direction
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, direction={self.direction!r})'
