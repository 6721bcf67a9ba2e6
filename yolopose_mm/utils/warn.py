# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""One-time warnings (a dataloader worker or a training loop must not repeat the same message)."""
from __future__ import annotations

import warnings

_WARNED: set = set()


def warn_once(key: str, message: str) -> None:
    """Emit ``message`` as a UserWarning once per process for ``key``."""
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)
