# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Batches of sample keys: (index, seed, epoch, mosaic pool) for reproducible augmentation with any workers."""
from __future__ import annotations

from typing import Iterator, List, Sequence, Union

from mmengine.logging import print_log
from mmpose.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, Sampler

from ..sample_key import SampleKey


@DATA_SAMPLERS.register_module()
class YOLOBatchSampler(BatchSampler):
    """Group the indices of ``sampler`` (e.g. mmengine's ``DefaultSampler``) into batches of :class:`SampleKey`.

    Each key carries the sampler's seed and epoch, so a dataset worker knows them even when it persists across
    epochs (it never sees the main process's ``set_epoch``), and the mosaic pool: the indices of the sample's batch
    (widened to the next ``min_pool`` positions of this rank's order when the batch is smaller), so mosaic partners
    are images the same worker loads for the same batch anyway. Everything is a function of (seed, epoch, order),
    so batches do not depend on the number of workers or on restarts.

    Datasets that cannot take keys (no ``accepts_sample_keys``, e.g. mmpose's ``CocoDataset``; use
    ``YOLOCocoDataset``) get plain indices, with one warning that their augmentation is not reproducible.

    Args:
        sampler: yields dataset indices; its ``seed`` and ``epoch`` are read at each ``__iter__``.
        batch_size: samples per batch.
        drop_last: drop the last incomplete batch.
        min_pool: the smallest mosaic pool (8; Ultralytics draws from up to 8 batches of recently loaded images).
    """

    def __init__(self, sampler: Union[Sampler, Sequence[int]], batch_size: int, drop_last: bool = False,
                 min_pool: int = 8) -> None:
        super().__init__(sampler, batch_size, drop_last)
        if min_pool < 1:
            raise ValueError(f'YOLOBatchSampler: min_pool must be >= 1, got {min_pool}')
        self.min_pool = int(min_pool)
        dataset = getattr(sampler, 'dataset', None)
        self.keyed = bool(getattr(dataset, 'accepts_sample_keys', False))
        if not self.keyed:
            print_log(f'YOLOBatchSampler: {type(dataset).__name__} does not take sample keys: its augmentation will '
                      'depend on the workers and will not resume exactly (use YOLOPoseDataset or YOLOCocoDataset)',
                      logger='current', level=30)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[List]:
        order = [int(i) for i in self.sampler]
        if not self.keyed:
            yield from self._batches(order)
            return
        seed = getattr(self.sampler, 'seed', None)
        if seed is None:
            raise ValueError('YOLOBatchSampler: the sampler has no seed; use mmengine\'s DefaultSampler (the Runner '
                             'gives it randomness.seed)')
        epoch = int(getattr(self.sampler, 'epoch', 0))
        pool_len = max(self.batch_size, self.min_pool)
        for start, batch in zip(range(0, len(order), self.batch_size), self._batches(order)):
            lo = max(0, min(start, len(order) - pool_len))
            pool = tuple(order[lo:lo + pool_len])
            yield [SampleKey(i, int(seed), epoch, pool) for i in batch]

    def _batches(self, order: List[int]) -> Iterator[List[int]]:
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __repr__(self) -> str:
        return f'{type(self).__name__}(batch_size={self.batch_size}, min_pool={self.min_pool})'

