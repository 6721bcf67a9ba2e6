# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmpose's ``PoseDataPreprocessor`` that also pads a batch of Ultralytics' rectangular validation protocol.

``LetterBox(rect=True)`` letterboxes each image as ``yolo val`` does for a batch of one (long side to ``size``,
padded, centred, to that image's stride-multiple rectangle) and marks the sample with ``rect_letterbox`` in its
metainfo. ``yolo val`` pads every image of a batch to one shape computed from the batch's aspect ratios
(:func:`~yolopose_mm.datasets.transforms.letterbox.rect_batch_shape`); this preprocessor does that step: it cuts
each marked sample's content out of its own padding and centres it in the batch's shape, updating the metainfo the
estimator maps predictions back with. A batch of one, and every batch without the mark (training, the square
protocol, :func:`yolopose_mm.apis.inference`), go through ``PoseDataPreprocessor`` unchanged.

Padding in the data preprocessor (not in a ``collate_fn``) keeps the dataloaders plain, so mmengine's Runner,
mmpose's ``MMPoseInferencer`` / ``inference_bottomup`` and mmdeploy all read the same config.

Normalisation: for a batch of uint8 images and a zero mean (the YOLO configs: mean 0, std 255), the channel flip,
float conversion, ``(x - 0) / std`` and bottom-right padding are one pass per image (:func:`fused_normalize`)
instead of mmengine's five (index copy, float copy, subtract, divide, pad, stack); the values are the same bit for
bit (``x - 0.0`` is ``x``, and each output is the same float32 division). Other means, dtypes or layouts go
through mmengine's code.
"""
from __future__ import annotations

import logging

from typing import Dict, List, Sequence, Tuple

import math

import numpy as np
import torch
from mmengine.logging import print_log
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS

from ...datasets.transforms.letterbox import RECT_LETTERBOX_KEY, centred_pad, rect_batch_shape


def _content_box(meta: dict) -> Tuple[int, int, int, int, float, float]:
    """(left, top, w, h, gain_x, gain_y) of the image content inside a letterboxed sample."""
    in_w, in_h = (float(v) for v in meta['input_size'])
    scale = np.asarray(meta['input_scale'], dtype=np.float64)
    center = np.asarray(meta['input_center'], dtype=np.float64)
    gx, gy = in_w / scale[0], in_h / scale[1]
    ori_h, ori_w = meta['ori_shape'][:2]
    left, top = int(round(in_w / 2 - center[0] * gx)), int(round(in_h / 2 - center[1] * gy))
    return left, top, int(round(ori_w * gx)), int(round(ori_h * gy)), gx, gy


def pad_rect_batch(inputs: Sequence[torch.Tensor], metas: Sequence[dict]) -> Tuple[List[torch.Tensor],
                                                                                   List[Dict[str, object]]]:
    """Centre every ``LetterBox(rect=True)`` sample of a batch in the batch's ``yolo val`` shape.

    Args:
        inputs: one (C, H, W) image per sample (unnormalised, as the pipeline made it).
        metas: each sample's metainfo: ``ori_shape``, ``input_size``, ``input_center``, ``input_scale`` and the
            ``rect_letterbox`` mark (``size``, ``stride``, ``pad``, ``pad_val`` of its LetterBox).

    Returns:
        The re-padded images, all (C, H_b, W_b), and per sample the metainfo to set (``img_shape``,
        ``input_size``, ``input_center``, ``input_scale``) so predictions map back to the original image.

    Raises:
        ValueError: the samples' LetterBox settings differ, or a sample's content is not ``size`` on its long side.
    """
    marks = [m[RECT_LETTERBOX_KEY] for m in metas]
    size, stride, pad, pad_val = (marks[0][k] for k in ('size', 'stride', 'pad', 'pad_val'))
    if any(mark != marks[0] for mark in marks[1:]):
        raise ValueError(f'YOLOPoseDataPreprocessor: one batch mixes LetterBox(rect=True) settings {marks[0]} and '
                         f'{next(m for m in marks if m != marks[0])}; letterbox a batch with one LetterBox')
    out_h, out_w = rect_batch_shape([m['ori_shape'][0] / m['ori_shape'][1] for m in metas], size, stride, pad)
    images, updates = [], []
    for img, meta in zip(inputs, metas):
        left, top, w, h, gx, gy = _content_box(meta)
        if max(w, h) != size or w > out_w or h > out_h or top + h > img.shape[1] or left + w > img.shape[2]:
            raise ValueError(f'YOLOPoseDataPreprocessor: {meta.get("img_path")} has {w}x{h} content in '
                             f'{img.shape[2]}x{img.shape[1]}, not what LetterBox(input_size={size}, rect=True) '
                             'gives; do not resize or pad the image after the LetterBox')
        new_l, new_t, _, _ = centred_pad((w, h), (out_w, out_h))
        if tuple(img.shape[1:]) == (out_h, out_w) and (left, top) == (new_l, new_t):
            images.append(img)  # already in place (e.g. a batch of one)
            updates.append({})
            continue
        canvas = torch.empty((img.shape[0], out_h, out_w), dtype=img.dtype, device=img.device)
        canvas[:] = torch.as_tensor(pad_val, dtype=img.dtype, device=img.device).view(-1, 1, 1)
        canvas[:, new_t:new_t + h, new_l:new_l + w] = img[:, top:top + h, left:left + w]
        images.append(canvas)
        updates.append(dict(
            img_shape=(out_h, out_w), input_size=(out_w, out_h),
            input_scale=np.array([out_w / gx, out_h / gy], dtype=np.float64),
            input_center=np.array([(out_w / 2 - new_l) / gx, (out_h / 2 - new_t) / gy], dtype=np.float64)))
    return images, updates


def fused_normalize(images: Sequence[torch.Tensor], std: torch.Tensor, flip_channels: bool, pad_size_divisor: int,
                    pad_value: float) -> torch.Tensor:
    """Channel flip, float32, divide by ``std``, pad at the bottom right and stack, writing each output once.

    Equal bit for bit to mmengine's ``ImgDataPreprocessor`` with ``mean`` all zeros: ``x[[2, 1, 0]]`` ->
    ``.float()`` -> ``(x - 0) / std`` -> ``stack_batch(..., pad_size_divisor, pad_value)``.

    Args:
        images: (3, H_i, W_i) uint8 tensors on one device.
        std: (3, 1, 1) float32 divisors.
        flip_channels: reverse the channel order (BGR <-> RGB, mmengine's ``[[2, 1, 0]]``).
        pad_size_divisor: the padded height and width are multiples of it.
        pad_value: the value of the padding (after normalisation).

    Returns:
        (B, C, H, W) float32, H and W the largest height and width rounded up to ``pad_size_divisor``.
    """
    channels = images[0].shape[0]
    div = max(int(pad_size_divisor), 1)
    out_h = int(math.ceil(max(x.shape[1] for x in images) / div)) * div
    out_w = int(math.ceil(max(x.shape[2] for x in images) / div)) * div
    out = torch.empty((len(images), channels, out_h, out_w), dtype=torch.float32, device=images[0].device)
    # divide by std's own (1, 1) tensors, as mmengine does: a Python scalar divisor may take a reciprocal-multiply
    # kernel on some devices, which can round differently
    divisors = std.to(device=out.device).view(-1, 1, 1)
    for i, img in enumerate(images):
        h, w = img.shape[1:]
        if h < out_h or w < out_w:
            out[i, :, h:].fill_(pad_value)
            out[i, :, :h, w:].fill_(pad_value)
        for c in range(channels):
            src = img[channels - 1 - c] if flip_channels else img[c]
            torch.div(src, divisors[c], out=out[i, c, :h, :w])
    return out


@MODELS.register_module()
class YOLOPoseDataPreprocessor(PoseDataPreprocessor):
    """``PoseDataPreprocessor`` (same arguments) that pads batches of ``LetterBox(rect=True)`` as ``yolo val``.

    A batch whose samples all carry the ``rect_letterbox`` mark (``LetterBox(rect=True)`` with
    ``'rect_letterbox'`` in ``PackPoseInputs``' ``meta_keys``) is padded by :func:`pad_rect_batch` first; then
    normalisation, stacking and ``pad_size_divisor`` as in mmpose. Other batches are mmpose's behaviour exactly;
    an unmarked batch of differently sized images (mmpose pads those at the bottom right, not centred as
    ``yolo val``: usually a ``LetterBox(rect=True)`` whose mark ``PackPoseInputs`` dropped) logs one warning that
    names the fix.
    """

    _warned_unmarked = False

    def forward(self, data: dict, training: bool = False) -> dict:
        samples = data.get('data_samples')
        inputs = data.get('inputs')
        if isinstance(inputs, (list, tuple)) and samples:
            marked = [RECT_LETTERBOX_KEY in s.metainfo for s in samples]
            if all(marked):
                images, updates = pad_rect_batch(inputs, [s.metainfo for s in samples])
                for sample, update in zip(samples, updates):
                    sample.set_metainfo(update)
                data = {**data, 'inputs': images}
            elif any(marked):
                raise ValueError('YOLOPoseDataPreprocessor: only some samples of the batch come from '
                                 "LetterBox(rect=True) (metainfo 'rect_letterbox'); batch them with one pipeline")
            elif not self._warned_unmarked and len({tuple(x.shape[-2:]) for x in inputs}) > 1:
                self._warned_unmarked = True
                print_log('YOLOPoseDataPreprocessor: a batch of differently sized images without the '
                          "'rect_letterbox' mark is padded at the bottom right (mmpose's rule), not centred as "
                          "yolo val does; if the pipeline has LetterBox(rect=True), add 'rect_letterbox' to "
                          "PackPoseInputs' meta_keys (this warning is shown once)", logger='current',
                          level=logging.WARNING)
        if self._can_fuse(data.get('inputs')):
            return self._fused_forward(data, training)
        return super().forward(data, training)

    def _can_fuse(self, inputs: object) -> bool:
        """Whether :func:`fused_normalize` gives exactly mmengine's result for these inputs."""
        return (isinstance(inputs, (list, tuple)) and len(inputs) > 0 and self._enable_normalize
                and bool((self.mean == 0).all()) and self.std.dtype == torch.float32
                and self.std.numel() == 3
                and all(isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and x.dim() == 3
                        and x.shape[0] == 3 for x in inputs))

    def _fused_forward(self, data: dict, training: bool) -> dict:
        """mmpose's ``PoseDataPreprocessor.forward`` with mmengine's normalisation replaced by
        :func:`fused_normalize` (same outputs and metainfo)."""
        batch_pad_shape = self._get_pad_shape(data)
        data = self.cast_data(data)
        inputs = fused_normalize(data['inputs'], self.std, self._channel_conversion, self.pad_size_divisor,
                                 self.pad_value)
        data_samples = data.get('data_samples')
        batch_input_shape = tuple(inputs[0].size()[-2:])
        for data_sample, pad_shape in zip(data_samples or [], batch_pad_shape):
            data_sample.set_metainfo({'batch_input_shape': batch_input_shape, 'pad_shape': pad_shape})
        if training and self.batch_augments is not None:
            for batch_aug in self.batch_augments:
                inputs, data_samples = batch_aug(inputs, data_samples)
        return {'inputs': inputs, 'data_samples': data_samples}


__all__ = ['YOLOPoseDataPreprocessor', 'fused_normalize', 'pad_rect_batch']
