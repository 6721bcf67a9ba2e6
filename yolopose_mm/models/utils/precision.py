# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Full-precision regions for mixed-precision training: losses, assignment and decoding run in fp32.

Under ``torch.autocast`` (fp16 / bf16) the network's outputs come out in the low-precision dtype and the ops of a
loss would be autocast again. Small guards such as ``eps=1e-9`` are 0 in fp16 and pixel coordinates of 640 px have
a resolution of 0.5 px in fp16, so the YOLO loss and decode take fp32 copies of the outputs and switch autocast off.
Gradients flow back through the casts into the low-precision network unchanged.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, NamedTuple, TypeVar

import torch

T = TypeVar('T', bound=NamedTuple)


@contextlib.contextmanager
def autocast_off(device: torch.device) -> Iterator[None]:
    """Disable ``torch.autocast`` for ``device``'s type inside the block (a no-op where autocast does not exist)."""
    device_type = torch.device(device).type
    if not torch.amp.is_autocast_available(device_type):
        yield
        return
    with torch.autocast(device_type=device_type, enabled=False):
        yield


def float32_fields(outputs: T) -> T:
    """A copy of a named tuple whose floating-point tensor fields are cast to float32 (others untouched)."""
    return type(outputs)(*[v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
                           for v in outputs])


__all__ = ['autocast_off', 'float32_fields']
