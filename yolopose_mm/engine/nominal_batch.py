# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics' nominal-batch semantics as pure functions: accumulation, weight-decay scale, warmup length.

Ultralytics 8.4.190 (``ultralytics/engine/trainer.py``: ``_build_train_pipeline``, ``_get_warmup_iterations``,
``_do_train``) trains every model with these rules, for a *total* batch B = per-GPU batch x world size and a nominal
batch ``nbs`` (64):

* gradients of ``accumulate = max(round(nbs / B), 1)`` iterations are summed before each optimizer step;
* weight decay is multiplied by ``B x accumulate / nbs`` (computed before the cap below);
* ``accumulate`` is capped at the number of training iterations of the whole run (tiny datasets);
* warmup lasts ``round(min(warmup_epochs, max(epochs - 1, 0)) x iterations per epoch)`` iterations (0 when that
  is 0); during it (iterations 0 .. warmup inclusive) accumulate ramps linearly from 1 to its nominal value,
  rounded half to even (numpy's ``round``);
* the optimizer steps at iteration i when ``i - last_step >= accumulate`` (``last_step`` starts at -1), so the
  first iteration steps, and gradients carry over epoch boundaries.

Older Ultralytics releases (8.0 - 8.3) warmed up for ``max(round(warmup_epochs x iterations), 100)`` iterations
without the ``epochs - 1`` cap; ``warmup_min_iters=100`` reproduces that. Everything here is independent of the model:
any head that returns its loss multiplied by the per-GPU batch (the YOLO convention) gets Ultralytics' optimisation
through :class:`~yolopose_mm.engine.YOLOOptimWrapper` and :class:`~yolopose_mm.engine.hooks.YOLOLrMomentumHook`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np


def warmup_iterations(warmup_epochs: float, max_epochs: int, iters_per_epoch: int, min_iters: int = 0) -> int:
    """Warmup length in iterations (Ultralytics 8.4.190; ``min_iters=100`` gives the 8.0 - 8.3 floor).

    Args:
        warmup_epochs: configured warmup epochs (fractions allowed).
        max_epochs: epochs of the run; at least the last epoch is left out of the warmup.
        iters_per_epoch: training iterations per epoch (per rank).
        min_iters: floor applied when there is a warmup at all.
    """
    epochs = min(float(warmup_epochs), max(int(max_epochs) - 1, 0))
    if epochs <= 0:
        return 0
    return max(int(round(epochs * int(iters_per_epoch))), int(min_iters))


@dataclass(frozen=True)
class NominalBatchPlan:
    """What a run does with its batch: the numbers Ultralytics' trainer derives, for the start-up print and the
    optimizer wrapper.

    Attributes:
        world_size: training processes (GPUs).
        per_gpu_batch: images per process and iteration.
        total_batch: per_gpu_batch x world_size.
        nominal_batch: ``nbs``, or None for "step every iteration, weight decay unscaled".
        accumulate: iterations summed per optimizer step after warmup (capped for tiny runs).
        weight_decay_scale: factor applied to the configured weight decay.
        warmup_iters: warmup length in iterations.
        iters_per_epoch: iterations per epoch (per rank).
        max_epochs: epochs of the run.
    """

    world_size: int
    per_gpu_batch: int
    total_batch: int
    nominal_batch: Optional[int]
    accumulate: int
    weight_decay_scale: float
    warmup_iters: int
    iters_per_epoch: int
    max_epochs: int

    def accumulate_at(self, it: int) -> int:
        """Accumulation in force at global iteration ``it`` (0-based): the warmup ramp, then the nominal value."""
        if self.warmup_iters and it <= self.warmup_iters:
            ramp = np.interp(it, [0, self.warmup_iters], [1, self.accumulate])
            return max(1, int(np.round(ramp)))  # half to even
        return self.accumulate

    def step_iterations(self, start: int = 0, last_step: int = -1, stop: Optional[int] = None) -> List[int]:
        """Global iterations at which the optimizer steps, from ``start`` to ``stop`` (default: end of the run)."""
        stop = self.iters_per_epoch * self.max_epochs if stop is None else stop
        steps = []
        for it in range(start, stop):
            if it - last_step >= self.accumulate_at(it):
                steps.append(it)
                last_step = it
        return steps

    def describe(self, weight_decay: Optional[float] = None) -> str:
        """One line for the start-up log."""
        acc = (f'nominal batch {self.nominal_batch} -> accumulate {self.accumulate}'
               if self.nominal_batch else 'no nominal batch: accumulate 1')
        wd = ''
        if weight_decay is not None:
            wd = (f', weight decay {weight_decay:g} x {self.weight_decay_scale:g} = '
                  f'{weight_decay * self.weight_decay_scale:g}')
        return (f'world size {self.world_size}, per-GPU batch {self.per_gpu_batch}, total batch {self.total_batch}, '
                f'{acc}{wd}, warmup {self.warmup_iters} iterations ({self.iters_per_epoch} per epoch, '
                f'{self.max_epochs} epochs)')


def plan_nominal_batch(world_size: int, per_gpu_batch: int, iters_per_epoch: int, max_epochs: int,
                       warmup_iters: int, nominal_batch: Optional[int] = 64) -> NominalBatchPlan:
    """Accumulation and weight-decay scale for a run (facts in, plan out).

    Args:
        world_size: training processes.
        per_gpu_batch: images per process and iteration.
        iters_per_epoch: iterations per epoch (per rank).
        max_epochs: epochs of the run.
        warmup_iters: from :func:`warmup_iterations`.
        nominal_batch: ``nbs`` (64); None disables accumulation and weight-decay scaling.
    """
    if world_size < 1 or per_gpu_batch < 1 or iters_per_epoch < 0 or max_epochs < 0:
        raise ValueError(f'plan_nominal_batch: bad facts world_size={world_size}, per_gpu_batch={per_gpu_batch}, '
                         f'iters_per_epoch={iters_per_epoch}, max_epochs={max_epochs}')
    if nominal_batch is not None and int(nominal_batch) < 1:
        raise ValueError(f'nominal_batch must be a positive number of images or None, got {nominal_batch}')
    total = int(per_gpu_batch) * int(world_size)
    if nominal_batch is None:
        accumulate, scale = 1, 1.0
    else:
        accumulate = max(int(round(nominal_batch / total)), 1)
        scale = total * accumulate / nominal_batch
        accumulate = max(min(accumulate, int(iters_per_epoch) * int(max_epochs)), 1)
    return NominalBatchPlan(int(world_size), int(per_gpu_batch), total, nominal_batch, accumulate, scale,
                            int(warmup_iters), int(iters_per_epoch), int(max_epochs))


__all__ = ['NominalBatchPlan', 'plan_nominal_batch', 'warmup_iterations']
