# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""One (B, H, W, C) batch tensor that a batch's samples write their final images into.

In a dataloader worker, collating a batch of 640-px images used to cost more than a colour conversion per sample:
every image was written once by the last transform, then copied into a freshly allocated shared-memory batch
tensor (whose pages the kernel has to fault in one by one). With an :class:`ImageBatch` the last transforms that
produce an image (``YOLOHSVRandomAug``, ``YOLORandomFlip``, else ``YOLOPackPoseInputs``) write straight into the
sample's slot of the batch tensor, and ``yolo_pose_collate`` hands that tensor on as it is: one write per image,
no second buffer. Values are unchanged: the same OpenCV calls, only their destination differs. In a worker the
batch tensor is a buffer of the worker's :class:`~.batch_buffer_pool.BatchBufferPool`, reused once the main process
has freed it (no fresh shared memory per batch).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .batch_buffer_pool import local_pool, worker_pool


class ImageBatch:
    """``size`` image slots of one shape, allocated when the first slot is asked for (shared memory in a worker,
    so the batch crosses to the main process without a copy; plain memory in the main process).

    Args:
        size: number of samples in the batch.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f'ImageBatch: size must be >= 1, got {size}')
        self.size = int(size)
        self.tensor: Optional[torch.Tensor] = None  # (B, H, W, C) once allocated
        self._arrays: List[np.ndarray] = []

    def slots(self) -> List['ImageSlot']:
        """One handle per sample position."""
        return [ImageSlot(self, i) for i in range(self.size)]

    def array(self, index: int, shape: Tuple[int, ...], dtype: np.dtype) -> Optional[np.ndarray]:
        """The writable (H, W, C) array of slot ``index`` if the batch holds images of ``shape`` and ``dtype``
        (the first call decides), else None."""
        if len(shape) != 3 or np.dtype(dtype) != np.uint8:
            return None
        if self.tensor is None:
            numel = self.size * int(np.prod(shape))
            pool = worker_pool()
            # shared memory in a worker (as torch's default_collate allocates there), plain memory otherwise;
            # both from a pool, reused once free (fresh memory costs a page fault per 4 kB on the first write)
            storage = pool.acquire(numel)[0] if pool is not None else local_pool().acquire(numel)
            self.tensor = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (self.size, *shape))
            self._arrays = list(self.tensor.numpy())
        arr = self._arrays[index]
        return arr if arr.shape == tuple(shape) else None


class ImageSlot:
    """Sample ``index``'s place in an :class:`ImageBatch`, put in a pipeline's input as ``img_slot``.

    A deep copy of the pipeline's input gets a slot that offers no memory, so two copies never write one slot.
    """

    def __init__(self, batch: Optional[ImageBatch], index: int) -> None:
        self.batch, self.index = batch, index

    def out(self, like: np.ndarray) -> Optional[np.ndarray]:
        """A writable array for an image shaped and typed like ``like`` (the slot), or None when it does not fit."""
        if self.batch is None or not isinstance(like, np.ndarray):
            return None
        return self.batch.array(self.index, like.shape, like.dtype)

    def holds(self, img) -> bool:
        """Whether ``img`` is this slot's array (same memory, shape and strides)."""
        if self.batch is None or self.batch.tensor is None or not isinstance(img, np.ndarray):
            return False
        arr = self.batch._arrays[self.index]
        return (img.__array_interface__['data'][0] == arr.__array_interface__['data'][0] and img.shape == arr.shape
                and img.strides == arr.strides)

    def tensor(self) -> torch.Tensor:
        """The slot as a (H, W, C) view of the batch tensor (call only when :meth:`holds` the image)."""
        return self.batch.tensor[self.index]

    def __deepcopy__(self, memo) -> 'ImageSlot':
        return ImageSlot(None, self.index)


def batch_of_slots(inputs: Sequence) -> Optional[torch.Tensor]:
    """The (B, C, H, W) batch tensor when ``inputs`` are the (C, H, W) views of the B slots of one
    :class:`ImageBatch`, in order (what ``YOLOPackPoseInputs`` packs); else None."""
    if not inputs or not all(isinstance(x, torch.Tensor) and x.dim() == 3 for x in inputs):
        return None
    first = inputs[0]
    storage = first.untyped_storage()
    c, h, w = first.shape
    numel = c * h * w
    if first.dtype != torch.uint8 or storage.nbytes() != len(inputs) * numel:
        return None
    for i, x in enumerate(inputs):
        if (x.untyped_storage().data_ptr() != storage.data_ptr() or x.shape != first.shape or x.dtype != first.dtype
                or x.storage_offset() != i * numel or x.stride() != (1, w * c, c)):
            return None
    return torch.empty(0, dtype=torch.uint8).set_(storage, 0, (len(inputs), h, w, c)).permute(0, 3, 1, 2)
