# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A per-process cache of decoded, resized training images, so mosaic partners from the same batch cost no decode.

What a cached entry holds depends only on the file and the target size, so the cache can change speed, never a
sample: whatever a worker decoded before, its samples are the same. Entries are read-only arrays (a transform that
writes into one fails loudly instead of corrupting later samples).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable, Dict, Optional, Tuple

import numpy as np

Entry = Tuple[np.ndarray, Tuple[int, int]]  # (image, original (h, w))


class DecodedImageCache:
    """Least-recently-used cache of (image, original size) by (path, target size), bounded by a number of images.

    Args:
        capacity: images kept (``resize`` changes it; 0 disables caching).
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = int(capacity)
        self._entries: 'OrderedDict[Tuple[str, Tuple[int, int]], Entry]' = OrderedDict()
        self.hits = self.misses = 0
        self.nbytes = self.peak_nbytes = 0

    def resize(self, capacity: int) -> None:
        """Keep at most ``capacity`` images from now on (the oldest are dropped)."""
        self.capacity = int(capacity)
        self._evict()

    def plan(self, dataset_len: int, pool_len: int, budget_bytes: int) -> None:
        """Hold the whole dataset when it fits in ``budget_bytes`` (judged from the images held so far), else the
        ``pool_len`` images of the current batch."""
        per_image = self.nbytes / len(self._entries) if self._entries else 0
        fits = per_image > 0 and dataset_len * per_image <= budget_bytes
        capacity = dataset_len if fits else max(pool_len, 1)
        if capacity != self.capacity:
            self.resize(capacity)

    def get(self, path: str, size: Tuple[int, int], load: Callable[[], Entry]) -> Entry:
        """The entry for (path, size), from the cache or from ``load()`` (then cached)."""
        key = (path, size)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry
        self.misses += 1
        img, hw0 = load()
        if self.capacity <= 0:
            return img, hw0
        img.flags.writeable = False
        self._entries[key] = (img, hw0)
        self.nbytes += img.nbytes
        self._evict()
        self.peak_nbytes = max(self.peak_nbytes, self.nbytes)
        return img, hw0

    def _evict(self) -> None:
        while len(self._entries) > max(self.capacity, 0):
            _, (img, _) = self._entries.popitem(last=False)
            self.nbytes -= img.nbytes

    def stats(self) -> Dict[str, int]:
        """Hits, misses, images held, bytes held and the most bytes ever held."""
        return dict(hits=self.hits, misses=self.misses, images=len(self._entries), nbytes=self.nbytes,
                    peak_nbytes=self.peak_nbytes)

    def clear(self) -> None:
        """Drop every entry and reset the statistics."""
        self._entries.clear()
        self.nbytes = self.peak_nbytes = self.hits = self.misses = 0


_CACHE: Optional[DecodedImageCache] = None
_PID: Optional[int] = None


def process_cache() -> DecodedImageCache:
    """This process' cache (a forked worker starts with its parent's entries and counts its own statistics)."""
    global _CACHE, _PID
    if _CACHE is None:
        _CACHE = DecodedImageCache()
    if _PID != os.getpid():
        _PID = os.getpid()
        _CACHE.hits = _CACHE.misses = 0
        _CACHE.peak_nbytes = _CACHE.nbytes
    return _CACHE
