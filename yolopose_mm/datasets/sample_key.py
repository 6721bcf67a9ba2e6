# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Sample keys: what a training sample's augmentation is a pure function of.

A :class:`SampleKey` travels from the sampler (main process) to the dataset (any worker), so a worker never needs
to know the epoch, the seed or its neighbours: the key says it all. :func:`seeded_rngs` seeds numpy's global RNG
and Python's ``random`` from the key for the duration of one sample, which is what mmpose's, mmdet's and our
transforms draw from.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Tuple

import numpy as np

_MASK64 = (1 << 64) - 1


class SampleKey(NamedTuple):
    """One training sample's identity.

    Attributes:
        index: dataset index of the sample's own image.
        seed: the run's seed (``randomness.seed``).
        epoch: the epoch the sample is drawn for.
        pool: dataset indices mosaic-style transforms draw their partner images from (the sample's batch);
            empty: draw from the whole dataset.
    """
    index: int
    seed: int
    epoch: int
    pool: Tuple[int, ...] = ()


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 64-bit seed that is a pure function of (seed, epoch, index), well mixed so neighbours differ."""
    return _splitmix64(_splitmix64(_splitmix64(int(seed) & _MASK64) ^ int(epoch)) ^ int(index))


@contextmanager
def seeded_rngs(key: SampleKey, restore: bool = True) -> Iterator[int]:
    """Seed numpy's global RNG and Python's ``random`` from ``key`` inside the block.

    Args:
        key: the sample key.
        restore: afterwards, reseed both generators from one draw each of their previous streams, so the caller's
            streams continue (deterministically) instead of repeating the sample's. Workers can skip this.

    Yields:
        the 64-bit sample seed.
    """
    s = sample_seed(key.seed, key.epoch, key.index)
    if restore:
        np_next = int(np.random.randint(1 << 31))
        py_next = random.getrandbits(64)
    np.random.seed(s & 0xFFFFFFFF)
    random.seed(s)
    try:
        yield s
    finally:
        if restore:
            np.random.seed(np_next)
            random.seed(py_next)
