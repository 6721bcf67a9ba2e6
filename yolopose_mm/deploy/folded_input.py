# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The data preprocessor's normalisation folded into the backend graph: the host hands the runtime uint8 images.

A YOLO pose model's data preprocessor turns each letterboxed uint8 BGR image into float32 RGB / 255 on the host:
a channel gather, a float copy, a subtraction and a division over 1.2 M values per 640 x 640 image (~11 ms of the
~80 ms an INT8 OpenVINO prediction takes end to end on this 2-core machine, more than the runtime's own input
conversion). OpenVINO can do the same steps inside the compiled graph (``openvino.preprocess.PrePostProcessor``:
u8 input, convert to f32, reverse channels, mean, scale), fused with the first convolution's input reorder.
Only static-shape OpenVINO models fold it (:class:`~.backends.openvino.OpenVINOWrapper` says why).

* :func:`foldable_normalization` reads the model's data preprocessor (mmengine ``ImgDataPreprocessor`` family:
  ``mean``, ``std``, ``bgr_to_rgb``, ``pad_value``) and says whether the graph can take it over;
* :class:`UInt8InputPreprocessor` then replaces it in the backend model: the same batching (``yolo val``'s
  rectangular batch padding, ``pad_size_divisor``) on the uint8 images, no conversion.

The numbers the network sees are the same up to float rounding (x / 255 in the graph instead of in torch).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, ImgDataPreprocessor, stack_batch


def foldable_normalization(preprocessor) -> Optional[Dict]:
    """``dict(mean, std, bgr_to_rgb, pad_value, pad_size_divisor)`` when ``preprocessor``'s work can run in the
    graph, else None (unknown type, batch augments, or a pad value that is no uint8 pixel value)."""
    if not isinstance(preprocessor, ImgDataPreprocessor) or getattr(preprocessor, 'batch_augments', None):
        return None
    if getattr(preprocessor, '_enable_normalize', False):
        mean = [float(v) for v in preprocessor.mean.view(-1)]
        std = [float(v) for v in preprocessor.std.view(-1)]
    else:
        mean, std = [0.0], [1.0]
    # the preprocessor pads normalised images with pad_value: as a pixel that is pad_value * std + mean
    raw_pad = [float(preprocessor.pad_value) * s + m for m, s in zip(mean, std)]
    pad = round(raw_pad[0])
    if any(abs(p - pad) > 1e-3 for p in raw_pad) or not 0 <= pad <= 255:
        return None
    return dict(mean=mean, std=std, bgr_to_rgb=bool(getattr(preprocessor, '_channel_conversion', False)),
                pad_value=int(pad), pad_size_divisor=int(preprocessor.pad_size_divisor))


class UInt8InputPreprocessor(BaseDataPreprocessor):
    """Batches uint8 (3, H, W) BGR images as the model's preprocessor would, without converting them.

    Batches of ``LetterBox(rect=True)`` samples get ``yolo val``'s shared shape
    (:func:`~yolopose_mm.models.data_preprocessors.yolo_pose_data_preprocessor.pad_rect_batch`), then every batch
    is padded to ``pad_size_divisor`` with ``pad_value`` (a pixel value).

    Args:
        pad_size_divisor: as the model's preprocessor's.
        pad_value: the pixel value of that padding (:func:`foldable_normalization`).
    """

    def __init__(self, pad_size_divisor: int = 1, pad_value: int = 0) -> None:
        super().__init__()
        self.pad_size_divisor, self.pad_value = int(pad_size_divisor), int(pad_value)

    def forward(self, data: dict, training: bool = False) -> dict:
        from ..datasets.transforms.letterbox import RECT_LETTERBOX_KEY
        from ..models.data_preprocessors.yolo_pose_data_preprocessor import pad_rect_batch
        data = self.cast_data(data)
        inputs, samples = data['inputs'], data.get('data_samples')
        images: List[torch.Tensor] = list(inputs) if isinstance(inputs, (list, tuple)) else list(inputs.unbind(0))
        bad = [tuple(i.shape) if i.dim() != 3 else i.dtype for i in images if i.dim() != 3 or i.dtype != torch.uint8]
        if bad:
            raise ValueError(f'the backend graph normalises the images itself and takes uint8 (3, H, W) BGR images '
                             f'(LoadImage without to_float32), got {bad[0]}; set backend_config.fold_preprocessing='
                             'False in the deploy config to normalise on the host')
        if samples and all(RECT_LETTERBOX_KEY in s.metainfo for s in samples):
            images, updates = pad_rect_batch(images, [s.metainfo for s in samples])
            for sample, update in zip(samples, updates):
                sample.set_metainfo(update)
        if len(images) == 1:  # the common case: one image, padded only if its sides are no multiple
            h, w = images[0].shape[1:]
            d = self.pad_size_divisor
            ph, pw = math.ceil(h / d) * d - h, math.ceil(w / d) * d - w
            img = images[0] if not (ph or pw) else F.pad(images[0], (0, pw, 0, ph), value=self.pad_value)
            batch = img.unsqueeze(0)
        else:
            batch = stack_batch(images, self.pad_size_divisor, self.pad_value)
        return {**data, 'inputs': batch, 'data_samples': samples}


__all__ = ['foldable_normalization', 'UInt8InputPreprocessor']
