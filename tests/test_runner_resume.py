# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A real mmengine Runner trains a tiny model, saves, and resumes from its checkpoint on torch 2.14."""
from __future__ import annotations

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import yolopose_mm  # noqa: F401  (applies the weights-only compatibility fix)


class _TinyRegressor(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(inputs)
        if mode == 'loss':
            targets = torch.stack(targets) if isinstance(targets, list) else targets
            return {'loss': ((pred - targets) ** 2).mean()}
        return pred


class _Points(Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


def _runner(work_dir, max_iters, resume=False):
    return Runner(
        model=_TinyRegressor(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Points(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=2)),
        randomness=dict(seed=0), resume=resume, default_scope='mmengine')


def test_train_save_and_resume(tmp_path):
    first = _runner(tmp_path, 4)
    first.train()
    assert (tmp_path / 'iter_4.pth').exists()
    second = _runner(tmp_path, 8, resume=True)  # resumes from iter_4.pth (message hub holds HistoryBuffers)
    second.train()
    assert second.iter == 8
    ckpt = torch.load(tmp_path / 'iter_8.pth')  # weights-only load of a full runner checkpoint
    assert ckpt['meta']['iter'] == 8
