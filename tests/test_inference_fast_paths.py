# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The inference-only fast path of a BatchNorm-folded ConvBNAct (functional conv + SiLU, no submodule calls)."""
from __future__ import annotations

import copy
import pickle

import pytest
import torch

from yolopose_mm.apis.optimize import fold_batchnorm
from yolopose_mm.models.layers import ConvBNAct, DWConv


def _randomized(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return module.eval()


@pytest.mark.parametrize('make', [lambda: ConvBNAct(16, 32, 3, 2), lambda: ConvBNAct(16, 24, 1, act=False),
                                  lambda: DWConv(16, 16, 3)], ids=['3x3-s2-silu', '1x1-linear', 'depthwise'])
def test_folded_conv_matches_unfused(make):
    ref = _randomized(make())
    fast = copy.deepcopy(ref)
    assert not fast.bn_folded and fold_batchnorm(fast) == 1 and fast.bn_folded
    x = torch.randn(2, 16, 20, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(x)
        outs = {'nchw': fast(x), 'channels-last': fast.to(memory_format=torch.channels_last)(x)}
    assert expected.abs().max() > 0.1  # not a vacuous comparison
    for name, got in outs.items():
        err = ((got - expected).abs().max() / expected.abs().max()).item()
        assert err < 1e-5, f'{name}: relative difference {err:.2e}'


def test_use_act_follows_the_act_argument_and_survives_pickling():
    silu, linear = ConvBNAct(4, 4, 3), ConvBNAct(4, 4, 1, act=False)
    assert silu.use_act and not linear.use_act
    fold_batchnorm(linear.eval())
    state = pickle.loads(pickle.dumps(linear))
    assert state.bn_folded and not state.use_act
    legacy = ConvBNAct(4, 4, 3)
    del legacy.__dict__['use_act'], legacy.__dict__['bn_folded']  # a module pickled before these flags existed
    legacy = pickle.loads(pickle.dumps(legacy))
    assert legacy.use_act and not legacy.bn_folded
