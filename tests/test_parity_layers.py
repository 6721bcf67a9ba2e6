# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Layer-by-layer parity with Ultralytics' blocks, weights moved by the converter's declarative renames.

Whole-network tests at random init barely see the attention blocks (their output is a small residual), so each
block is also checked alone, on inputs large enough that attention weights are far from uniform.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ultralytics_reference import randomize_batchnorm
from yolopose_mm.apis.optimize import optimize_for_inference
from yolopose_mm.converters.safe_pickle import safe_load_checkpoint
from yolopose_mm.converters.ultralytics_ckpt import _renamed_tensors
from yolopose_mm.models.layers import C2, C2PSA, SPPF, A2C2f, C2f, C3k2, ConvBNAct, DWConv
from yolopose_mm.models.layers.attention_ops import fused_attention_applies, token_major_attention


def _legacy_sppf(m: nn.Module) -> nn.Module:
    # v8 / 11 yaml rows build SPPF with an activated first conv (the bare class defaults to YOLO26's).
    m.cv1.act = nn.SiLU()
    return m


def _pairs():
    from ultralytics.nn.modules import block as ub
    from ultralytics.nn.modules import conv as uc
    return [
        ('Conv', uc.Conv(8, 16, 3, 2), ConvBNAct(8, 16, 3, 2), 8),
        ('DWConv', uc.DWConv(16, 16, 3), DWConv(16, 16, 3), 16),
        ('C2f', ub.C2f(16, 32, 2, True), C2f(16, 32, 2, True), 16),
        ('C3k2', ub.C3k2(16, 32, 2, False, 0.25), C3k2(16, 32, 2, False, 0.25), 16),
        ('C3k2-c3k', ub.C3k2(32, 32, 2, True), C3k2(32, 32, 2, True), 32),
        ('SPPF', _legacy_sppf(ub.SPPF(32, 32, 5)), SPPF(32, 32, 5), 32),
        ('C2PSA', ub.C2PSA(256, 256, 2), C2PSA(256, 256, 2), 256),
        ('C2', ub.C2(32, 48, 2, False), C2(32, 48, 2, False), 32),
        # two heads, four areas of 20 positions, scaled residual (the l / x variant)
        ('A2C2f', ub.A2C2f(128, 128, 2, True, 4, True, 1.2), A2C2f(128, 128, 2, True, 4, True, 1.2), 128),
        ('A2C2f-global', ub.A2C2f(64, 64, 1, True, 1), A2C2f(64, 64, 1, True, 1), 64),
        ('A2C2f-c3k', ub.A2C2f(48, 64, 2, False, -1), A2C2f(48, 64, 2, False, -1), 48),
        ('SPPF-yolo26', ub.SPPF(32, 32, 5, 3, True), SPPF(32, 32, 5, 3, True, reduce_act=False), 32),
        ('C3k2-attention', ub.C3k2(128, 128, 1, True, 0.5, True), C3k2(128, 128, 1, True, 0.5, attention=True), 128),
    ]


def _loaded_pair(index, tmp_path):
    name, ref, ours, cin = _pairs()[index]
    ref = randomize_batchnorm(ref, seed=index).eval()
    for m in ref.modules():  # Ultralytics sets these model-wide in initialize_weights()
        if isinstance(m, nn.BatchNorm2d):
            m.eps, m.momentum = 1e-3, 0.03
    torch.save({'layer': ref}, tmp_path / 'layer.pt')
    record = safe_load_checkpoint(tmp_path / 'layer.pt')['layer']
    state = {k[2:]: v for k, v in _renamed_tensors(record, 'm').items()}
    ours.eval().load_state_dict(state, strict=True)
    x = torch.randn(2, cin, 8, 10, generator=torch.Generator().manual_seed(index)) * 4
    return name, ref, ours, x


@pytest.mark.parametrize('index', range(13))
def test_block_matches_ultralytics(index, tmp_path, ultralytics):
    name, ref, ours, x = _loaded_pair(index, tmp_path)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert got.shape == expected.shape
    err = ((got - expected).abs().max() / expected.abs().max()).item()
    assert err < 1e-5, f'{name}: relative difference {err:.2e}'


@pytest.mark.parametrize('index', range(13))
def test_optimized_block_matches_ultralytics(index, tmp_path, ultralytics, monkeypatch):
    """BatchNorm folded (lean functional forward) and channels-last (token-major SDPA attention) vs Ultralytics'
    unfused NCHW block."""
    name, ref, ours, x = _loaded_pair(index, tmp_path)
    optimize_for_inference(ours)
    assert all(m.bn_folded for m in ours.modules() if isinstance(m, ConvBNAct))
    calls = []
    sdpa = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention',
                        lambda *a, **k: calls.append(1) or sdpa(*a, **k))  # counts, then runs the real kernel
    with torch.no_grad():
        expected, got = ref(x), ours(x.contiguous(memory_format=torch.channels_last))
    attention = name in ('A2C2f', 'A2C2f-global')  # (PSA keeps the explicit path: query width != value width)
    assert bool(calls) == attention, f'{name}: {len(calls)} token-major attention calls'
    err = ((got - expected).abs().max() / expected.abs().max()).item()
    assert err < 1e-5, f'{name}: relative difference {err:.2e}'


def test_token_major_attention_path_is_taken_only_in_channels_last_inference():
    qkv = torch.randn(1, 96, 4, 5)
    cl = qkv.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert fused_attention_applies(cl) and not fused_attention_applies(qkv)
    assert not fused_attention_applies(cl)  # autograd on: training keeps the explicit path
    with torch.no_grad():  # and a 2% change of the scale shows in the token-major output
        a = token_major_attention(cl, 2, 2, (16, 16, 16), 0.35)[0]
        b = token_major_attention(cl, 2, 2, (16, 16, 16), 0.35 * 1.02)[0]
    assert a.shape == (1, 32, 4, 5) and ((a - b).abs().max() / a.abs().max()).item() > 1e-4


def test_attention_is_exercised(ultralytics):
    """The check above is sensitive: a 2% change of the attention scale is far outside its tolerance."""
    block = C2PSA(256, 256, 1).eval()
    randomize_batchnorm(block)
    x = torch.randn(1, 256, 8, 10, generator=torch.Generator().manual_seed(0)) * 4
    with torch.no_grad():
        a = block(x)
        block.blocks[0].attn.scale *= 1.02
        b = block(x)
    assert ((a - b).abs().max() / a.abs().max()).item() > 1e-4
    assert isinstance(block.blocks[0].attn.qkv, nn.Module)


def test_area_attention_is_exercised(ultralytics):
    """Area attention differs from global attention on the same weights, so the A2C2f checks see the areas."""
    block = A2C2f(64, 64, 1, True, 4).eval()
    randomize_batchnorm(block)
    x = torch.randn(1, 64, 8, 10, generator=torch.Generator().manual_seed(0)) * 4
    with torch.no_grad():
        a = block(x)
        for m in block.modules():
            if hasattr(m, 'area'):
                m.area = 1
        b = block(x)
    assert ((a - b).abs().max() / a.abs().max()).item() > 1e-3
