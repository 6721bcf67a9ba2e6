# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Load a training image resized to fit the network input, as the YOLO training loader does."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ..image_cache import process_cache


def fit_size(hw: Tuple[int, int], box_wh: Tuple[int, int]) -> Tuple[int, int]:
    """(w, h) of an image of size ``hw`` scaled to fit ``box_wh`` keeping its aspect ratio.

    Each side is rounded up and capped at the box, as Ultralytics' training loader does (long side = the box).
    """
    h, w = hw
    r = min(box_wh[0] / w, box_wh[1] / h)
    if r == 1:
        return w, h
    return min(math.ceil(w * r), box_wh[0]), min(math.ceil(h * r), box_wh[1])


def decode_image(path: str) -> np.ndarray:
    """BGR uint8 (H, W, 3) image from a file (EXIF orientation applied); a clear error when it cannot be read."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {path!r} (missing, unreadable or not an image)')
    return img


def scale_annotations(results: Dict, gx: float, gy: float) -> None:
    """Scale ``bbox``, ``keypoints`` and ``area`` of ``results`` by (gx, gy), as new arrays (inputs untouched)."""
    if results.get('bbox') is not None:
        results['bbox'] = results['bbox'] * np.array([gx, gy, gx, gy], np.float32)
    if results.get('keypoints') is not None:
        results['keypoints'] = results['keypoints'] * np.array([gx, gy], np.float32)
    if results.get('area') is not None:
        results['area'] = results['area'] * np.float32(gx * gy)


def load_resized(path: str, img_scale: Tuple[int, int]) -> Tuple[np.ndarray, Tuple[int, int]]:
    """(image decoded from ``path`` and resized to fit ``img_scale``, original (h, w))."""
    img = decode_image(path)
    h0, w0 = img.shape[:2]
    w, h = fit_size((h0, w0), img_scale)
    if (w, h) != (w0, h0):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return img, (h0, w0)


@TRANSFORMS.register_module()
class YOLOLoadImage(BaseTransform):
    """Read ``img_path`` and resize the image to fit ``img_scale`` (long side to the input size, aspect kept,
    linear interpolation; small images are enlarged), with its boxes, keypoints and areas.

    This is what the YOLO training loader hands to mosaic and the random affine. Resized images are kept in a
    per-process cache: the whole dataset when it fits in ``cache_mb``, else the images of the current batch (the
    sample key's pool), so mosaic partners drawn from the batch cost no decode and each image is decoded at most
    once per batch. A cached image is the same as a decoded one, so the cache never changes a sample. Cached images
    are read-only: transforms must write new arrays (ours do).

    Args:
        img_scale: (w, h) to fit, or one int for a square.
        cache: keep decoded images in the per-process cache.
        cache_mb: per-process budget (MiB) under which the whole dataset is kept.

    Required keys: img_path (or img). Modified keys: bbox, keypoints, area. Added keys: img, img_shape, ori_shape,
    load_scale ((gx, gy) from the file to ``img``).
    """

    def __init__(self, img_scale: Union[int, Sequence[int]] = 640, cache: bool = True, cache_mb: float = 128) -> None:
        super().__init__()
        if isinstance(img_scale, int):
            img_scale = (img_scale, img_scale)
        img_scale = tuple(int(v) for v in img_scale)
        if len(img_scale) != 2 or min(img_scale) < 1:
            raise ValueError(f'YOLOLoadImage: img_scale must be an int or (w, h) of positive ints, got {img_scale}')
        self.img_scale = img_scale
        self.cache = bool(cache)
        if cache_mb < 0:
            raise ValueError(f'YOLOLoadImage: cache_mb must be >= 0, got {cache_mb}')
        self.cache_bytes = int(cache_mb * 2 ** 20)

    def transform(self, results: Dict) -> Optional[Dict]:
        img = results.get('img')
        if img is not None:
            h0, w0 = img.shape[:2]
            w, h = fit_size((h0, w0), self.img_scale)
            if (w, h) != (w0, h0):
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        elif self.cache:
            cache = process_cache()
            key, dataset = results.get('sample_key'), results.get('dataset')
            if key is not None and dataset is not None:  # a sample's own image (partners come without a key)
                cache.plan(len(dataset), len(key.pool) or 16, self.cache_bytes)
            path = results['img_path']
            img, (h0, w0) = cache.get(path, self.img_scale, lambda: load_resized(path, self.img_scale))
        else:
            img, (h0, w0) = load_resized(results['img_path'], self.img_scale)
        h, w = img.shape[:2]
        gx, gy = w / w0, h / h0
        scale_annotations(results, gx, gy)
        results['img'] = img
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h0, w0)
        results['load_scale'] = (gx, gy)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(img_scale={self.img_scale}, cache={self.cache}, '
                f'cache_mb={self.cache_bytes / 2 ** 20:g})')
