# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Small, tested fixes that let the OpenMMLab stack (mmengine 0.10.7, mmdet 3.3, mmpose 1.3.2) run on torch 2.14.

Each fix is applied on ``import yolopose_mm`` and is idempotent:

* ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and mmengine 0.10.7 loads its own checkpoints
  without saying otherwise, so resume / ``load_from`` fail with "Unsupported global:
  mmengine.logging.history_buffer.HistoryBuffer" (and on numpy arrays in ``meta``). We register exactly the
  classes mmengine and mmpose put in a checkpoint as safe globals; the weights-only protection stays on.
  ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``; instead of allowing
  ``builtins.getattr`` we map that name to :func:`_history_buffer_getattr`, which resolves only those methods.
* mmengine reads local checkpoints with a bare ``torch.load``: a damaged or hostile file ends in torch's internal
  errors, whose advice for a refused file is to disable the protection. mmengine's local loader is replaced by
  :func:`yolopose_mm.converters.checkpoint_file.load_weights_only` (same weights-only load, typed one-line errors).
"""
from __future__ import annotations

import pickle
import warnings

# setuptools' pkg_resources (imported by mmengine and mmcv) warns on every start that it is deprecated: noise for
# our users, who cannot act on it; every other warning is kept.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)
from typing import Any, List

import numpy as np
import torch


_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as seen by weights-only unpickling: only HistoryBuffer's registered statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    # 'min', 'max', 'current', 'mean' are the built-in statistics; _statistics_methods holds them only after a
    # first HistoryBuffer was created in this process, plus any registered custom ones.
    if obj is HistoryBuffer and (name in _BUILTIN_STATISTICS or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'weights-only load: getattr({obj!r}, {name!r}) is not allowed (only '
                                 'HistoryBuffer statistics methods are)')


def checkpoint_safe_globals() -> List[Any]:
    """The non-tensor classes and functions an mmengine / mmpose checkpoint contains."""
    from mmengine.logging.history_buffer import HistoryBuffer

    try:  # numpy 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
    dtype_classes = [type(np.dtype(t)) for t in
                     ('float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                      'uint32', 'uint64', 'bool')]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes,
            (_history_buffer_getattr, 'builtins.getattr')]


def register_checkpoint_safe_globals() -> None:
    """Allow mmengine's own checkpoint contents under ``torch.load(weights_only=True)``."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


register_checkpoint_safe_globals()


def register_checkpoint_loader() -> None:
    """mmengine's local checkpoint loader -> our weights-only loader with clear errors."""
    from .converters.checkpoint_file import register_mmengine_loader
    register_mmengine_loader()


register_checkpoint_loader()
