# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""``optimizer=dict(type='auto')``: choose the optimizer and its lr from the run's length, as Ultralytics does.

Ultralytics 8.4.190 (``BaseTrainer.build_optimizer`` with ``optimizer=auto``, read to learn the behaviour) counts the
run's *nominal* optimizer steps, ``ceil(train images / max(total batch, nbs)) x epochs`` with ``nbs`` = 64, and

* up to 10,000 of them picks AdamW with ``lr = round(0.002 x 5 / (4 + nc), 6)`` (nc: classes of the data, 10 when
  unknown) and beta1 0.9;
* beyond that picks MuSGD with lr 0.01 and momentum 0.9 (Nesterov), the SGD + Muon hybrid of YOLO26;

and in both cases starts the bias warmup at lr 0 (``warmup_bias_lr = 0``) and ignores the configured lr. Ultralytics
8.3 picked plain SGD (lr 0.01, momentum 0.9) for long runs; :func:`choose_auto_optimizer` falls back to that, with a
warning, when no ``MuSGD`` optimizer is registered.

``nbs`` is the run's own nominal batch, the one the optimizer wrapper accumulates to
(:mod:`~yolopose_mm.engine.nominal_batch`): ``YOLOOptimWrapper(nominal_batch=64)`` gives Ultralytics' count; a wrapper
that steps every iteration (``nominal_batch=None``, or mmengine's ``OptimWrapper``) counts its iterations.

:func:`choose_auto_optimizer` is the rule as a pure function; :func:`resolve_auto_optimizer` rewrites a config whose
``optim_wrapper.optimizer.type`` is ``'auto'`` into the chosen optimizer before the Runner is built.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Optional

AUTO_MAX_ITERATIONS = 10000  # nominal optimizer steps up to which the short-run choice (AdamW) holds
NOMINAL_BATCH = 64


@dataclass(frozen=True)
class AutoOptimizerChoice:
    """What ``optimizer='auto'`` picked and why.

    Attributes:
        name: optimizer class name ('AdamW', 'MuSGD', or 'SGD' when MuSGD is not available).
        lr: initial learning rate.
        momentum: SGD momentum, or AdamW's beta1.
        iterations: nominal optimizer steps of the run, the quantity the rule looks at.
        num_classes: classes used in the lr formula.
        note: why the choice differs from the rule's, '' otherwise.
    """

    name: str
    lr: float
    momentum: float
    iterations: int
    num_classes: int
    note: str = ''

    def optimizer_cfg(self, weight_decay: float) -> dict:
        """The mmengine optimizer config of the choice (weight decay as the caller configured it)."""
        if self.name in ('SGD', 'MuSGD'):
            return dict(type=self.name, lr=self.lr, momentum=self.momentum, nesterov=True, weight_decay=weight_decay)
        return dict(type=self.name, lr=self.lr, betas=(self.momentum, 0.999), weight_decay=weight_decay)

    def describe(self) -> str:
        """One line for the start-up log."""
        rule = (f'{self.iterations} nominal optimizer steps <= {AUTO_MAX_ITERATIONS}' if self.name == 'AdamW'
                else f'{self.iterations} nominal optimizer steps > {AUTO_MAX_ITERATIONS}')
        lr_note = (f' = 0.002 x 5 / (4 + {self.num_classes} classes)' if self.name == 'AdamW' else '')
        text = (f"optimizer='auto' -> {self.name}(lr={self.lr:g}{lr_note}, momentum={self.momentum:g}) because "
                f'{rule} (Ultralytics 8.4.190 rule); bias warmup starts at lr 0; the configured lr is ignored')
        return text + (f'. {self.note}' if self.note else '')


def nominal_iterations(num_images: int, total_batch: int, epochs: int, nominal_batch: int = NOMINAL_BATCH) -> int:
    """Optimizer steps of a run at the nominal batch: ``ceil(num_images / max(total_batch, nominal_batch)) x epochs``.

    Args:
        num_images: training images (after skipping invalid ones).
        total_batch: images per iteration over all processes.
        epochs: epochs of the run.
        nominal_batch: Ultralytics' ``nbs``.
    """
    if num_images < 0 or total_batch < 1 or epochs < 0 or nominal_batch < 1:
        raise ValueError(f'nominal_iterations: need num_images >= 0, total_batch >= 1, epochs >= 0, nominal_batch >= '
                         f'1, got {num_images}, {total_batch}, {epochs}, {nominal_batch}')
    return math.ceil(num_images / max(total_batch, nominal_batch)) * epochs


def choose_auto_optimizer(num_images: int, total_batch: int, epochs: int, num_classes: Optional[int],
                          musgd_available: bool = True, nominal_batch: int = NOMINAL_BATCH) -> AutoOptimizerChoice:
    """Ultralytics 8.4.190's ``optimizer=auto`` choice for a run (facts in, choice out).

    Args:
        num_images: training images.
        total_batch: images per iteration over all processes.
        epochs: epochs of the run.
        num_classes: classes of the data (None: 10, Ultralytics' default when the data does not say).
        musgd_available: whether a ``MuSGD`` optimizer is registered; without it long runs get SGD (the 8.3 rule).
        nominal_batch: Ultralytics' ``nbs``.
    """
    nc = 10 if num_classes is None else int(num_classes)
    if nc < 1:
        raise ValueError(f'choose_auto_optimizer: num_classes must be >= 1, got {num_classes}')
    iterations = nominal_iterations(num_images, total_batch, epochs, nominal_batch)
    if iterations <= AUTO_MAX_ITERATIONS:
        return AutoOptimizerChoice('AdamW', round(0.002 * 5 / (4 + nc), 6), 0.9, iterations, nc)
    if musgd_available:
        return AutoOptimizerChoice('MuSGD', 0.01, 0.9, iterations, nc)
    return AutoOptimizerChoice('SGD', 0.01, 0.9, iterations, nc,
                               note='MuSGD (the 8.4 choice) is not registered in this install: SGD(lr=0.01, '
                                    'momentum=0.9), the Ultralytics 8.3 choice, instead')


def configured_nominal_batch(optim_wrapper: Any) -> Optional[int]:
    """The ``nominal_batch`` the run's optimizer wrapper will use, as the lr hook's nominal-batch plan reads it.

    ``YOLOOptimWrapper`` / ``YOLOAmpOptimWrapper`` take ``nominal_batch`` (64 when the config does not say; None steps
    every iteration); any other wrapper steps every iteration (None). With None the optimizer steps once per
    iteration, which is Ultralytics' count with ``nbs`` equal to the total batch: the rule then counts those steps.
    """
    wrapper = optim_wrapper or {}
    if str(wrapper.get('type', 'OptimWrapper')) not in ('YOLOOptimWrapper', 'YOLOAmpOptimWrapper'):
        return None
    value = wrapper.get('nominal_batch', NOMINAL_BATCH)
    return None if value is None else int(value)


def musgd_registered() -> bool:
    """Whether an optimizer named ``MuSGD`` is in mmengine's (or mmpose's) optimizer registry."""
    from mmpose.registry import OPTIMIZERS
    return OPTIMIZERS.get('MuSGD') is not None


def is_auto(cfg: Any) -> bool:
    """Whether a config asks for ``optim_wrapper.optimizer.type == 'auto'``."""
    opt = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    return str(opt.get('type', '')).lower() == 'auto'


def resolve_auto_optimizer(cfg: Any, num_images: int, world_size: int = 1,
                           num_classes: Optional[int] = None) -> Optional[AutoOptimizerChoice]:
    """Replace ``optimizer=dict(type='auto')`` in ``cfg`` by the rule's choice; returns it (None when not auto).

    The weight decay stays what the config says (``weight_decay`` next to ``type='auto'``, 5e-4 when absent), as in
    Ultralytics, where ``weight_decay`` is not part of the automatic choice. The warmup of every
    ``YOLOLrMomentumHook`` in ``custom_hooks`` gets ``warmup_bias_lr=0``. ``cfg`` is changed in place (it is the
    run's own config, not a caller's dict).

    Args:
        cfg: the run's mmengine Config.
        num_images: training images of the run.
        world_size: training processes (the total batch is the per-process batch x world size).
        num_classes: classes of the data (default: ``model.head.num_classes``).
    """
    if not is_auto(cfg):
        return None
    opt = cfg.optim_wrapper.optimizer
    unknown = set(opt) - {'type', 'weight_decay'}
    if unknown:
        raise ValueError(f"optimizer type='auto' chooses the optimizer and its lr itself; remove "
                         f'{sorted(unknown)} from optim_wrapper.optimizer (or name an optimizer, e.g. type=\'SGD\')')
    if num_classes is None:
        num_classes = ((cfg.get('model') or {}).get('head') or {}).get('num_classes')
    batch = int(cfg.train_dataloader.batch_size) * int(world_size)
    nominal = configured_nominal_batch(cfg.optim_wrapper)
    choice = choose_auto_optimizer(num_images, batch, int(cfg.train_cfg.max_epochs), num_classes,
                                   musgd_registered(), batch if nominal is None else nominal)
    cfg.optim_wrapper.optimizer = choice.optimizer_cfg(float(opt.get('weight_decay', 5e-4)))
    hooks = copy.deepcopy(list(cfg.get('custom_hooks') or []))
    for hook in hooks:
        if hook.get('type') == 'YOLOLrMomentumHook':
            hook['warmup_bias_lr'] = 0.0
    cfg.custom_hooks = hooks
    return choice


__all__ = ['AUTO_MAX_ITERATIONS', 'AutoOptimizerChoice', 'nominal_iterations', 'choose_auto_optimizer',
           'configured_nominal_batch', 'musgd_registered', 'is_auto', 'resolve_auto_optimizer']
