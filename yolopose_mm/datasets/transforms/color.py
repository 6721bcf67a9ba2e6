# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random hue / saturation / value gains, the colour augmentation of the YOLO training recipe."""
from __future__ import annotations

from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS


_LEVELS = np.arange(256, dtype=np.float64)


@TRANSFORMS.register_module()
class YOLOHSVRandomAug(BaseTransform):
    """Shift the hue by a random fraction of the colour circle in [-g, g] and multiply saturation and value by
    random gains in [1 - g, 1 + g], as the YOLO training recipe does (Ultralytics >= 8.3.79: an additive hue shift,
    and saturation 0 stays 0); one 3-channel look-up table between two colour conversions.

    Args:
        hgain: hue gain amplitude (YOLO default 0.015).
        sgain: saturation gain amplitude (0.7).
        vgain: value gain amplitude (0.4).

    Required keys: img (BGR uint8). Modified keys: img.
    """

    def __init__(self, hgain: float = 0.015, sgain: float = 0.7, vgain: float = 0.4) -> None:
        super().__init__()
        for name, g in (('hgain', hgain), ('sgain', sgain), ('vgain', vgain)):
            if not 0.0 <= g <= 1.0:
                raise ValueError(f'YOLOHSVRandomAug: {name} must be in [0, 1], got {g}')
        self.gains = np.array([hgain, sgain, vgain], dtype=np.float64)

    def transform(self, results: Dict) -> Optional[Dict]:
        if not self.gains.any():
            return results
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'YOLOHSVRandomAug needs a BGR uint8 image, got {img.dtype} {img.shape}')
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        cv2.LUT(hsv, self.table(), dst=hsv)  # in place: hsv is ours
        results['img'] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return results

    def table(self) -> np.ndarray:
        """Draw the three gains from numpy's global RNG and return the (1, 256, 3) uint8 HSV look-up table."""
        r = np.random.uniform(-1.0, 1.0, 3) * self.gains
        table = np.empty((256, 3), np.float64)
        np.remainder(_LEVELS + r[0] * 180, 180, out=table[:, 0])  # a hue shift (wraps at 180)
        np.clip(_LEVELS[:, None] * (r[1:] + 1), 0, 255, out=table[:, 1:])  # saturation and value gains
        table = table.astype(np.uint8)
        table[0, 1] = 0  # grey stays grey
        return table.reshape(1, 256, 3)

    def __repr__(self) -> str:
        h, s, v = self.gains
        return f'{type(self).__name__}(hgain={h}, sgain={s}, vgain={v})'
