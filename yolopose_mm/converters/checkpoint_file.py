# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Read ``.pth`` checkpoints with torch's weights-only loader and clear, typed errors.

mmengine loads every local checkpoint (``load_from``, ``resume``, ``init_cfg=Pretrained``, mmpose's and
mmdeploy's ``init_model``) through :func:`load_weights_only` once ``yolopose_mm`` is imported
(:func:`register_mmengine_loader`). Before anything is unpickled, :func:`sniff_checkpoint` checks that the file is
one of ``torch.save``'s two formats; the weights-only load then refuses anything that is not a tensor or one of
the registered checkpoint types (``yolopose_mm.compat``). Errors are those of :mod:`.checkpoint_errors`; the
refusal message says what was refused and how to get a safe file, never to turn the protection off.
"""
from __future__ import annotations

import os
import pickle
import re
import warnings
import zipfile
from typing import Any, BinaryIO, Optional, Union

import torch

from .checkpoint_errors import UnreadableCheckpointError, UnsafeCheckpointError, one_line

Source = Union[str, os.PathLike, BinaryIO]

TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # the first object of torch.save's legacy (non-zip) format
_ZIP_LOCAL_HEADER = b'PK\x03\x04'


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Reads plain values only: every global (class, function) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise UnsafeCheckpointError(f"refusing to load: its pickle asks for '{module}.{name}' before the checkpoint "
                                    'data. Nothing from the file was run.', refused=f'{module}.{name}')

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError('persistent id outside the checkpoint data')


def _name(source: Source) -> Optional[str]:
    return str(source) if isinstance(source, (str, os.PathLike)) else None


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """The first sentence of an exception message, on one line (torch's read errors are paragraphs)."""
    text = one_line(exc) or type(exc).__name__
    if len(text) > limit:
        cut = text.find('. ')
        text = text[:cut + 1] if 0 < cut < limit else text[:limit] + '...'
    return text


def sniff_checkpoint(source: Source) -> str:
    """'zip' or 'legacy' when ``source`` has the layout of a ``torch.save`` file; nothing is unpickled but, for
    the legacy format, its leading magic number (with every global refused).

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpointError: empty, truncated, corrupt, or another kind of file.
        UnsafeCheckpointError: a bare pickle that asks for code before anything else.
    """
    name = _name(source)
    if name is not None and not os.path.isfile(name):
        raise FileNotFoundError(f'checkpoint not found: {name}' if not os.path.exists(name) else
                                f'checkpoint is not a file: {name}')
    f = open(name, 'rb') if name is not None else source
    try:
        start = f.tell()
        head = f.read(4)
        f.seek(start)
        if not head:
            raise UnreadableCheckpointError(f'{name or "checkpoint"}: empty file (0 bytes)', name)
        if head == _ZIP_LOCAL_HEADER:
            try:
                names = zipfile.ZipFile(f).namelist()
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise UnreadableCheckpointError(f'{name or "checkpoint"}: truncated or corrupt zip archive (the '
                                                f'torch.save format): {short_reason(e)}', name) from None
            finally:
                f.seek(start)
            if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
                raise UnreadableCheckpointError(f'{name or "checkpoint"}: a zip archive without data.pkl, not a '
                                                'torch.save checkpoint', name)
            return 'zip'
        try:
            magic = _NoGlobalsUnpickler(f).load()
        except UnsafeCheckpointError as e:
            raise UnsafeCheckpointError(f'{name or "checkpoint"}: {e}', name, e.refused) from None
        except Exception:  # noqa: BLE001 - any parse failure means: not this format
            magic = None
        finally:
            f.seek(start)
        if magic != TORCH_LEGACY_MAGIC:
            raise UnreadableCheckpointError(f'{name or "checkpoint"}: not a PyTorch checkpoint (neither the zip '
                                            'format of torch.save nor its legacy format)', name)
        return 'legacy'
    finally:
        if name is not None:
            f.close()


_REFUSED_GLOBAL = re.compile(r'GLOBAL (\S+?)(?: was not an allowed global| whose module|\s*$)')
_REFUSED_GETATTR = re.compile(r'weights-only load: (getattr\(.*?\)) is not allowed')


def _weights_only_reason(message: str) -> tuple:
    """(what was refused, one-line reason) from torch's weights-only error text, without its advice."""
    match = _REFUSED_GLOBAL.search(message)
    if match:
        refused = match.group(1).rstrip('.')
        return refused, f"its pickle asks for '{refused}', which is not a tensor or a registered checkpoint type"
    match = _REFUSED_GETATTR.search(message)
    if match:
        return match.group(1), f'its pickle calls {match.group(1)}, which only checkpoint statistics may use'
    tail = message.split('WeightsUnpickler error:')[-1].split('Check the documentation')[0]
    lines = [line.strip() for line in tail.splitlines() if line.strip() and 'weights_only' not in line]
    detail = f' ({lines[-1]})' if lines else ''
    return None, f'its pickle uses an instruction the weights-only loader does not allow{detail}'


def refusal_advice(path: Optional[str], refused: Optional[str]) -> str:
    """How to get a file that loads safely (never: turn the weights-only protection off)."""
    if refused and refused.startswith('ultralytics.'):
        return (f'it is an Ultralytics checkpoint: convert it safely with `python tools/convert_ultralytics.py '
                f'{path or "FILE"} OUT.pth` (or pass the .pt to tools/test.py, tools/demo.py or init_model)')
    return ("If you trust its source, re-save only the weights where it was made, e.g. "
            "torch.save({'state_dict': model.state_dict()}, 'weights.pth'), and load that file")


def _has_tensor(value: Any, depth: int = 2) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if depth and isinstance(value, dict):
        return any(_has_tensor(v, depth - 1) for v in value.values())
    return False


def load_weights_only(source: Source, map_location: Any = None) -> Any:
    """``torch.load(weights_only=True)`` of a checkpoint, with the errors of :mod:`.checkpoint_errors`.

    Args:
        source: a path or a binary file object.
        map_location: as for ``torch.load``.

    Returns:
        The checkpoint: a dict holding tensors (directly or under ``state_dict``).

    Raises:
        FileNotFoundError, UnsafeCheckpointError, UnreadableCheckpointError (a ValueError).
    """
    name = _name(source)
    label = name or 'checkpoint'
    sniff_checkpoint(source)
    try:
        with warnings.catch_warnings():  # torch warns (to stderr) about pickle protocols it may not support
            warnings.simplefilter('ignore', UserWarning)
            ckpt = torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        refused, reason = _weights_only_reason(str(e))
        raise UnsafeCheckpointError(f'{label}: refused: {reason}; nothing from the file was run. '
                                    f'{refusal_advice(name, refused)}', name, refused) from None
    except Exception as e:  # noqa: BLE001 - torch's reader raises many types for a damaged file
        raise UnreadableCheckpointError(f'{label}: not a readable PyTorch checkpoint: {short_reason(e)}',
                                        name) from None
    if not isinstance(ckpt, dict) or not _has_tensor(ckpt):
        raise UnreadableCheckpointError(f'{label}: not a checkpoint: it holds a {type(ckpt).__name__} without any '
                                        'tensor (expected a dict of weights or a dict with state_dict)', name)
    return ckpt


def verify_checkpoint_file(path: Union[str, os.PathLike]) -> None:
    """Check that a checkpoint file is complete (every zip member's CRC) without unpickling it.

    Raises:
        FileNotFoundError, UnreadableCheckpointError, UnsafeCheckpointError (legacy files are fully loaded).
    """
    if sniff_checkpoint(path) == 'legacy':
        load_weights_only(path, map_location='cpu')
        return
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise UnreadableCheckpointError(f'{path}: corrupt zip archive: {short_reason(e)}', path) from None
    if bad is not None:
        raise UnreadableCheckpointError(f'{path}: corrupt: the data of {bad} fails its checksum', path)


def _mmengine_local_loader(filename: str, map_location: Any = None) -> Any:
    return load_weights_only(os.path.expanduser(filename), map_location)


def register_mmengine_loader() -> None:
    """Make mmengine's ``CheckpointLoader`` read local files with :func:`load_weights_only` (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_mmengine_local_loader, force=True)


__all__ = ['sniff_checkpoint', 'load_weights_only', 'verify_checkpoint_file', 'register_mmengine_loader',
           'refusal_advice', 'short_reason', 'TORCH_LEGACY_MAGIC']
