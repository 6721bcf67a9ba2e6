# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmengine's CheckpointHook with atomic saves and a checked resume.

* Each checkpoint is written to a temporary file in its folder, flushed to disk and renamed into place
  (:class:`AtomicLocalBackend`), and ``last_checkpoint`` is updated the same way afterwards: a run killed during a
  save leaves the previous checkpoint and a ``last_checkpoint`` naming it, plus a temporary file the next run clears.
* Checkpoints beyond ``max_keep_ckpts`` are deleted only once the new one is safely written (mmengine 0.10.7
  deletes first, so with ``max_keep_ckpts=1`` a kill during the save left no checkpoint at all).
* Before a resumed run loads anything, the checkpoint it would resume from is checked (every zip member's
  checksum); :mod:`~yolopose_mm.engine.resume_check` says what happens with a damaged one.
"""
from __future__ import annotations

import logging
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.dist import barrier, is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmpose.registry import HOOKS

from ...utils.atomic_file import atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from ..resume_check import choose_resume_checkpoint

ATOMIC_BACKEND = 'yolopose_atomic_local'


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` / ``put_text`` replace the file atomically."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(filepath, obj.encode(encoding))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) whose saves are atomic and whose resume refuses damaged files.

    Local checkpoints (no ``backend_args``, or ``backend='local'``) use :class:`AtomicLocalBackend`; other backends
    (object stores) are used unchanged.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.file_client_args is None and (self.backend_args is None or
                                              self.backend_args.get('backend') == 'local'):
            self.backend_args = {**(self.backend_args or {}), 'backend': ATOMIC_BACKEND}

    # -- resume ---------------------------------------------------------------------------------------------
    def before_run(self, runner) -> None:
        """Check the checkpoint a resumed run is about to load (runs before mmengine's ``load_or_resume``)."""
        if not getattr(runner, '_resume', False):
            return
        requested = getattr(runner, '_load_from', None)
        choice = choose_resume_checkpoint(runner.work_dir, requested)  # raises for a damaged requested file
        if choice.warning is None or choice.path is None:
            return
        print_log(f'resume: {choice.warning}', logger='current', level=logging.WARNING)
        if is_main_process():  # mmengine's auto-resume reads last_checkpoint: point it at the good file
            atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), choice.path)
        barrier()

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and osp.isdir(str(self.out_dir)):
            for tmp in remove_stale_temporaries(str(self.out_dir)):
                print_log(f'removed {tmp}, left by a run killed while saving', logger='current', level=logging.WARNING)

    # -- saving ---------------------------------------------------------------------------------------------
    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save ``step``, then drop checkpoints beyond ``max_keep_ckpts``, then update ``last_checkpoint``."""
        expired = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                               backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        for old in expired:  # only now that the new checkpoint is complete
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), str(self.last_ckpt))


__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'ATOMIC_BACKEND']
