# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Collate training samples so a batch crosses from a worker to the main process as a few tensors."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from torch.utils.data import default_collate

from .image_batch import batch_of_slots


@FUNCTIONS.register_module()
def yolo_pose_collate(data_batch: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """mmengine's ``pseudo_collate`` for ``dict(inputs=..., data_samples=...)`` samples, except that

    * images of one size become one (B, C, H, W) tensor (the data preprocessor takes a batch tensor as well as a
      list, with the same result; in a worker, the tensor is allocated in shared memory directly); when the samples
      are (C, H, W) views of (H, W, C) images (``YOLOPackPoseInputs``), the batch is a view of the stacked
      (B, H, W, C) images, so the transposition happens once, in the data preprocessor (on the GPU there); when
      they are the slots of one ``ImageBatch`` (the dataset's ``__getitems__``), that batch tensor is used as is,
      without a copy, and
    * each tensor field of the samples' ``gt_instance_labels`` is joined into one tensor that the samples view.

    A worker then hands over a handful of shared-memory tensors per batch instead of about six per sample (each
    costs a shared-memory file and a descriptor passed between processes). Values are unchanged.
    """
    if not data_batch or not all(isinstance(d, dict) and 'inputs' in d and 'data_samples' in d for d in data_batch):
        return pseudo_collate(data_batch)
    inputs = [d['inputs'] for d in data_batch]
    samples = [d['data_samples'] for d in data_batch]
    if all(isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape == inputs[0].shape and x.dtype == inputs[0].dtype
           for x in inputs):
        hwc = [x.permute(1, 2, 0) for x in inputs]
        batch = batch_of_slots(inputs)
        if batch is not None:  # the images were written into one batch tensor already
            inputs = batch
        elif all(x.is_contiguous() for x in hwc):  # (C, H, W) views of (H, W, C) images: stack those, no transpose
            inputs = default_collate(hwc).permute(0, 3, 1, 2)
        else:
            inputs = default_collate(inputs)
    labels = [s.get('gt_instance_labels') for s in samples]
    if all(lab is not None for lab in labels):
        for name in list(labels[0].keys()):
            values = [lab.get(name) for lab in labels]
            if not all(isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[1:] == values[0].shape[1:]
                       and v.dtype == values[0].dtype for v in values):
                continue
            for lab, view in zip(labels, torch.cat(values).split([len(v) for v in values])):
                lab.set_field(view, name)
    out = pseudo_collate([{k: v for k, v in d.items() if k not in ('inputs', 'data_samples')} for d in data_batch])
    out = dict(out) if isinstance(out, dict) else {}
    out.update(inputs=inputs, data_samples=samples)
    return out
