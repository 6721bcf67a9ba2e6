# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random hue / saturation / value gains, the colour augmentation of the YOLO training recipe."""
from __future__ import annotations

import threading
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
    and saturation 0 stays 0); a look-up table per channel between two colour conversions, in scratch buffers
    kept between samples (OpenCV's 3-channel ``LUT`` takes about three times as long as three 1-channel ones, and
    fresh buffers cost page faults), in stripes of rows (:func:`stripe_rows`) so that the intermediate images stay
    in the core's cache. The result goes into the sample's ``img_slot`` of the batch when there is one.

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
        self._scratch = threading.local()

    def transform(self, results: Dict) -> Optional[Dict]:
        if not self.gains.any():
            return results
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'YOLOHSVRandomAug needs a BGR uint8 image, got {img.dtype} {img.shape}')
        table = self.table()[0]
        luts = [np.ascontiguousarray(table[:, c]) for c in range(3)]
        slot = results.get('img_slot')
        dst = slot.out(img) if slot is not None else None
        if dst is None:
            dst = np.empty_like(img)
        rows = stripe_rows(img.shape[0], img.shape[1])
        hsv, planes = self._buffers((rows, *img.shape[1:]))
        for y in range(0, img.shape[0], rows):  # a stripe's intermediates stay in the core's cache
            src, out = img[y:y + rows], dst[y:y + rows]
            n = len(src)
            part = cv2.cvtColor(src, cv2.COLOR_BGR2HSV, dst=hsv[:n])
            parts = [cv2.LUT(p, lut, dst=p) for lut, p in zip(luts, cv2.split(part, [p[:n] for p in planes]))]
            cv2.cvtColor(cv2.merge(parts, part), cv2.COLOR_HSV2BGR, dst=out)
        results['img'] = dst
        return results

    def _buffers(self, shape) -> tuple:
        """This thread's (h, W, 3) HSV stripe and three (h, W) planes for stripes of ``shape``."""
        scratch = self._scratch
        if getattr(scratch, 'shape', None) != shape:
            scratch.hsv = np.empty(shape, np.uint8)
            scratch.planes = [np.empty(shape[:2], np.uint8) for _ in range(3)]
            scratch.shape = shape
        return scratch.hsv, scratch.planes

    def table(self) -> np.ndarray:
        """Draw the three gains from numpy's global RNG and return the (1, 256, 3) uint8 HSV look-up table."""
        r = np.random.uniform(-1.0, 1.0, 3) * self.gains
        table = np.empty((256, 3), np.float64)
        np.remainder(_LEVELS + r[0] * 180, 180, out=table[:, 0])  # a hue shift (wraps at 180)
        np.clip(_LEVELS[:, None] * (r[1:] + 1), 0, 255, out=table[:, 1:])  # saturation and value gains
        table = table.astype(np.uint8)
        table[0, 1] = 0  # grey stays grey
        return table.reshape(1, 256, 3)

    def __getstate__(self) -> dict:  # scratch buffers stay in their process
        state = dict(self.__dict__)
        state.pop('_scratch', None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._scratch = threading.local()

    def __repr__(self) -> str:
        h, s, v = self.gains
        return f'{type(self).__name__}(hgain={h}, sgain={s}, vgain={v})'


STRIPE_PIXELS = 1 << 17  # about 0.4 MB per 3-channel buffer: a stripe's four buffers fit a 2 MB L2 cache


def stripe_rows(h: int, w: int) -> int:
    """Rows per stripe of an h x w image for :class:`YOLOHSVRandomAug` (the whole image when it is small).

    Stripes are whole rows: OpenCV converts colours row by row, each row's pixels in vector steps and the last few
    in a scalar loop, whose 8-bit HSV -> BGR values differ by 1 in some channels; a cut inside a row would change
    the pixels at the cut, a cut between rows changes nothing."""
    rows = max(1, STRIPE_PIXELS // max(w, 1))
    return h if rows >= h else rows
