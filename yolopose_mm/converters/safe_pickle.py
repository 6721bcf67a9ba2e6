# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Load a PyTorch checkpoint without running code from its pickle.

A ``torch.save`` file is a pickle program. An ordinary ``torch.load(weights_only=False)`` lets that program call
any importable function (``os.system``, ``subprocess.Popen``, ...). Here the unpickler resolves only:

* tensor and storage rebuilders and the few torch value types a checkpoint needs (``torch.Size``, dtypes,
  ``torch.device``);
* plain containers (``collections.OrderedDict``, ``set``, ``frozenset``, ...);
* classes of an allow-listed set of modules (by default Ultralytics' and ``torch.nn``'s), which become
  *inert records*: stand-ins that only store the state the pickle gives them. Their real code is never imported
  or run, so Ultralytics need not be installed.

Anything else makes loading stop with :class:`UnsafeCheckpointError` before it is called.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import warnings
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import torch

from .checkpoint_errors import UnreadableCheckpointError, UnsafeCheckpointError
from .checkpoint_file import short_reason, sniff_checkpoint


class InertRecord:
    """Stand-in for an object of an allow-listed class: keeps the pickled state, runs nothing.

    Attributes:
        record_module / record_name: the class the pickle named.
        state: what the pickle passed to ``__setstate__`` (usually the object's ``__dict__``).
        args: positional arguments of the constructor call, if any.
    """

    record_module = ''
    record_name = ''

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> 'InertRecord':
        obj = object.__new__(cls)
        obj.args, obj.kwargs, obj.state = args, kwargs, None
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # REDUCE with a record as the callable
        raise UnsafeCheckpointError(f"refusing to load: the checkpoint's pickle calls an object of "
                                    f'{self.record_module}.{self.record_name}; a checkpoint only rebuilds data. '
                                    'Nothing from the file was run.',
                                    refused=f'{self.record_module}.{self.record_name}')

    def __setitem__(self, key: Any, value: Any) -> None:  # SETITEMS on dict subclasses
        if not isinstance(self.state, dict):
            self.state = {}
        self.state[key] = value

    def append(self, value: Any) -> None:  # APPENDS on list subclasses
        if not isinstance(self.state, list):
            self.state = []
        self.state.append(value)

    def extend(self, values: Any) -> None:
        for v in values:
            self.append(v)

    @property
    def type_name(self) -> str:
        return self.record_name

    def get(self, key: str, default: Any = None) -> Any:
        """Attribute from the stored state dict (``None`` when the state is not a dict)."""
        return self.state.get(key, default) if isinstance(self.state, dict) else default

    def __repr__(self) -> str:
        return f'<inert {self.record_module}.{self.record_name}>'


class InertAttribute:
    """What ``getattr(<inert class>, name)`` gives inside a checkpoint: a name, nothing callable."""

    def __init__(self, owner: str, name: str) -> None:
        self.owner, self.name = owner, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsafeCheckpointError(f"refusing to load: the checkpoint's pickle calls {self.owner}.{self.name}(...), "
                                    'a method of a model class; a checkpoint only rebuilds data. Nothing from the '
                                    'file was run.', refused=f'{self.owner}.{self.name}')

    def __repr__(self) -> str:
        return f'<inert attribute {self.owner}.{self.name}>'


_RECORD_CLASSES: Dict[Tuple[str, str], type] = {}


def _record_class(module: str, name: str) -> type:
    key = (module, name)
    if key not in _RECORD_CLASSES:
        _RECORD_CLASSES[key] = type(name, (InertRecord,), {'record_module': module, 'record_name': name,
                                                           '__module__': 'yolopose_mm.inert.' + module})
    return _RECORD_CLASSES[key]


def _inert_getattr(obj: Any, name: str) -> InertAttribute:
    if isinstance(obj, type) and issubclass(obj, InertRecord):
        return InertAttribute(f'{obj.record_module}.{obj.record_name}', str(name))
    if isinstance(obj, InertRecord):  # a bound method kept on a layer, e.g. `forward = forward_fuse` after fusing
        return InertAttribute(f'{obj.record_module}.{obj.record_name}', str(name))
    raise UnsafeCheckpointError(f'refusing to load: the checkpoint calls getattr on {obj!r}; only attributes of '
                                'inert records are allowed. Nothing from the file was run.',
                                refused=f'getattr({obj!r}, {name!r})')


def _torch_dtype(name: str) -> Optional[torch.dtype]:
    value = getattr(torch, name, None)
    return value if isinstance(value, torch.dtype) else None


# Callables that rebuild data and cannot reach anything else.
_SAFE_GLOBALS: Dict[Tuple[str, str], Any] = {
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): torch._utils._rebuild_parameter,
    ('torch._utils', '_rebuild_parameter_with_state'): torch._utils._rebuild_parameter_with_state,
    ('torch', 'Size'): torch.Size,
    ('torch', 'device'): torch.device,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('builtins', 'slice'): slice,
    ('builtins', 'complex'): complex,
    ('builtins', 'getattr'): _inert_getattr,
    ('__builtin__', 'set'): set,
    ('__builtin__', 'frozenset'): frozenset,
    ('__builtin__', 'getattr'): _inert_getattr,
}

DEFAULT_RECORD_MODULES: Tuple[str, ...] = ('ultralytics.', 'torch.nn.modules.', 'argparse', 'types')


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the allow-list above (see the module docstring)."""

    record_modules: Tuple[str, ...] = DEFAULT_RECORD_MODULES

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[(module, name)]
        if module == 'torch':
            dtype = _torch_dtype(name)
            if dtype is not None:
                return dtype
        if any(module == m.rstrip('.') or module.startswith(m) for m in self.record_modules):
            return _record_class(module, name)
        raise UnsafeCheckpointError(
            f"refusing to load: the checkpoint's pickle asks for '{module}.{name}', which is not a tensor, a plain "
            'container or a model-layer class. Nothing from the file was run. If you trust the file, load it with '
            'the tool that wrote it.', refused=f'{module}.{name}')


class _RestrictedPickleModule:
    """The shape of a ``pickle`` module that ``torch.load(pickle_module=...)`` expects."""

    Unpickler = RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError
    __name__ = 'yolopose_mm_restricted_pickle'

    @staticmethod
    def load(f: Any, **kwargs: Any) -> Any:
        return RestrictedUnpickler(f, **kwargs).load()


def safe_load_checkpoint(path: Union[str, os.PathLike, io.BytesIO]) -> Any:
    """Load a ``torch.save`` checkpoint with the restricted unpickler (tensors on CPU).

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the pickle references anything outside the allow-list (nothing is executed).
        UnreadableCheckpointError (a ValueError): the file is not a readable PyTorch checkpoint.
    """
    name = str(path) if isinstance(path, (str, os.PathLike)) else None
    label = name or 'checkpoint'
    sniff_checkpoint(path)
    try:
        with warnings.catch_warnings():  # torch's warnings about pickle protocols would go to stderr
            warnings.simplefilter('ignore', UserWarning)
            return torch.load(path, map_location='cpu', weights_only=False, pickle_module=_RestrictedPickleModule)
    except UnsafeCheckpointError as e:
        raise UnsafeCheckpointError(f'{label}: {e}', name, e.refused) from None
    except Exception as e:  # noqa: BLE001 - whatever a damaged pickle makes torch or a rebuilder raise
        raise UnreadableCheckpointError(f'{label}: not a readable PyTorch checkpoint: {short_reason(e)}',
                                        name) from None


def iter_module_records(record: Any, prefix: str = '') -> Iterator[Tuple[str, InertRecord]]:
    """Depth-first (name, record) pairs of an inert ``nn.Module`` tree, following its ``_modules`` dicts."""
    if not isinstance(record, InertRecord):
        return
    yield prefix, record
    children = record.get('_modules') or {}
    for name, child in children.items():
        if child is not None:
            yield from iter_module_records(child, f'{prefix}.{name}' if prefix else name)


def record_tensors(record: InertRecord) -> Dict[str, torch.Tensor]:
    """A record's own parameters and persistent buffers (like ``state_dict(recurse=False)``)."""
    out: Dict[str, torch.Tensor] = {}
    for name, value in (record.get('_parameters') or {}).items():
        if value is not None:
            out[name] = value.detach() if isinstance(value, torch.Tensor) else value
    skip = record.get('_non_persistent_buffers_set') or set()
    for name, value in (record.get('_buffers') or {}).items():
        if value is not None and name not in skip:
            out[name] = value
    return out


def record_child(record: InertRecord, path: Sequence[str]) -> Optional[InertRecord]:
    """Follow child names (``_modules`` keys) from ``record``; None when a name is missing."""
    node: Any = record
    for name in path:
        children = node.get('_modules') if isinstance(node, InertRecord) else None
        if not children or name not in children:
            return None
        node = children[name]
    return node


__all__ = ['UnsafeCheckpointError', 'UnreadableCheckpointError', 'InertRecord', 'RestrictedUnpickler',
           'safe_load_checkpoint', 'iter_module_records', 'record_tensors', 'record_child']
