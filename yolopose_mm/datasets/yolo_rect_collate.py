# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Collate a batch of Ultralytics' rectangular validation protocol: one padded shape per batch.

Each sample arrives letterboxed by ``LetterBox(rect=True)`` (long side to ``img_size``, padded for a batch of
one). Its content is cut out of that padding (located with the sample's own ``input_size`` / ``input_center`` /
``input_scale``, the metainfo the estimator maps predictions back with) and centred again in the batch's shape,
the shape ``yolo val`` gives that batch (:func:`~.transforms.letterbox.rect_batch_shape` of the batch's aspect
ratios). The metainfo is updated, so predictions map back to the original image as before.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS

from .transforms.letterbox import centred_pad, rect_batch_shape


def _content_box(meta: dict) -> tuple:
    """(left, top, w, h, gain_x, gain_y) of the image content inside a letterboxed sample."""
    in_w, in_h = (float(v) for v in meta['input_size'])
    scale = np.asarray(meta['input_scale'], dtype=np.float64)
    center = np.asarray(meta['input_center'], dtype=np.float64)
    gx, gy = in_w / scale[0], in_h / scale[1]
    ori_h, ori_w = meta['ori_shape'][:2]
    left, top = int(round(in_w / 2 - center[0] * gx)), int(round(in_h / 2 - center[1] * gy))
    return left, top, int(round(ori_w * gx)), int(round(ori_h * gy)), gx, gy


@FUNCTIONS.register_module()
def yolo_rect_collate(data_batch: Sequence[dict], img_size: Optional[int] = None, stride: int = 32,
                      pad: float = 0.5, pad_val: int = 114) -> Any:
    """Re-pad every sample of the batch to the batch's ``yolo val`` shape, then ``pseudo_collate``.

    Args:
        data_batch: samples from ``PackPoseInputs`` (``inputs`` uint8 (3, H, W), ``data_samples`` with
            ``ori_shape``, ``input_size``, ``input_center``, ``input_scale``).
        img_size: the LetterBox's long side (``yolo val``'s ``imgsz``); None: read from the samples (the long
            side of their content).
        stride: the model's largest stride.
        pad: margin in strides (0.5 in ``yolo val``).
        pad_val: padding value (Ultralytics' grey, 114).

    Returns:
        ``pseudo_collate`` of the re-padded samples: every ``inputs`` tensor has the batch's shape.
    """
    if not data_batch:
        return pseudo_collate(data_batch)
    metas = [d['data_samples'].metainfo for d in data_batch]
    boxes = [_content_box(m) for m in metas]
    if img_size is None:
        img_size = max(boxes[0][2:4])
    out_h, out_w = rect_batch_shape([m['ori_shape'][0] / m['ori_shape'][1] for m in metas], img_size, stride, pad)
    repadded: List[dict] = []
    for sample, meta, (left, top, w, h, gx, gy) in zip(data_batch, metas, boxes):
        img = sample['inputs']
        if max(w, h) != img_size or w > out_w or h > out_h or top + h > img.shape[1] or left + w > img.shape[2]:
            raise ValueError(f'yolo_rect_collate(img_size={img_size}): {meta.get("img_path")} was letterboxed to '
                             f'{w}x{h} content in {img.shape[2]}x{img.shape[1]}; use LetterBox(input_size='
                             f'{img_size}, rect=True) in the pipeline and the same img_size here')
        new_l, new_t, _, _ = centred_pad((w, h), (out_w, out_h))
        canvas = torch.full((img.shape[0], out_h, out_w), pad_val, dtype=img.dtype)
        canvas[:, new_t:new_t + h, new_l:new_l + w] = img[:, top:top + h, left:left + w]
        data_sample = sample['data_samples']
        data_sample.set_metainfo(dict(
            input_size=(out_w, out_h), img_shape=(out_h, out_w),
            input_scale=np.array([out_w / gx, out_h / gy], dtype=np.float64),
            input_center=np.array([(out_w / 2 - new_l) / gx, (out_h / 2 - new_t) / gy], dtype=np.float64)))
        repadded.append({**sample, 'inputs': canvas})
    return pseudo_collate(repadded)


__all__ = ['yolo_rect_collate']
