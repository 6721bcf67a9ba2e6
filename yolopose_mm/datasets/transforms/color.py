# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random hue / saturation / value gains, the colour augmentation of the YOLO training recipe."""
from __future__ import annotations

from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class YOLOHSVRandomAug(BaseTransform):
    """Multiply H, S and V by random gains drawn uniformly from [1 - g, 1 + g] (hue wraps around at 180).

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
        r = np.random.uniform(-1.0, 1.0, 3) * self.gains + 1.0
        levels = np.arange(256, dtype=np.float64)
        tables = [((levels * r[0]) % 180).astype(np.uint8),
                  np.clip(levels * r[1], 0, 255).astype(np.uint8),
                  np.clip(levels * r[2], 0, 255).astype(np.uint8)]
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        channels = [cv2.LUT(c, t) for c, t in zip(cv2.split(hsv), tables)]
        results['img'] = cv2.cvtColor(cv2.merge(channels), cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self) -> str:
        h, s, v = self.gains
        return f'{type(self).__name__}(hgain={h}, sgain={s}, vgain={v})'
