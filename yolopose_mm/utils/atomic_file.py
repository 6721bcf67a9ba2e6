# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Write a file so that readers see either the old content or the whole new content, never a part.

The data goes to a temporary file in the destination's folder, is flushed to disk, and then renamed over the
destination (``os.replace``, atomic on POSIX and Windows). A process killed mid-write leaves only the temporary
``.<name>.tmp-<pid>`` file, which :func:`remove_stale_temporaries` clears.
"""
from __future__ import annotations

import glob
import io
import os
from typing import Any, List, Union

PathLike = Union[str, os.PathLike]


def _temporary_name(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f'.{name}.tmp-{os.getpid()}')


def atomic_write_bytes(path: PathLike, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (creates the folder)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temporary_name(path)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: PathLike, text: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_torch_save(obj: Any, path: PathLike) -> None:
    """``torch.save(obj, path)``, atomically."""
    import torch
    with io.BytesIO() as buf:
        torch.save(obj, buf)
        atomic_write_bytes(path, buf.getvalue())


def remove_stale_temporaries(folder: PathLike) -> List[str]:
    """Delete the temporaries a killed writer left in ``folder``; returns their paths."""
    removed = []
    for tmp in glob.glob(os.path.join(os.fspath(folder), '.*.tmp-*')):
        try:
            os.remove(tmp)
            removed.append(tmp)
        except OSError:
            pass
    return removed


__all__ = ['atomic_write_bytes', 'atomic_write_text', 'atomic_torch_save', 'remove_stale_temporaries']
