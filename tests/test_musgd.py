# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""MuSGD: one step equals Ultralytics 8.4.190's MuSGD on the same gradients; usable from any mmengine config."""
from __future__ import annotations

import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from yolopose_mm.engine import MuSGD
from yolopose_mm.engine.musgd import newton_schulz_orthogonalize


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.Conv2d(16, 256, 1), nn.Conv2d(256, 8, 3),
                         nn.Flatten(), nn.Linear(10, 700), nn.Linear(700, 5))


def _groups(net, use_muon):
    matrix = [p for p in net.parameters() if p.ndim in (2, 4)]
    other = [p for p in net.parameters() if p.ndim not in (2, 4)]
    return [dict(params=matrix, lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4, use_muon=use_muon),
            dict(params=other, lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.0, use_muon=False)]


def _steps(nets, optimizers, n, channels_last=False):
    g = torch.Generator().manual_seed(1)
    for _ in range(n):
        for params in zip(*(net.parameters() for net in nets)):
            grad = torch.randn(params[0].shape, generator=g)
            if channels_last and grad.ndim == 4:
                grad = grad.contiguous(memory_format=torch.channels_last)
            for p in params:
                p.grad = grad.clone(memory_format=torch.preserve_format)
        for opt in optimizers:
            opt.step()


@pytest.mark.parametrize('channels_last', [False, True])
def test_steps_equal_ultralytics(ultralytics, channels_last):
    from ultralytics.optim import MuSGD as Reference
    ref_net = _net()
    if channels_last:
        ref_net = ref_net.to(memory_format=torch.channels_last)
    ours_net = copy.deepcopy(ref_net)
    ref = Reference(_groups(ref_net, True), muon=0.2, sgd=1.0)  # what Ultralytics' trainer builds
    ours = MuSGD(_groups(ours_net, True))
    _steps((ref_net, ours_net), (ref, ours), 3, channels_last)
    for p, q in zip(ref_net.parameters(), ours_net.parameters()):
        assert torch.equal(p, q)


def test_auto_groups_equal_explicit_groups():
    a, b = _net(), _net()
    explicit = MuSGD(_groups(a, True))
    auto = MuSGD(_groups(b, None))  # use_muon=None: 2-D and 4-D parameters take the Muon path
    _steps((a, b), (explicit, auto), 2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    plain_net, sgd_net = _net(), _net()
    plain = MuSGD(plain_net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4, use_muon=False)
    sgd = torch.optim.SGD(sgd_net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    _steps((plain_net, sgd_net), (plain, sgd), 2)
    for p, q in zip(plain_net.parameters(), sgd_net.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_builds_from_an_mmengine_config_and_resumes():
    net = _net()
    wrapper = build_optim_wrapper(net, dict(type='OptimWrapper', optimizer=dict(type='MuSGD', lr=0.01, momentum=0.9,
                                                                                 nesterov=True, weight_decay=5e-4)))
    assert isinstance(wrapper.optimizer, MuSGD)
    _steps((net,), (wrapper.optimizer,), 1)
    state = copy.deepcopy(wrapper.optimizer.state_dict())
    again = MuSGD(copy.deepcopy(net).parameters(), lr=0.01)
    again.load_state_dict(state)
    assert len(again.state) == len(list(net.parameters()))


def test_orthogonalization_and_errors():
    m = torch.randn(64, 32)
    out = newton_schulz_orthogonalize(m)
    q = out.float()
    singular = torch.linalg.svdvals(q)
    assert out.dtype == torch.bfloat16 and out.shape == m.shape and 0.4 < singular.min() and singular.max() < 1.6
    with pytest.raises(ValueError, match='use_muon'):
        MuSGD(_net().parameters(), use_muon='yes')
    with pytest.raises(ValueError, match='lr'):
        MuSGD(_net().parameters(), lr=-1)
