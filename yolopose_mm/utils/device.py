# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The default device of the tools and the inference API: the first GPU where one exists, else the CPU."""
from __future__ import annotations

from typing import Optional


def default_device(device: Optional[str] = None) -> str:
    """``device`` when given, else 'cuda:0' when torch sees a GPU, else 'cpu'."""
    if device:
        return str(device)
    import torch
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def synchronize(device: str) -> None:
    """Wait for queued GPU work (for timings); a no-op on the CPU."""
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize(device)


__all__ = ['default_device', 'synchronize']
