# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A real mmengine Runner around a tiny regressor with the YOLO optimizer wrapper and schedule hook, recording at
which iterations the optimizer steps (used by tests/test_nominal_batch.py, in one process and under torchrun)."""
from __future__ import annotations

from typing import List

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import yolopose_mm  # noqa: F401  (registers the wrapper, constructor and hooks)


class ToyRegressor(BaseModel):
    """Linear regressor whose loss follows the YOLO convention: mean loss x per-GPU batch."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(inputs)
        if mode == 'loss':
            targets = torch.stack(targets) if isinstance(targets, list) else targets
            return {'loss': ((pred - targets) ** 2).mean() * inputs.shape[0]}
        return pred


class Points(Dataset):
    """``n`` fixed random points with a linear target."""

    def __init__(self, n: int = 64) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


class RecordSteps(Hook):
    """Records, per iteration, whether the optimizer stepped, and the weight decay of every param group."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.steps: List[int] = []
        self.weight_decays: List[float] = []
        self.ema_updates = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.optim_wrapper.stepped:
            self.steps.append(runner.iter)  # runner.iter is still the iteration that just ran
        self.weight_decays = [g['weight_decay'] for g in runner.optim_wrapper.optimizer.param_groups]


def toy_runner(work_dir: str, batch: int, images: int = 64, epochs: int = 3, warmup_epochs: float = 1.0,
               launcher: str = 'none', nominal_batch: int = 64, resume_from: str = None) -> Runner:
    """A Runner with the YOLO recipe's optimizer parts on :class:`ToyRegressor` (SGD, wd 5e-4, nbs 64)."""
    kwargs = {}
    if launcher != 'none':
        kwargs = dict(launcher=launcher, env_cfg=dict(dist_cfg=dict(backend='gloo')),
                      cfg=dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=None,
                                                 broadcast_buffers=False)))
    return Runner(
        model=ToyRegressor(), work_dir=work_dir,
        train_dataloader=dict(dataset=Points(images), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=batch, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(type='YOLOOptimWrapper', nominal_batch=nominal_batch,
                           constructor='YOLOOptimWrapperConstructor',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.937, nesterov=True, weight_decay=5e-4)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        custom_hooks=[dict(type='YOLOLrMomentumHook', warmup_epochs=warmup_epochs), RecordSteps()],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook')),
        randomness=dict(seed=0), default_scope='mmpose', resume=resume_from is not None,
        load_from=resume_from, **kwargs)


def recorder(runner: Runner) -> RecordSteps:
    return next(h for h in runner.hooks if isinstance(h, RecordSteps))
