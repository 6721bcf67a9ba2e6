# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Unit tests of the YOLO layers: shapes, options, argument validation, state-dict round trip."""
from __future__ import annotations

import copy

import pytest
import torch

from yolopose_mm.models.layers import C2PSA, SPPF, Bottleneck, C2f, C3k, C3k2, ConvBNAct, DWConv, PSABlock


def test_conv_bn_act_shapes_and_bn_settings():
    m = ConvBNAct(3, 8, 3, 2)
    assert m(torch.rand(2, 3, 32, 48)).shape == (2, 8, 16, 24)
    assert m.bn.eps == 1e-3 and m.bn.momentum == 0.03 and m.conv.bias is None
    assert isinstance(ConvBNAct(3, 8, act=False).act, torch.nn.Identity)


def test_dwconv_groups():
    assert DWConv(16, 16, 3).conv.groups == 16
    assert DWConv(16, 24, 3).conv.groups == 8


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=0, out_channels=8), 'in_channels'),
    (dict(in_channels=6, out_channels=8, groups=4), 'groups'),
])
def test_conv_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvBNAct(**kwargs)


def test_bottleneck_shortcut_only_when_shapes_match():
    assert Bottleneck(8, 8, True).add_identity
    assert not Bottleneck(8, 16, True).add_identity
    x = torch.rand(1, 8, 8, 8)
    assert Bottleneck(8, 16)(x).shape == (1, 16, 8, 8)


@pytest.mark.parametrize('block', [C2f(16, 32, 2, True), C3k2(16, 32, 2, False), C3k2(16, 32, 1, True),
                                   C3k(16, 32, 2), SPPF(16, 32), C2PSA(64, 64, 2)])
def test_blocks_forward_and_state_dict_round_trip(block):
    block.eval()
    cin = block.pre_conv.conv.in_channels if hasattr(block, 'pre_conv') else (
        block.main_conv.conv.in_channels if hasattr(block, 'main_conv') else block.reduce_conv.conv.in_channels)
    x = torch.rand(1, cin, 12, 10)
    out = block(x)
    assert out.shape[2:] == (12, 10)
    clone = copy.deepcopy(block)
    for p in clone.parameters():
        torch.nn.init.zeros_(p)
    clone.load_state_dict(block.state_dict(), strict=True)
    assert torch.allclose(clone(x), out)


def test_c3k2_inner_blocks():
    assert isinstance(C3k2(16, 32, 2, use_c3k=True).blocks[0], C3k)
    assert isinstance(C3k2(16, 32, 2, use_c3k=False).blocks[0], Bottleneck)
    assert len(C3k2(16, 32, 3).blocks) == 3


def test_psa_and_validation():
    assert PSABlock(64, 0.5, 1)(torch.rand(1, 64, 4, 4)).shape == (1, 64, 4, 4)
    with pytest.raises(ValueError, match='C2PSA keeps the channel count'):
        C2PSA(64, 32)
    with pytest.raises(ValueError, match='num_blocks'):
        C2f(8, 8, 0)
    with pytest.raises(ValueError, match='odd'):
        SPPF(8, 8, 4)
