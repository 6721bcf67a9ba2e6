# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""One place that sets a config's input size: every transform of every pipeline follows ``--imgsz``.

mmengine configs are evaluated file by file, so a child config that changes ``input_size`` does not change the
pipelines its base already built with the old size (each transform holds its own copy: ``img_scale`` of the loader
and mosaic, ``input_size`` of the affine, letterbox and target encoder, ...). :func:`set_input_size` rewrites a
loaded config instead: every size-valued argument that equals the config's current input size, in every component
of the train / val / test dataloaders, of the hooks (the close-mosaic pipeline) and of the config's named pipeline
variables, becomes the new one. It works on whatever transforms the pipelines hold, as long as they take the input
size as a ``(w, h)`` pair or as an int under a size-like key; values that are not the current input size are left
alone, and so is the model (it takes any multiple of its largest stride).
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

# int-valued arguments that hold an image side (pairs are recognised under any key)
SIZE_KEYS = frozenset({'input_size', 'img_scale', 'image_size', 'img_size', 'imgsz', 'size', 'scale', 'crop_size'})
SKIPPED = ('model',)  # the network takes any stride-multiple size; everything else with a size follows

Size = Tuple[int, int]


def as_size(value: Union[int, Sequence[int]]) -> Size:
    """``640`` or ``(w, h)`` as a ``(w, h)`` pair of ints."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f'an input size is an int or a (w, h) pair, got {value!r}')


def round_to_stride(size: Size, stride: int = 32) -> Tuple[Size, Optional[str]]:
    """Round each side up to a multiple of ``stride`` (what the network needs), with a note when it changed."""
    new = tuple(max(stride, -(-int(s) // stride) * stride) for s in size)
    note = None if new == tuple(size) else (f'input size {size[0]}x{size[1]} is not a multiple of the largest stride '
                                            f'{stride}: using {new[0]}x{new[1]}')
    return (int(new[0]), int(new[1])), note


def current_input_size(cfg: Any) -> Size:
    """The config's input size: its top-level ``input_size``, else the target encoder's in the train pipeline."""
    if cfg.get('input_size') is not None:
        return as_size(cfg.input_size)
    for transform in _transforms(cfg.get('train_dataloader')):
        encoder = transform.get('encoder') if isinstance(transform, dict) else None
        if isinstance(encoder, dict) and encoder.get('input_size') is not None:
            return as_size(encoder['input_size'])
    raise ValueError('cannot tell the config\'s input size: it has no top-level input_size and no GenerateTarget '
                     'encoder with input_size in the train pipeline; add input_size = (W, H) to the config')


def _transforms(node: Any):
    """Every dict with a 'type' below ``node`` (depth first)."""
    if isinstance(node, dict):
        if 'type' in node:
            yield node
        for value in node.values():
            yield from _transforms(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _transforms(value)


def _rewrite(node: Any, old: Size, new: Size, path: str, changes: List[str]) -> Any:
    """``node`` with every occurrence of the old size replaced (containers rebuilt, never mutated)."""
    if isinstance(node, dict):
        out = type(node)() if not hasattr(node, 'to_dict') else {}
        for key, value in node.items():
            where = f'{path}.{key}'
            if _is_pair(value) and as_size(value) == old and 'type' in node:
                out[key] = type(value)(new) if isinstance(value, (list, tuple)) else new
                changes.append(f"{where} ({node['type']})")
            elif key in SIZE_KEYS and _is_int(value) and old[0] == old[1] and int(value) == old[0] and 'type' in node:
                if new[0] != new[1]:
                    raise ValueError(f"{where} ({node['type']}) takes one side ({value}); a non-square input size "
                                     f'{new[0]}x{new[1]} cannot be set there')
                out[key] = new[0]
                changes.append(f"{where} ({node['type']})")
            else:
                out[key] = _rewrite(value, old, new, where, changes)
        return out
    if isinstance(node, list):
        return [_rewrite(v, old, new, f'{path}[{i}]', changes) for i, v in enumerate(node)]
    if isinstance(node, tuple):
        return tuple(_rewrite(v, old, new, f'{path}[{i}]', changes) for i, v in enumerate(node))
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value)


def set_input_size(cfg: Any, size: Union[int, Sequence[int]], stride: int = 32) -> Tuple[Size, List[str]]:
    """Set the input size of every pipeline of ``cfg`` (a loaded mmengine Config, changed in place).

    Args:
        cfg: the run's config.
        size: the new input size, ``S`` (square) or ``(w, h)``; rounded up to a multiple of ``stride``.
        stride: the network's largest stride.

    Returns:
        The size used and the places changed (``'train_dataloader.dataset.pipeline[1].img_scale (YOLOMosaic)'``,
        ...) plus, first, a note when the size was rounded.

    Raises:
        ValueError: the train pipeline holds no transform with the current input size (nothing would follow).
    """
    new, note = round_to_stride(as_size(size), stride)
    old = current_input_size(cfg)
    changes: List[str] = []
    for section in list(cfg.keys()):
        if section not in SKIPPED and isinstance(cfg[section], (dict, list, tuple)):
            cfg[section] = _rewrite(cfg[section], old, new, section, changes)
    if new != old and not any(c.startswith('train_dataloader') for c in changes) and cfg.get('train_dataloader'):
        raise ValueError(f'set_input_size: no transform of the train pipeline takes the input size {old[0]}x{old[1]} '
                         '(as a (w, h) pair, or an int under one of ' + ', '.join(sorted(SIZE_KEYS)) + '); set it '
                         'in the config by hand')
    cfg.input_size = new
    return new, ([note] if note else []) + changes


def describe_changes(old: Size, new: Size, changes: List[str]) -> str:
    """One line for the log: what followed the new input size."""
    places = [c for c in changes if c.startswith(('train_dataloader', 'val_dataloader', 'test_dataloader',
                                                  'custom_hooks'))]
    notes = [c for c in changes if c.startswith('input size')]
    kinds = sorted({c.split(' (')[-1].rstrip(')') for c in places})
    verb = 'changed' if tuple(old) != tuple(new) else 'checked (the config already uses it)'
    text = (f'input size {old[0]}x{old[1]} -> {new[0]}x{new[1]}: {len(places)} transform arguments of the '
            f"dataloaders and hooks {verb} ({', '.join(kinds)})")
    return '; '.join(notes + [text])


__all__ = ['SIZE_KEYS', 'as_size', 'round_to_stride', 'current_input_size', 'set_input_size', 'describe_changes']
