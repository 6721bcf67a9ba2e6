# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Shared-memory batch buffers that a dataloader worker reuses once the main process has let go of them.

A worker hands every batch's images to the main process in shared memory. Allocating that memory afresh for
each batch (what torch's ``default_collate`` does, and what :class:`~.image_batch.ImageBatch` did) costs the
worker a shared-memory file, a mapping, a page fault per 4 kB page on the first write (the kernel zero-fills
each one) and the unmapping: about 1.5 ms per 640-px sample, a third of what the augmentation itself costs.

:class:`BatchBufferPool` keeps a few such buffers per worker and lends them out again. A buffer is reused only
when both of these hold:

* it left the worker inside a :class:`LeasedBatch` (``yolo_pose_collate`` wraps a batch whose images are one
  pooled buffer), so the main process knows to give it back; a buffer that left in any other way, or was never
  sent, is dropped from the pool at the next :meth:`~BatchBufferPool.acquire` and never written again;
* the main process has freed every tensor on it (views included): on arrival it registers the batch's storage,
  and each later arrival (:func:`release_freed_buffers`) clears the pool's in-use flag, a byte in a shared flags
  tensor, of every registered storage that no longer exists there.

A batch kept alive in the main process (a hook holding ``data_batch``, a list of batches) keeps its buffer; the
worker takes another one, or a fresh unpooled buffer when all ``capacity`` are lent. Values are unchanged: a
sample writes every pixel of its slot (the same calls as before, into reused memory). A process that loads its
own batches (``num_workers=0``) reuses plain buffers the same way (:class:`LocalBufferPool`), once nothing holds
them any more.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils.data import get_worker_info

DEFAULT_CAPACITY = 6  # prefetch_factor=2 batches queued, one built, one in use, one freed but not yet seen freed, spare


class BufferLease(NamedTuple):
    """A pooled buffer lent to one batch: its pool's shared (capacity,) uint8 flags tensor and its place there."""

    flags: torch.Tensor
    index: int


class _Pool:
    """What both pools share: up to ``capacity`` buffers, and which place a new batch's buffer takes."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if int(capacity) < 1:
            raise ValueError(f'{type(self).__name__}: capacity must be >= 1, got {capacity}')
        self.capacity = int(capacity)
        self._storages: List[Optional[torch.UntypedStorage]] = [None] * self.capacity
        self.counts: Dict[str, int] = dict(reused=0, allocated=0, unpooled=0)

    def _place(self, free: List[int], nbytes: int) -> Tuple[Optional[int], bool]:
        """(place, reused) among the ``free`` places: a buffer of ``nbytes`` there (reused), else an empty place or
        a free buffer of another size (to be replaced), else None (all lent: a buffer outside the pool)."""
        index = next((i for i in free if self._storages[i] is not None and self._storages[i].nbytes() == nbytes),
                     None)
        if index is not None:
            self.counts['reused'] += 1
            return index, True
        index = next((i for i in free if self._storages[i] is None), free[0] if free else None)
        self.counts['unpooled' if index is None else 'allocated'] += 1
        return index, False


class BatchBufferPool(_Pool):
    """Up to ``capacity`` shared-memory buffers of one worker process, lent to one batch at a time each.

    Args:
        capacity: Number of pooled buffers (>= 1).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__(capacity)
        self.flags = torch.zeros(self.capacity, dtype=torch.uint8).share_memory_()  # 1: lent out
        self._flags = self.flags.numpy()
        self._attached = [False] * self.capacity
        self.counts['dropped'] = 0

    def acquire(self, nbytes: int) -> Tuple[torch.UntypedStorage, Optional[BufferLease]]:
        """A shared-memory storage of ``nbytes`` bytes and its lease (None: a fresh buffer outside the pool)."""
        for i, storage in enumerate(self._storages):  # lent, but not to a LeasedBatch: it may be anywhere now
            if storage is not None and self._flags[i] and not self._attached[i]:
                self._storages[i] = None
                self._flags[i] = 0
                self.counts['dropped'] += 1
        index, reused = self._place([i for i in range(self.capacity) if not self._flags[i]], nbytes)
        if index is None:
            return torch.UntypedStorage._new_shared(nbytes), None
        if not reused:
            self._storages[index] = torch.UntypedStorage._new_shared(nbytes)
        self._flags[index] = 1
        self._attached[index] = False
        return self._storages[index], BufferLease(self.flags, index)

    def lease_of(self, storage: torch.UntypedStorage) -> Optional[BufferLease]:
        """The lease of a lent, not yet attached pooled ``storage`` (same memory), else None."""
        ptr = storage.data_ptr()
        for i, pooled in enumerate(self._storages):
            if pooled is not None and self._flags[i] and not self._attached[i] and pooled.data_ptr() == ptr \
                    and pooled.nbytes() == storage.nbytes():
                return BufferLease(self.flags, i)
        return None

    def attach(self, lease: BufferLease) -> None:
        """Mark the lent buffer as leaving inside a :class:`LeasedBatch` (the main process will give it back)."""
        self._attached[lease.index] = True


class LocalBufferPool(_Pool):
    """Up to ``capacity`` batch buffers of a process that loads its own batches (``num_workers=0``), each reused
    once nothing but the pool holds it (no tensor, view or numpy array on it is left): fresh memory of a batch's
    size is page-faulted in anew on every allocation, 9.8 MB for 8 640-px images.

    Args:
        capacity: Number of pooled buffers (>= 1).
    """

    def acquire(self, nbytes: int) -> torch.UntypedStorage:
        """A storage of ``nbytes`` bytes that nothing else holds (pooled when there is room)."""
        index, reused = self._place(
            [i for i, s in enumerate(self._storages) if s is None or _held_only_by_pool(s)], nbytes)
        if index is None:
            return torch.UntypedStorage(nbytes)
        if not reused:
            self._storages[index] = torch.UntypedStorage(nbytes)
        return self._storages[index]


def _held_only_by_pool(storage: torch.UntypedStorage) -> bool:
    """Whether the pool's reference is the storage's only one (torch's storage use count; False, so never reused,
    where this torch has no such count)."""
    count = getattr(torch._C, '_storage_Use_Count', None)
    return count is not None and count(storage._cdata) == 1


_pools: Dict[str, Any] = {'pid': None, 'worker': None, 'local': None}


def _this_process() -> Dict[str, Any]:
    if _pools['pid'] != os.getpid():  # a forked worker starts with pools of its own
        _pools.update(pid=os.getpid(), worker=None, local=None)
    return _pools


def worker_pool() -> Optional[BatchBufferPool]:
    """This dataloader worker's pool of shared buffers (made on first use); None outside a worker."""
    if get_worker_info() is None:
        return None
    pools = _this_process()
    if pools['worker'] is None:
        pools['worker'] = BatchBufferPool()
    return pools['worker']


def local_pool() -> LocalBufferPool:
    """This process's pool of plain batch buffers, for batches loaded outside a worker (made on first use)."""
    pools = _this_process()
    if pools['local'] is None:
        pools['local'] = LocalBufferPool()
    return pools['local']


class LeasedBatch(dict):
    """A collated batch (a dict) whose ``inputs`` tensor lives in a pooled buffer; it pickles as the plain dict
    plus its lease, and unpickles (in the main process) as the plain dict, its storage registered for return."""

    def __init__(self, batch: Dict[str, Any], lease: BufferLease) -> None:
        super().__init__(batch)
        self.lease = lease

    def __reduce__(self) -> Tuple:
        return _arrive, (dict(self), self.lease.flags, self.lease.index)


_returns_lock = threading.Lock()
_returns: List[Tuple[StorageWeakRef, torch.Tensor, int]] = []
_released = {'count': 0}


def _arrive(batch: Dict[str, Any], flags: torch.Tensor, index: int) -> Dict[str, Any]:
    release_freed_buffers()
    inputs = batch.get('inputs')
    if isinstance(inputs, torch.Tensor):
        with _returns_lock:
            _returns.append((StorageWeakRef(inputs.untyped_storage()), flags, index))
    return batch


def release_freed_buffers() -> int:
    """Main process: give back to their workers the pooled buffers whose tensors are all freed here; returns how
    many were given back in all so far."""
    with _returns_lock:
        kept = []
        for ref, flags, index in _returns:
            if ref.expired():
                flags[index] = 0
                _released['count'] += 1
            else:
                kept.append((ref, flags, index))
        _returns[:] = kept
        return _released['count']


__all__ = ['BatchBufferPool', 'BufferLease', 'LeasedBatch', 'LocalBufferPool', 'local_pool', 'release_freed_buffers',
           'worker_pool']
