# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random affine / perspective warp to the network input size, with the YOLO training recipe's semantics."""
from __future__ import annotations

import math
import random
import threading
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from .instances import num_instances, select_instances

_SCRATCH = threading.local()  # this thread's buffer for the part of a mosaic canvas a warp reads


def canvas_scratch(nbytes: int) -> np.ndarray:
    """This thread's reusable flat uint8 buffer of at least ``nbytes`` (a fresh buffer per sample would cost page
    faults; the warp's output never aliases it)."""
    buf = getattr(_SCRATCH, 'buf', None)
    if buf is None or buf.size < nbytes:
        buf = _SCRATCH.buf = np.empty(nbytes, np.uint8)
    return buf


def affine_matrix(src_wh: Tuple[float, float], out_wh: Tuple[int, int], degrees: float, translate: float,
                  scale: Tuple[float, float], shear: float, perspective: float) -> Tuple[np.ndarray, float]:
    """Draw a random warp from Python's ``random`` and return (M (3, 3) float32, scale).

    The source centre goes to the output centre, then perspective, rotation + scale, shear and a translation of up to
    ``translate`` x the output size are applied (M = T @ S @ R @ P @ C). Draw order: perspective x, y, angle, scale,
    shear x, shear y, translation x, y.
    """
    c = np.eye(3, dtype=np.float32)
    c[0, 2] = -src_wh[0] / 2
    c[1, 2] = -src_wh[1] / 2
    p = np.eye(3, dtype=np.float32)
    p[2, 0] = random.uniform(-perspective, perspective)
    p[2, 1] = random.uniform(-perspective, perspective)
    r = np.eye(3, dtype=np.float32)
    angle = random.uniform(-degrees, degrees)
    s = random.uniform(scale[0], scale[1])
    r[:2] = cv2.getRotationMatrix2D(angle=angle, center=(0, 0), scale=s)
    sh = np.eye(3, dtype=np.float32)
    sh[0, 1] = math.tan(random.uniform(-shear, shear) * math.pi / 180)
    sh[1, 0] = math.tan(random.uniform(-shear, shear) * math.pi / 180)
    t = np.eye(3, dtype=np.float32)
    t[0, 2] = random.uniform(0.5 - translate, 0.5 + translate) * out_wh[0]
    t[1, 2] = random.uniform(0.5 - translate, 0.5 + translate) * out_wh[1]
    return t @ sh @ r @ p @ c, s


def transform_points(xy: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(P, 2) points through the 3x3 matrix ``m`` (with the perspective division), same dtype."""
    ones = np.ones((len(xy), 3), dtype=xy.dtype)
    ones[:, :2] = xy
    out = ones @ m.T
    return out[:, :2] / out[:, 2:3]


def transform_boxes(bbox: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy boxes -> the xyxy boxes enclosing their four warped corners."""
    n = len(bbox)
    if n == 0:
        return bbox.reshape(0, 4)
    corners = bbox[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(n * 4, 2)
    xy = transform_points(corners, m).reshape(n, 8)
    x, y = xy[:, [0, 2, 4, 6]], xy[:, [1, 3, 5, 7]]
    return np.concatenate((x.min(1), y.min(1), x.max(1), y.max(1)), dtype=bbox.dtype).reshape(4, n).T


def box_candidates(before: np.ndarray, after: np.ndarray, wh_thr: float = 2, ar_thr: float = 100,
                   area_thr: float = 0.1, eps: float = 1e-16) -> np.ndarray:
    """People kept after a warp: (N,) bool, boxes wider and higher than ``wh_thr`` px, aspect below ``ar_thr`` and at
    least ``area_thr`` of their area before clipping (``before``: the boxes scaled by the warp's scale)."""
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    ar = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + eps) > area_thr) & (ar < ar_thr)


def warp_instances(results: Dict, m: np.ndarray, s: float, out_wh: Tuple[int, int], wh_thr: float,
                   ar_thr: float, area_thr: float) -> None:
    """Warp boxes and keypoints of ``results`` by ``m`` into an ``out_wh`` image, clip them, zero the visibility of
    keypoints that left it, and drop the people :func:`box_candidates` rejects (in place; empty samples pass)."""
    w, h = out_wh
    n = num_instances(results)
    if results.get('keypoints') is not None:
        kpts = results['keypoints']
        k = kpts.shape[1] if kpts.ndim == 3 else 0
        xy = transform_points(kpts.reshape(-1, 2).astype(np.float32), m) if n else kpts.reshape(0, 2)
        vis = results['keypoints_visible'].reshape(n, k).astype(np.float32)  # a new array
        outside = ((xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] > w) | (xy[:, 1] > h)).reshape(n, k)
        vis[outside] = 0.0
        xy = np.stack((xy[:, 0].clip(0, w), xy[:, 1].clip(0, h)), 1)
        results['keypoints'] = xy.reshape(n, k, 2).astype(np.float32)
        results['keypoints_visible'] = vis
    if results.get('bbox') is None:
        return
    bbox = results['bbox'].reshape(n, 4).astype(np.float32)
    new = transform_boxes(bbox, m)
    new = np.stack((new[:, 0].clip(0, w), new[:, 1].clip(0, h), new[:, 2].clip(0, w), new[:, 3].clip(0, h)), 1)
    results['bbox'] = new.reshape(n, 4)
    if results.get('area') is not None:
        results['area'] = results['area'] * np.float32(abs(np.linalg.det(m[:2, :2].astype(np.float64))))
    if n:
        select_instances(results, box_candidates(bbox * s, new, wh_thr, ar_thr, area_thr))


@TRANSFORMS.register_module()
class YOLORandomAffine(BaseTransform):
    """Random rotation, scale, shear, translation and perspective, warped once to ``input_size``, with the YOLO
    training recipe's semantics (Ultralytics' ``RandomPerspective``): the image centre maps to the output centre
    (for a mosaic: the centre of the 2x canvas), keypoints that leave the image become invisible, boxes are the
    hull of their warped corners clipped to the image, and people whose box becomes smaller than ``wh_thr`` px,
    more elongated than ``ar_thr`` or keeps less than ``area_thr`` of its area are dropped. Samples without people
    pass through (background images are valid training samples).

    Args:
        input_size: output (w, h), or one int for a square.
        degrees: rotation range (+/- degrees).
        translate: translation range as a fraction of the output size.
        scale: scale gain range: a float g for (1 - g, 1 + g) or (min, max).
        shear: shear range (+/- degrees).
        perspective: perspective range.
        pad_val: border colour.
        wh_thr, ar_thr, area_thr: the person filter above.

    Draws from Python's ``random`` (seeded per sample by the dataset). Required keys: img. Modified keys: img,
    img_shape, bbox, keypoints, keypoints_visible, area and the per-person fields. Added keys: input_size,
    warp_mat.
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 640, degrees: float = 0.0, translate: float = 0.1,
                 scale: Union[float, Sequence[float]] = 0.5, shear: float = 0.0, perspective: float = 0.0,
                 pad_val: int = 114, wh_thr: float = 2.0, ar_thr: float = 100.0, area_thr: float = 0.1) -> None:
        super().__init__()
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        self.input_size = tuple(int(v) for v in input_size)
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            raise ValueError(f'YOLORandomAffine: input_size must be an int or (w, h), got {input_size}')
        scale = (1.0 - scale, 1.0 + scale) if isinstance(scale, (int, float)) else tuple(float(v) for v in scale)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError(f'YOLORandomAffine: scale must give 0 < min <= max, got {scale}')
        if not 0 <= translate <= 0.5:
            raise ValueError(f'YOLORandomAffine: translate must be in [0, 0.5], got {translate}')
        if degrees < 0 or shear < 0 or perspective < 0:
            raise ValueError('YOLORandomAffine: degrees, shear and perspective must be >= 0')
        self.degrees, self.translate, self.scale = float(degrees), float(translate), scale
        self.shear, self.perspective = float(shear), float(perspective)
        self.pad_val = int(pad_val)
        self.wh_thr, self.ar_thr, self.area_thr = float(wh_thr), float(ar_thr), float(area_thr)

    def draw(self, src_wh: Tuple[float, float]) -> Tuple[np.ndarray, float]:
        """One random warp for a source of size ``src_wh``: (M (3, 3) float32, scale)."""
        return affine_matrix(src_wh, self.input_size, self.degrees, self.translate, self.scale, self.shear,
                             self.perspective)

    def warp_image(self, img: np.ndarray, m: np.ndarray) -> np.ndarray:
        border = (self.pad_val,) * 4  # 4 values: cv2 repeats the border colour in blocks of 4 channels
        if self.perspective:
            return cv2.warpPerspective(img, m, dsize=self.input_size, borderValue=border)
        return cv2.warpAffine(img, m[:2], dsize=self.input_size, borderValue=border)

    def transform(self, results: Dict) -> Optional[Dict]:
        layout = results.pop('mosaic_layout', None)  # a lazy YOLOMosaic canvas
        if layout is None:
            img = results['img']
            if img is None:
                raise ValueError("YOLORandomAffine: results['img'] is None and there is no mosaic layout")
            src_wh = (img.shape[1], img.shape[0])
        else:
            src_wh = layout.canvas_wh
        m, s = self.draw(src_wh)
        results['img'] = self.warp_image(img, m) if layout is None else self.warp_layout(layout, m)
        warp_instances(results, m, s, self.input_size, self.wh_thr, self.ar_thr, self.area_thr)
        results['img_shape'] = results['img'].shape[:2]
        results['input_size'] = self.input_size
        results['warp_mat'] = m
        return results

    def warp_layout(self, layout, m: np.ndarray) -> np.ndarray:
        """Warp a lazy mosaic canvas, drawing only the part of it the warp reads: the same pixels as
        ``warp_image(layout.render(), m)``, since OpenCV's fixed-point source coordinates only shift by the
        sub-canvas offset (the inverse matrix is OpenCV's own, its translation moved by whole pixels)."""
        if self.perspective:
            cw, ch = layout.canvas_wh
            return self.warp_image(layout.render(out=canvas_scratch(cw * ch * 3)), m)
        inv = cv2.invertAffineTransform(m[:2].astype(np.float64))
        w, h = self.input_size
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inv.T
        cw, ch = layout.canvas_wh
        x1 = int(min(max(math.floor(corners[:, 0].min()) - 2, 0), cw))
        y1 = int(min(max(math.floor(corners[:, 1].min()) - 2, 0), ch))
        x2 = int(max(min(math.ceil(corners[:, 0].max()) + 3, cw), x1))
        y2 = int(max(min(math.ceil(corners[:, 1].max()) + 3, ch), y1))
        if x2 <= x1 or y2 <= y1:  # the warp reads nothing of the canvas
            return np.full((h, w, 3), self.pad_val, np.uint8)
        inv[0, 2] -= x1
        inv[1, 2] -= y1
        src = layout.render((x1, y1, x2, y2), out=canvas_scratch((x2 - x1) * (y2 - y1) * 3))
        return cv2.warpAffine(src, inv, dsize=self.input_size,
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=(self.pad_val,) * 4)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, degrees={self.degrees}, '
                f'translate={self.translate}, scale={self.scale}, shear={self.shear}, '
                f'perspective={self.perspective})')
