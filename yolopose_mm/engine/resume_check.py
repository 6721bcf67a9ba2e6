# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Choose the checkpoint a run resumes from, refusing truncated or corrupt files.

What users get (also in the README):

* ``--resume`` without a path (auto): the file ``last_checkpoint`` names, when it is complete. When it is missing,
  truncated or corrupt, the run resumes from the newest good ``epoch_N.pth`` / ``iter_N.pth`` of the work dir with a
  warning naming both (the damaged file is left in place and overwritten when the run saves that step again); with
  none good, it stops with an error. Auto-resume is what preemptible cluster jobs call after a restart, and stopping
  there would fail every restart of the job.
* ``--resume PATH``: the user named a file; a damaged one stops the run with an error that names it and the
  newest good checkpoint next to it (``--resume GOOD`` continues from there).
"""
from __future__ import annotations

import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional

from ..converters.checkpoint_errors import UnreadableCheckpointError, UnsafeCheckpointError, one_line
from ..converters.checkpoint_file import verify_checkpoint_file

_STEP_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


@dataclass(frozen=True)
class ResumeChoice:
    """``path``: the checkpoint to resume from (None: none to resume, train from the start). ``warning``: what was
    skipped and why (None when nothing was)."""

    path: Optional[str]
    warning: Optional[str] = None


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from (missing, truncated, corrupt), or None when it is complete."""
    try:
        verify_checkpoint_file(path)
    except FileNotFoundError:
        return 'the file does not exist'
    except UnreadableCheckpointError as e:
        return one_line(e).replace(f'{path}: ', '', 1)
    except UnsafeCheckpointError:
        return None  # complete, but refused: the loader reports it in one line
    return None


def step_checkpoints(folder: str) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` files of ``folder``, newest step first (epochs before iterations)."""
    if not osp.isdir(folder):
        return []
    found = [(m.group(1) == 'epoch', int(m.group(2)), name)
             for name in os.listdir(folder) for m in [_STEP_NAME.match(name)] if m]
    return [osp.join(folder, name) for _, _, name in sorted(found, reverse=True)]


def newest_good_checkpoint(folder: str, exclude: Optional[str] = None) -> Optional[str]:
    """The newest complete step checkpoint of ``folder`` other than ``exclude``."""
    for path in step_checkpoints(folder):
        if exclude is not None and osp.abspath(path) == osp.abspath(exclude):
            continue
        if checkpoint_problem(path) is None:
            return path
    return None


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path written in ``work_dir/last_checkpoint`` (None when there is no such file or it is empty)."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record, encoding='utf-8') as f:
        return f.read().strip() or None


def choose_resume_checkpoint(work_dir: str, requested: Optional[str] = None) -> ResumeChoice:
    """The checkpoint to resume from, following the rules of the module docstring.

    Args:
        work_dir: the run's work dir (holds ``last_checkpoint``).
        requested: the path the user gave (``--resume PATH`` / ``load_from`` with ``resume=True``); None: auto.

    Raises:
        UnreadableCheckpointError: ``requested`` is damaged, or auto-resume found only damaged checkpoints.
    """
    if requested is not None:
        problem = checkpoint_problem(requested)
        if problem is None:
            return ResumeChoice(requested)
        good = newest_good_checkpoint(osp.dirname(osp.abspath(requested)), exclude=requested)
        hint = (f'the newest good checkpoint next to it is {good}: resume from it with --resume {good}' if good
                else 'no good checkpoint was found next to it')
        raise UnreadableCheckpointError(f'{requested}: cannot resume from it: {problem}; {hint}', requested)
    named = read_last_checkpoint(work_dir)
    if named is not None:
        problem = checkpoint_problem(named)
        if problem is None:
            return ResumeChoice(named)
        why = f'{named} (named by {osp.join(work_dir, "last_checkpoint")}) cannot be resumed from: {problem}'
    else:
        if not step_checkpoints(work_dir):
            return ResumeChoice(None)
        why = f'{osp.join(work_dir, "last_checkpoint")} is missing although the work dir holds checkpoints'
    folder = osp.dirname(named) if named is not None else work_dir
    good = newest_good_checkpoint(folder, exclude=named)
    if good is None:
        raise UnreadableCheckpointError(f'{why}; no good epoch_N.pth / iter_N.pth in {folder} to resume from '
                                        '(remove last_checkpoint to train from the start)', named or work_dir)
    return ResumeChoice(good, f'{why}; resuming from the newest good checkpoint {good} instead')


__all__ = ['ResumeChoice', 'choose_resume_checkpoint', 'checkpoint_problem', 'newest_good_checkpoint',
           'step_checkpoints', 'read_last_checkpoint']
