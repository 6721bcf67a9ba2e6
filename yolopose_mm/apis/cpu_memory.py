# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Keep freed heap memory in the process (glibc), so the CPU network's activations are not page-faulted in anew.

With glibc's default malloc settings, a large block (a feature map of a frame: up to ~16 MB for 4 frames at
640x384) is either mapped fresh from the kernel and unmapped when freed, or returned to the kernel by heap
trimming; either way the next frame's block of the same size page-faults in again (the kernel zero-fills every
page, one thread at a time). On the 2-core machine of the README that cost about a quarter of the time per
frame with 2 torch threads and batches of 4. :func:`retain_freed_memory` raises glibc's mmap and trim
thresholds (``mallopt``) so freed blocks stay in the heap for reuse: the process keeps its peak heap size
instead of giving memory back. It changes the whole process, once; :func:`yolopose_mm.apis.track` and
:func:`yolopose_mm.apis.optimize_for_inference` (so ``init_model(optimize=True)``) call it for a model on the CPU
unless ``YOLOPOSE_RETAIN_MEMORY=0`` is set. Other C libraries (musl, macOS, Windows): nothing
happens.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 1 << 30  # blocks below 1 GiB come from the heap (mallopt takes a C int)
_TRIM_THRESHOLD = (1 << 31) - 1  # give memory back only when 2 GiB are free at the top of the heap

_state = {'done': False, 'applied': False}


def retain_freed_memory() -> bool:
    """Raise glibc's mmap / trim thresholds for this process (once; later calls return the first answer).

    Returns:
        True when glibc accepted both settings; False elsewhere, or when the environment variable
        ``YOLOPOSE_RETAIN_MEMORY`` is ``0`` (then nothing is changed).
    """
    if _state['done']:
        return _state['applied']
    _state['done'] = True
    if os.environ.get('YOLOPOSE_RETAIN_MEMORY', '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # present in glibc only
    except (OSError, AttributeError):
        return False
    del gnu_get_libc_version
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _state['applied'] = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _state['applied']


def freed_memory_retained() -> bool:
    """Whether :func:`retain_freed_memory` has changed this process's malloc settings."""
    return _state['applied']


__all__ = ['retain_freed_memory', 'freed_memory_retained']
