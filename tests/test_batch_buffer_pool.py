# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Batch buffers reused between batches: a worker's shared buffers come back only once the main process has freed
them, the main process's own only once nothing holds them, and batches stay what they were (real dataloader, real
worker processes, some batches kept alive while the loader goes on)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets.batch_buffer_pool import (BatchBufferPool, LocalBufferPool, release_freed_buffers)

TINY = Path(__file__).resolve().parents[1] / 'tests' / 'configs' / 'coco8_tiny.py'


def test_worker_pool_lends_a_buffer_again_only_when_given_back():
    pool = BatchBufferPool(capacity=2)
    a, lease_a = pool.acquire(64)
    pool.attach(lease_a)
    b, lease_b = pool.acquire(64)
    assert a.data_ptr() != b.data_ptr() and lease_b.index != lease_a.index and lease_a.flags[lease_a.index] == 1
    pool.attach(lease_b)
    c, lease_c = pool.acquire(64)  # both lent: a fresh buffer outside the pool
    assert lease_c is None and c.data_ptr() not in (a.data_ptr(), b.data_ptr())
    lease_a.flags[lease_a.index] = 0  # what the main process does once its copy of ``a`` is freed
    d, lease_d = pool.acquire(64)
    assert d.data_ptr() == a.data_ptr() and lease_d.index == lease_a.index
    assert pool.counts == dict(reused=1, allocated=2, unpooled=1, dropped=0)


def test_worker_pool_drops_a_buffer_that_left_without_its_lease():
    pool = BatchBufferPool(capacity=1)
    a, lease = pool.acquire(64)  # never attached: it may have left inside some other batch structure
    assert pool.lease_of(a) == lease
    b, lease_b = pool.acquire(64)
    assert pool.counts['dropped'] == 1 and b.data_ptr() != a.data_ptr() and lease_b is not None
    c, _ = pool.acquire(32)  # b was not attached either: dropped, and the place takes a buffer of the new size
    assert c.nbytes() == 32 and pool.counts['dropped'] == 2


def test_pools_reject_a_bad_capacity():
    for cls in (BatchBufferPool, LocalBufferPool):
        with pytest.raises(ValueError, match='capacity must be >= 1'):
            cls(capacity=0)


def test_local_pool_reuses_a_buffer_only_when_nothing_holds_it():
    pool = LocalBufferPool(capacity=2)
    a = pool.acquire(64)
    view = torch.empty(0, dtype=torch.uint8).set_(a, 0, (8, 8))[2:]
    del a
    b = pool.acquire(64)
    assert b.data_ptr() != view.data_ptr() - 16  # the view holds the first buffer
    arr = torch.empty(0, dtype=torch.uint8).set_(b, 0, (64,)).numpy()
    del b
    c = pool.acquire(64)  # both held: outside the pool
    assert pool.counts == dict(reused=0, allocated=2, unpooled=1)
    ptr = view.data_ptr() - 16
    del view, c
    assert pool.acquire(64).data_ptr() == ptr and pool.counts['reused'] == 1
    assert pool.acquire(64).data_ptr() != arr.ctypes.data  # the array still holds the second buffer


def _loader(workers: int):
    cfg = Config.fromfile(str(TINY))
    c = copy.deepcopy(cfg.train_dataloader)
    c.update(num_workers=workers, persistent_workers=workers > 0, batch_size=2)
    return Runner.build_dataloader(c, seed=0)


@pytest.mark.parametrize('workers', [0, 2])
def test_reused_buffers_leave_batches_unchanged(data_dir, workers):
    """Three epochs of the tiny recipe: every batch equals the reference (a fresh loader without workers whose
    batches are all kept, so nothing is reused there); the batches of the first epoch are kept alive to the end and
    still hold their pixels; the others are dropped at once, so their buffers come back and are reused."""
    init_default_scope('mmpose')

    def run(loader, keep_all):
        kept, copies, ptrs = [], [], []
        for epoch in range(3):
            loader.batch_sampler.set_epoch(epoch)
            for batch in loader:
                copies.append(batch['inputs'].clone())
                ptrs.append(batch['inputs'].data_ptr())
                if keep_all or epoch == 0:
                    kept.append(batch['inputs'])
                del batch
        return kept, copies, ptrs

    _, ref, _ = run(_loader(0), keep_all=True)
    released = release_freed_buffers()
    kept, got, ptrs = run(_loader(workers), keep_all=False)
    assert len(got) == len(ref) == 6 and not torch.equal(ref[0], ref[2])  # epochs differ
    for i, (x, y) in enumerate(zip(ref, got)):
        assert torch.equal(x, y), f'batch {i} differs'
    for i, x in enumerate(kept):  # the first epoch's batches, still alive: not written over by later ones
        assert torch.equal(x, ref[i]), f'kept batch {i} was overwritten'
    if workers:  # the main process gave the dropped batches' buffers back to their workers
        assert release_freed_buffers() > released
    else:  # the main process reused the memory of dropped batches, never that of the kept ones
        later = ptrs[2:]
        assert len(set(later)) < len(later) and not set(later) & {x.data_ptr() for x in kept}
    assert all(np.array_equal(x.numpy(), r.numpy()) for x, r in zip(kept, ref))
