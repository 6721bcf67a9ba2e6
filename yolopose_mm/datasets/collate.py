# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Collate training samples so a batch crosses from a worker to the main process as a few tensors."""
from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from mmengine.structures import InstanceData
from torch.utils.data import default_collate

from .batch_buffer_pool import LeasedBatch, worker_pool
from .image_batch import batch_of_slots


class JoinedLabels(InstanceData):
    """A sample's ``gt_instance_labels`` whose tensor fields are slices of tensors joined over the batch.

    It behaves as the ``InstanceData`` it was made from; only its pickling differs (what leaving a dataloader worker
    does): each field that is still its slice is sent as (joined tensor, start, stop), the batch's samples naming
    the same joined tensor, which is sent once and by value (a few kB of labels; a shared-memory tensor costs a file
    descriptor fetched from the worker, about 0.17 ms each on arrival); the slices are cut again on arrival. A batch
    then crosses with its labels in its pickle instead of as one shared-memory tensor per field, views rebuilt per
    sample and field.
    """

    def join(self, name: str, joined: '_ByValue', start: int, stop: int) -> None:
        """Set field ``name`` to ``joined.tensor[start:stop]``, remembered as that slice."""
        view = joined.tensor[start:stop]
        self.set_field(view, name)
        self.__dict__.setdefault('_joined', {})[name] = (joined, start, stop, view)

    def __reduce__(self) -> Tuple:
        state = dict(self.__dict__)
        slices = {}
        for name, (joined, start, stop, view) in state.pop('_joined', {}).items():
            if state.get(name) is view:  # not replaced since
                slices[name] = (joined, start, stop)
                del state[name]
        return _rebuild_joined_labels, (type(self), state, slices)


class _ByValue:
    """A batch's joined label tensor, pickled once per batch as its values (a numpy array) and unpickled as the
    tensor."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def __reduce__(self) -> Tuple:
        try:
            return torch.from_numpy, (self.tensor.numpy(),)
        except (TypeError, RuntimeError):  # a dtype numpy lacks: as a tensor
            return _same, (self.tensor,)


def _same(value: Any) -> Any:
    return value


def _rebuild_joined_labels(cls: type, state: Dict[str, Any],
                           slices: Dict[str, Tuple[torch.Tensor, int, int]]) -> JoinedLabels:
    labels = cls.__new__(cls)
    labels.__dict__.update(state)
    for name, (joined, start, stop) in slices.items():
        labels.__dict__[name] = joined[start:stop]
    return labels


@FUNCTIONS.register_module()
def yolo_pose_collate(data_batch: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """mmengine's ``pseudo_collate`` for ``dict(inputs=..., data_samples=...)`` samples, except that

    * images of one size become one (B, C, H, W) tensor (the data preprocessor takes a batch tensor as well as a
      list, with the same result; in a worker, the tensor is allocated in shared memory directly); when the samples
      are (C, H, W) views of (H, W, C) images (``YOLOPackPoseInputs``), the batch is a view of the stacked
      (B, H, W, C) images, so the transposition happens once, in the data preprocessor (on the GPU there); when
      they are the slots of one ``ImageBatch`` (the dataset's ``__getitems__``), that batch tensor is used as is,
      without a copy, and
    * each tensor field of the samples' ``gt_instance_labels`` is joined into one tensor that the samples view
      (their labels become :class:`JoinedLabels`, which leave a worker inside the batch's pickle).

    A worker then hands over one shared-memory tensor per batch (the images) instead of about six per sample (each
    costs a shared-memory file and a descriptor passed between processes); when that tensor is a buffer of the
    worker's pool, the batch is a :class:`~.batch_buffer_pool.LeasedBatch` (a dict), which arrives in the main
    process as a plain dict and returns the buffer to the worker once it is freed there. Values are unchanged.
    """
    if not data_batch or not all(isinstance(d, dict) and 'inputs' in d and 'data_samples' in d for d in data_batch):
        return pseudo_collate(data_batch)
    inputs = [d['inputs'] for d in data_batch]
    pool, lease = worker_pool(), None
    samples = [d['data_samples'] for d in data_batch]
    if all(isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape == inputs[0].shape and x.dtype == inputs[0].dtype
           for x in inputs):
        hwc = [x.permute(1, 2, 0) for x in inputs]
        batch = batch_of_slots(inputs)
        if batch is not None:  # the images were written into one batch tensor already
            inputs = batch
            lease = pool.lease_of(batch.untyped_storage()) if pool is not None else None
        elif all(x.is_contiguous() for x in hwc):  # (C, H, W) views of (H, W, C) images: stack those, no transpose
            inputs = default_collate(hwc).permute(0, 3, 1, 2)
        else:
            inputs = default_collate(inputs)
    labels = [s.get('gt_instance_labels') for s in samples]
    if all(isinstance(lab, InstanceData) for lab in labels):
        joined = [JoinedLabels(metainfo=lab.metainfo) for lab in labels]
        names = list(dict.fromkeys(name for lab in labels for name in lab.keys()))
        for name in names:
            values = [lab.get(name) if name in lab else None for lab in labels]
            if not all(isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[1:] == values[0].shape[1:]
                       and v.dtype == values[0].dtype for v in values):
                for new, lab in zip(joined, labels):
                    if name in lab:
                        new.set_field(lab.get(name), name)
                continue
            cat, start = _ByValue(torch.cat(values)), 0
            for new, value in zip(joined, values):
                new.join(name, cat, start, start + len(value))
                start += len(value)
        for sample, new in zip(samples, joined):
            sample.gt_instance_labels = new
    out = pseudo_collate([{k: v for k, v in d.items() if k not in ('inputs', 'data_samples')} for d in data_batch])
    out = dict(out) if isinstance(out, dict) else {}
    out.update(inputs=inputs, data_samples=samples)
    if lease is not None:  # the batch tensor is a worker's pooled buffer: the main process gives it back when freed
        pool.attach(lease)
        return LeasedBatch(out, lease)
    return out
