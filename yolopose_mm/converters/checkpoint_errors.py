# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The errors a checkpoint load can end with, and the one line a command-line tool prints for each.

Every loader of this package (the restricted unpickler of the converter, the weights-only loader mmengine uses
for ``.pth`` files, :func:`~yolopose_mm.apis.init_model`) raises only:

* ``FileNotFoundError``: there is no such file;
* :class:`UnsafeCheckpointError` (a ``pickle.UnpicklingError``): the file asks for code or for an object outside
  the allow-list; it was refused before anything from it ran;
* ``ValueError`` (:class:`UnreadableCheckpointError`, or the converter's ``ConversionError``): the file is empty,
  truncated, corrupt, not a PyTorch checkpoint, or not a supported model.

The tools turn them into one line on stderr (:func:`report_checkpoint_error`) and these exit codes:
``2`` file not found, ``3`` refused as unsafe, ``4`` unreadable or not a usable checkpoint.
"""
from __future__ import annotations

import functools
import os
import pickle
import sys
from typing import IO, Any, Callable, Optional, Union

PathLike = Union[str, os.PathLike]

EXIT_NOT_FOUND = 2
EXIT_UNSAFE = 3
EXIT_UNREADABLE = 4


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint asks for a callable, a class or a construct outside the allow-list; nothing was run.

    Attributes:
        path: the file (None when loading from memory).
        refused: what was refused (e.g. ``'posix.system'``), when known.
    """

    def __init__(self, message: str, path: Optional[PathLike] = None, refused: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.refused = refused

    def __reduce__(self):  # picklable across processes despite the extra arguments
        return type(self), (self.args[0], self.path, self.refused)


class UnreadableCheckpointError(ValueError):
    """The file is empty, truncated, corrupt or not a PyTorch checkpoint.

    Attributes:
        path: the file (None when loading from memory).
    """

    def __init__(self, message: str, path: Optional[PathLike] = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)

    def __reduce__(self):
        return type(self), (self.args[0], self.path)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return ' '.join(str(text).split())


def checkpoint_error_code(exc: BaseException) -> Optional[int]:
    """The documented exit code for a checkpoint error, or None when ``exc`` is not one."""
    from .ultralytics_ckpt import ConversionError
    if isinstance(exc, FileNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, UnsafeCheckpointError):
        return EXIT_UNSAFE
    if isinstance(exc, (UnreadableCheckpointError, ConversionError)):
        return EXIT_UNREADABLE
    return None


def checkpoint_error_line(exc: BaseException, path: Optional[PathLike] = None) -> str:
    """``error: FILE: reason`` on one line; FILE is the exception's own path, else ``path``."""
    where = getattr(exc, 'path', None) or (None if path is None else str(path))
    message = one_line(exc)
    if where and where not in message:
        message = f'{where}: {message}'
    return f'error: {message}'


def report_checkpoint_error(exc: BaseException, path: Optional[PathLike] = None,
                            stream: Optional[IO[str]] = None) -> int:
    """Print :func:`checkpoint_error_line` to ``stream`` (stderr) and return the exit code (4 when unknown)."""
    print(checkpoint_error_line(exc, path), file=stream or sys.stderr)
    code = checkpoint_error_code(exc)
    return EXIT_UNREADABLE if code is None else code


def checkpoint_errors() -> tuple:
    """The exception types :func:`report_checkpoint_error` is meant for (for ``except`` clauses)."""
    from .ultralytics_ckpt import ConversionError
    return (FileNotFoundError, UnsafeCheckpointError, UnreadableCheckpointError, ConversionError)


def exit_on_checkpoint_error(main: Optional[Callable] = None, *, code: Optional[int] = None) -> Any:
    """Decorate a tool's ``main`` so that a checkpoint error ends it with one line and its exit code.

    Args:
        main: the function (returns an exit code).
        code: exit with this code instead of the documented one (tools with their own exit-code table).
    """
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except checkpoint_errors() as e:
                rc = report_checkpoint_error(e)
                return rc if code is None else code
        return guarded
    return wrap(main) if main is not None else wrap


__all__ = ['exit_on_checkpoint_error', 'UnsafeCheckpointError', 'UnreadableCheckpointError', 'EXIT_NOT_FOUND',
           'EXIT_UNSAFE', 'EXIT_UNREADABLE',
           'one_line', 'checkpoint_error_code', 'checkpoint_error_line', 'report_checkpoint_error',
           'checkpoint_errors']
