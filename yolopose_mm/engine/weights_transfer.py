# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pretrained weights where they fit: keep the checkpoint tensors whose name and shape match the model, list the rest.

Fine-tuning a COCO model on data with other keypoints or classes changes the shapes of the head's output layers
(and, when K x dim changes the keypoint branch's width, of that whole branch). :func:`transferable_state` splits a
checkpoint's state dict into what loads and what does not, and :class:`TransferReport` says it in one line, as
Ultralytics' "Transferred 535/541 items from pretrained weights".
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

import torch

_WRAPPER_PREFIX = re.compile(r'^module\.')


@dataclass(frozen=True)
class TransferReport:
    """What a checkpoint gave a model.

    Attributes:
        total: entries of the model's state dict (parameters and buffers).
        transferred: model entries loaded from the checkpoint.
        mismatched: (name, checkpoint shape, model shape) of entries left at the model's initialisation.
        missing: model entries the checkpoint does not have (left at the model's initialisation).
        unused: checkpoint entries the model has no place for.
    """

    total: int
    transferred: Tuple[str, ...]
    mismatched: Tuple[Tuple[str, Tuple[int, ...], Tuple[int, ...]], ...]
    missing: Tuple[str, ...]
    unused: Tuple[str, ...]

    def describe(self, source: str, limit: int = 8) -> str:
        """``Transferred 535/541 tensors from SOURCE; ...`` with the skipped entries by reason (first ``limit``)."""
        text = f'Transferred {len(self.transferred)}/{self.total} tensors from {source}'
        parts = []
        if self.mismatched:
            items = [f'{n} {list(c)} -> {list(m)}' for n, c, m in self.mismatched[:limit]]
            more = f', ... ({len(self.mismatched) - limit} more)' if len(self.mismatched) > limit else ''
            parts.append(f'{len(self.mismatched)} with other shapes start from the model\'s initialisation: '
                         + ', '.join(items) + more)
        if self.missing:
            more = f', ... ({len(self.missing) - limit} more)' if len(self.missing) > limit else ''
            parts.append(f'{len(self.missing)} not in the checkpoint (initialised): ' + ', '.join(self.missing[:limit])
                         + more)
        if self.unused:
            more = f', ... ({len(self.unused) - limit} more)' if len(self.unused) > limit else ''
            parts.append(f'{len(self.unused)} checkpoint tensors unused: ' + ', '.join(self.unused[:limit]) + more)
        return text + ('; ' + '; '.join(parts) if parts else ' (all of them)')


def transferable_state(model_state: Mapping[str, torch.Tensor],
                       ckpt_state: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], TransferReport]:
    """The checkpoint entries that fit the model (same name and shape), and the report.

    Args:
        model_state: the model's ``state_dict()``.
        ckpt_state: the checkpoint's state dict (a ``module.`` prefix of a wrapped model is ignored).

    Returns:
        ``(state, report)``: ``state`` keeps the checkpoint's key spelling, so it loads where the full one would.
    """
    keep: Dict[str, torch.Tensor] = OrderedDict()
    transferred, mismatched, unused = [], [], []
    seen = set()
    for key, value in ckpt_state.items():
        name = _WRAPPER_PREFIX.sub('', key)
        target = model_state.get(name)
        if target is None:
            unused.append(name)
            continue
        seen.add(name)
        if not hasattr(value, 'shape') or tuple(value.shape) != tuple(target.shape):
            mismatched.append((name, tuple(getattr(value, 'shape', ())), tuple(target.shape)))
            continue
        keep[key] = value
        transferred.append(name)
    missing = [n for n in model_state if n not in seen]
    return keep, TransferReport(len(model_state), tuple(transferred), tuple(mismatched), tuple(missing),
                                tuple(unused))


__all__ = ['TransferReport', 'transferable_state']
