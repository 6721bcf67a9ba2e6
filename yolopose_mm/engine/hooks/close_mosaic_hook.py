# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Switch the training pipeline (mosaic off) for the last epochs, as Ultralytics' close_mosaic does."""
from __future__ import annotations

import copy
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS
from torch.utils.data import DataLoader


def shutdown_workers(loader: DataLoader) -> None:
    """Stop the persistent worker processes of ``loader`` now (instead of whenever it is garbage-collected)."""
    iterator = getattr(loader, '_iterator', None)
    if iterator is not None and hasattr(iterator, '_shutdown_workers'):
        iterator._shutdown_workers()
    loader._iterator = None


@HOOKS.register_module()
class CloseMosaicHook(Hook):
    """From epoch ``max_epochs - close_mosaic`` on, train with ``new_train_pipeline`` (no mosaic).

    The training dataloader is rebuilt once, at the switch, with the new pipeline and the configured workers
    (persistent workers stay persistent: they are created once for the remaining epochs); the old loader's
    workers are stopped then. Unlike a switch at one exact epoch, the check is ``epoch >= switch epoch``, so a run
    resumed after the switch point trains without mosaic too.

    Args:
        close_mosaic: number of final epochs without mosaic (Ultralytics default 10; 0 disables the hook).
        new_train_pipeline: the pipeline to use for those epochs.
    """

    priority = 'NORMAL'

    def __init__(self, close_mosaic: int = 10, new_train_pipeline: Optional[Sequence[dict]] = None) -> None:
        if close_mosaic < 0:
            raise ValueError(f'CloseMosaicHook: close_mosaic must be >= 0, got {close_mosaic}')
        if close_mosaic and not new_train_pipeline:
            raise ValueError('CloseMosaicHook: give new_train_pipeline (the pipeline without mosaic)')
        self.close_mosaic = close_mosaic
        self.new_train_pipeline = copy.deepcopy(list(new_train_pipeline or []))
        self.switched = False

    def before_train_epoch(self, runner: Runner) -> None:
        if not self.close_mosaic or self.switched:
            return
        if runner.epoch >= runner.max_epochs - self.close_mosaic:
            cfg = copy.deepcopy(runner.cfg.train_dataloader)
            cfg.dataset.pipeline = copy.deepcopy(self.new_train_pipeline)
            old = runner.train_loop.dataloader
            new = Runner.build_dataloader(cfg, seed=runner.seed)
            # DistSamplerSeedHook already set the epoch, on the old loader's sampler
            sampler = new.batch_sampler.sampler if new.batch_sampler is not None else new.sampler
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(runner.epoch)
            if isinstance(old, DataLoader):
                shutdown_workers(old)
            runner.train_loop.dataloader = new
            self.switched = True
            runner.logger.info(f'CloseMosaicHook: epoch {runner.epoch + 1}: mosaic closed for the last '
                               f'{runner.max_epochs - runner.epoch} epochs')
