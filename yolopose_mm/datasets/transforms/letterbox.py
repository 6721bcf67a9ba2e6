# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Letterbox resize, as YOLO models see their input at test time."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

# metainfo key with which LetterBox(rect=True) marks a sample for YOLOPoseDataPreprocessor's batch padding
RECT_LETTERBOX_KEY = 'rect_letterbox'


def letterbox_params(img_hw: Tuple[int, int], target_hw: Tuple[int, int], stride: int, auto: bool,
                     scaleup: bool = True) -> Dict[str, object]:
    """Resize and padding for a letterbox.

    The long side is scaled to fit ``target_hw`` (keeping the aspect ratio), each side rounded to whole pixels;
    the remainder is padded, split between both sides (one pixel more at the bottom/right when odd). With
    ``auto`` the padded size is the smallest multiple of ``stride`` instead of ``target_hw``.

    Returns:
        dict with ``new_wh`` (resized content size), ``pad`` (left, top, right, bottom), ``gain_xy`` (per-axis
        content scale) and ``out_wh`` (padded size).
    """
    h, w = img_hw
    th, tw = target_hw
    r = min(th / h, tw / w)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = tw - new_w, th - new_h
    if auto:
        dw, dh = dw % stride, dh % stride
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    return dict(new_wh=(new_w, new_h), pad=(left, top, right, bottom), gain_xy=(new_w / w, new_h / h),
                out_wh=(new_w + left + right, new_h + top + bottom))


def rect_resized_wh(img_hw: Tuple[int, int], size: int) -> Tuple[int, int]:
    """(w, h) of an image whose long side YOLO's validation loader scales to ``size`` (sides rounded up)."""
    h, w = img_hw
    r = size / max(h, w)
    return (min(math.ceil(w * r), size), min(math.ceil(h * r), size)) if r != 1 else (w, h)


def rect_batch_shape(aspect_ratios: Sequence[float], size: int, stride: int,
                     rect_pad: float = 0.5) -> Tuple[int, int]:
    """(h, w) that YOLO's validation loader pads every image of a batch to.

    Args:
        aspect_ratios: h / w of each original image of the batch.
        size: the long side of the resized images.
        stride: the model's largest stride (both sides are multiples of it).
        rect_pad: margin in strides (0.5 in ``yolo val``).

    Returns:
        ``ceil(s * size / stride + rect_pad) * stride`` per side, where ``s`` is ``(max ar, 1)`` when every image
        is wider than tall, ``(1, 1 / min ar)`` when every image is taller than wide, else ``(1, 1)``.
    """
    lo, hi = float(min(aspect_ratios)), float(max(aspect_ratios))
    share_h, share_w = (hi, 1.0) if hi < 1 else ((1.0, 1 / lo) if lo > 1 else (1.0, 1.0))
    return (math.ceil(share_h * size / stride + rect_pad) * stride,
            math.ceil(share_w * size / stride + rect_pad) * stride)


def centred_pad(new_wh: Tuple[int, int], out_wh: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) padding that centres ``new_wh`` in ``out_wh`` (one more at the bottom/right)."""
    dw, dh = out_wh[0] - new_wh[0], out_wh[1] - new_wh[1]
    return round(dw / 2 - 0.1), round(dh / 2 - 0.1), round(dw / 2 + 0.1), round(dh / 2 + 0.1)


def val_rect_params(img_hw: Tuple[int, int], size: int, stride: int, rect_pad: float = 0.5) -> Dict[str, object]:
    """Resize and padding of YOLO's validation loader for a batch of one image.

    The long side is scaled to ``size`` (:func:`rect_resized_wh`), the image padded, centred, to
    :func:`rect_batch_shape` of its own aspect ratio. Same return format as :func:`letterbox_params`;
    ``YOLOPoseDataPreprocessor`` re-pads the images of a larger batch to that batch's shape.
    """
    h, w = img_hw
    new_w, new_h = rect_resized_wh(img_hw, size)
    out_h, out_w = rect_batch_shape([h / w], size, stride, rect_pad)
    return dict(new_wh=(new_w, new_h), pad=centred_pad((new_w, new_h), (out_w, out_h)),
                gain_xy=(new_w / w, new_h / h), out_wh=(out_w, out_h))


@TRANSFORMS.register_module()
class LetterBox(BaseTransform):
    """Resize keeping the aspect ratio and pad with a constant colour, centred.

    Records the mapping in mmpose's metainfo (``input_size``, ``input_center``, ``input_scale``) so that
    ``BottomupPoseEstimator`` maps predictions back to the original image. Keypoints and boxes present in the
    results (``keypoints``, ``bbox``) are transformed too.

    Args:
        input_size: Target (w, h) or one int for a square.
        auto: Pad only to the next multiple of ``stride`` (YOLO's predict path) instead of the full size.
        stride: Stride for ``auto``.
        pad_val: Padding colour.
        scaleup: Allow enlarging small images.
        interpolation: OpenCV interpolation flag.
        rect: Reproduce YOLO's validation loader instead: long side to ``max(input_size)``, padded to a stride
            multiple with ``rect_pad`` strides of margin (see :func:`val_rect_params`); ``auto`` and ``scaleup`` are
            then unused. Alone this is ``yolo val`` with ``batch=1``; with ``YOLORectBatchSampler`` in the
            dataloader and the model's ``YOLOPoseDataPreprocessor`` it is ``yolo val`` with any batch size: the
            sample is marked with ``rect_letterbox`` (size, stride, pad, pad_val), which ``PackPoseInputs`` must
            keep (``'rect_letterbox'`` in its ``meta_keys``) for the preprocessor to pad its batch.
        rect_pad: Margin in strides for ``rect`` (YOLO's validation loader uses 0.5).

    Required keys: img. Modified keys: img, img_shape, keypoints, bbox. Added keys: input_size, input_center,
    input_scale, letterbox_pad, letterbox_gain (and rect_letterbox with ``rect``).
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 640, auto: bool = False, stride: int = 32,
                 pad_val: Union[int, Sequence[int]] = 114, scaleup: bool = True,
                 interpolation: int = cv2.INTER_LINEAR, rect: bool = False, rect_pad: float = 0.5) -> None:
        super().__init__()
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        input_size = tuple(int(v) for v in input_size)
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError(f'LetterBox: input_size must be an int or (w, h) of positive ints, got {input_size}')
        if (auto or rect) and stride < 1:
            raise ValueError(f'LetterBox: stride must be >= 1 with auto=True, got {stride}')
        self.input_size = input_size
        self.auto = auto
        self.stride = stride
        self.pad_val = pad_val
        # one BGR tuple for cv2, computed once rather than per sample
        self._pad_color = (pad_val,) * 3 if isinstance(pad_val, (int, float)) else tuple(pad_val)
        self.scaleup = scaleup
        self.interpolation = interpolation
        if rect and rect_pad < 0:
            raise ValueError(f'LetterBox: rect_pad must be >= 0 strides, got {rect_pad}')
        self.rect = rect
        self.rect_pad = float(rect_pad)

    def transform(self, results: Dict) -> Optional[Dict]:
        img = results['img']
        h, w = img.shape[:2]
        if self.rect:
            p = val_rect_params((h, w), max(self.input_size), self.stride, self.rect_pad)
        else:
            p = letterbox_params((h, w), (self.input_size[1], self.input_size[0]), self.stride, self.auto,
                                 self.scaleup)
        new_w, new_h = p['new_wh']
        if (new_w, new_h) != (w, h):
            img = cv2.resize(img, (new_w, new_h), interpolation=self.interpolation)
        left, top, right, bottom = p['pad']
        img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=self._pad_color)
        gx, gy = p['gain_xy']
        out_w, out_h = p['out_wh']
        gain = np.array([gx, gy], dtype=np.float32)
        offset = np.array([left, top], dtype=np.float32)
        if results.get('keypoints') is not None:
            results['keypoints'] = results['keypoints'] * gain + offset
        if results.get('bbox') is not None:
            results['bbox'] = results['bbox'] * np.tile(gain, 2) + np.tile(offset, 2)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['input_size'] = (out_w, out_h)
        # The estimator maps x_in -> x_in / W * scale + center - scale / 2, which must equal (x_in - left) / gx.
        scale = np.array([out_w / gx, out_h / gy], dtype=np.float64)
        results['input_scale'] = scale
        results['input_center'] = np.array([(out_w / 2 - left) / gx, (out_h / 2 - top) / gy], dtype=np.float64)
        results['letterbox_pad'] = (left, top, right, bottom)
        results['letterbox_gain'] = (gx, gy)
        if self.rect:
            results[RECT_LETTERBOX_KEY] = dict(size=max(self.input_size), stride=self.stride, pad=self.rect_pad,
                                               pad_val=self._pad_color)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, auto={self.auto}, stride={self.stride}, '
                f'pad_val={self.pad_val}, rect={self.rect})')
