# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Prepacked oneDNN convolutions with fused SiLU (``prepack_convolutions``): same outputs, used only where safe."""
from __future__ import annotations

import copy
import pickle

import pytest
import torch

from yolopose_mm.apis.optimize import fold_batchnorm, optimize_for_inference, prepack_convolutions
from yolopose_mm.models.layers import C3k2, ConvBNAct, DWConv
from yolopose_mm.models.layers.onednn_conv import OneDNNConv, onednn_available

pytestmark = pytest.mark.skipif(not onednn_available(), reason='this torch build has no oneDNN (mkldnn) CPU ops')

CL = torch.channels_last


def _randomized(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.2)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return module.eval()


def _pair(make):
    """(folded functional-path module, the same folded module with prepacked convolutions)."""
    plain = _randomized(make())
    fold_batchnorm(plain)
    packed = copy.deepcopy(plain)
    assert prepack_convolutions(packed) == sum(isinstance(m, ConvBNAct) for m in packed.modules())
    return plain, packed


def _rel(got: torch.Tensor, expected: torch.Tensor) -> float:
    assert expected.abs().max() > 0.1  # not a vacuous comparison
    return ((got - expected).abs().max() / expected.abs().max()).item()


LAYERS = {
    '3x3-s2-silu': (lambda: ConvBNAct(16, 32, 3, 2), 16),
    '1x1-linear': (lambda: ConvBNAct(16, 24, 1, act=False), 16),
    'depthwise': (lambda: DWConv(16, 16, 3), 16),
    'dilated': (lambda: ConvBNAct(16, 16, 3, dilation=2), 16),
    'c3k2-block': (lambda: C3k2(16, 32, 1, use_c3k=True), 16),
}


@pytest.mark.parametrize('name', list(LAYERS))
def test_prepacked_matches_functional_path_and_comes_out_channels_last(name):
    make, cin = LAYERS[name]
    plain, packed = _pair(make)
    g = torch.Generator().manual_seed(1)
    for shape in ((1, cin, 48, 64), (2, cin, 40, 36)):  # numel above PyTorch's native-kernel threshold
        x = torch.randn(shape, generator=g)
        for layout in ('nchw', 'channels-last'):
            xin = x.contiguous(memory_format=CL) if layout == 'channels-last' else x
            with torch.inference_mode():
                expected, got = plain(xin), packed(xin)
            assert _rel(got, expected) < 1e-5, f'{name} {shape} {layout}'
            assert got.is_contiguous(memory_format=CL), 'the oneDNN path was not taken'


def test_functional_path_where_prepacking_does_not_apply():
    plain, packed = _pair(lambda: ConvBNAct(16, 32, 3))
    x = torch.randn(1, 16, 40, 48, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = plain(x)
        assert packed(x).is_contiguous(memory_format=CL)  # the oneDNN path, where nothing below holds
    # gradients on: the oneDNN op has no backward, so the functional path runs and trains correctly
    xg = x.clone().requires_grad_(True)
    out = packed(xg)
    out.sum().backward()
    xr = x.clone().requires_grad_(True)
    plain(xr).sum().backward()
    assert out.is_contiguous() and torch.allclose(xg.grad, xr.grad, atol=1e-5)
    assert _rel(out.detach(), expected) < 1e-6
    with torch.no_grad():
        # CPU autocast: the functional path, in bfloat16 as autocast asks
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert packed(x).dtype == torch.bfloat16
        double = copy.deepcopy(packed).double()  # packing is float32 only
        assert _rel(double(x.double()), expected.double()) < 1e-5
        small = torch.randn(1, 16, 20, 20)  # 6400 values: PyTorch's own kernel, faster than any oneDNN call
        assert packed(small).is_contiguous() and _rel(packed(small), plain(small)) < 1e-6
        traced = torch.jit.trace(packed, x)
    kinds = {n.kind() for n in traced.graph.nodes()}
    assert not any('mkldnn' in k for k in kinds), kinds  # exports see plain convolutions
    assert _rel(traced(x), expected) < 1e-6


def test_weights_changed_after_packing_are_repacked():
    plain, packed = _pair(lambda: ConvBNAct(16, 32, 3))
    x = torch.randn(1, 16, 40, 48, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        packed(x)  # packs
    with torch.no_grad():
        plain.conv.weight.mul_(-2.0)
        plain.conv.bias.add_(0.5)
    packed.load_state_dict(plain.state_dict())  # in-place copies into the packed module's tensors
    with torch.inference_mode():
        assert _rel(packed(x), plain(x)) < 1e-5
    with torch.no_grad():
        packed.conv.weight.mul_(0.5)
        plain.conv.weight.mul_(0.5)
    with torch.inference_mode():
        assert _rel(packed(x), plain(x)) < 1e-5
    packed.to(memory_format=CL)  # new weight storage
    with torch.inference_mode():
        assert _rel(packed(x), plain(x)) < 1e-5
    packed.conv = copy.deepcopy(plain.conv)  # a replaced convolution is not run from the old one's pack
    with torch.no_grad():
        packed.conv.weight.mul_(3.0)
        plain.conv.weight.mul_(3.0)
    with torch.inference_mode():
        assert _rel(packed(x), plain(x)) < 1e-5


def test_copies_and_pickles_pack_their_own():
    plain, packed = _pair(lambda: C3k2(16, 32, 1))
    x = torch.randn(1, 16, 40, 40, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        expected = plain(x)
        packed(x)
    for other in (copy.deepcopy(packed), pickle.loads(pickle.dumps(packed))):
        with torch.inference_mode():
            layers = [m for m in other.modules() if isinstance(m, ConvBNAct)]
            assert all(isinstance(m.onednn, OneDNNConv) and m.onednn.conv is m.conv for m in layers)
            assert _rel(other(x), expected) < 1e-5 and other(x).is_contiguous(memory_format=CL)
        with torch.no_grad():
            layers[0].conv.weight.zero_()  # the copy's weights are its own: the original is unchanged
        with torch.inference_mode():
            assert _rel(packed(x), expected) < 1e-5


def test_weights_made_in_inference_mode_take_the_functional_path():
    plain, packed = _pair(lambda: ConvBNAct(16, 32, 3))
    x = torch.randn(1, 16, 40, 48, generator=torch.Generator().manual_seed(6))
    with torch.inference_mode():
        other = copy.deepcopy(packed)  # inference tensors: in-place changes to them would go unseen
        assert other.conv.weight.is_inference()
        out = other(x)
        assert out.is_contiguous() and _rel(out, plain(x)) < 1e-6
        other.conv.weight.mul_(2.0)
        plain.conv.weight.mul_(2.0)
        assert _rel(other(x), plain(x)) < 1e-6


def test_optimize_for_inference_prepacks_and_can_be_told_not_to():
    model = _randomized(C3k2(16, 32, 1, use_c3k=True))
    layers = sum(isinstance(m, ConvBNAct) for m in model.modules())
    fast = optimize_for_inference(copy.deepcopy(model))
    assert sum(isinstance(m, ConvBNAct) and m.onednn is not None for m in fast.modules()) == layers
    lean = optimize_for_inference(copy.deepcopy(model), prepack=False)
    assert all(m.onednn is None for m in lean.modules() if isinstance(m, ConvBNAct))
    unfolded = optimize_for_inference(copy.deepcopy(model), fold_bn=False)
    assert all(m.onednn is None for m in unfolded.modules() if isinstance(m, ConvBNAct))
    x = torch.randn(1, 16, 48, 48, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        expected = model(x)
        for m in (fast, lean, unfolded):
            assert _rel(m(x), expected) < 1e-5
    # an unfolded layer is never prepacked (its BatchNorm runs after the convolution)
    assert prepack_convolutions(_randomized(ConvBNAct(4, 4, 3))) == 0


def test_without_onednn_nothing_is_prepacked(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, 'is_available', lambda: False)
    model = _randomized(ConvBNAct(4, 4, 3))
    fold_batchnorm(model)
    assert prepack_convolutions(model) == 0 and model.onednn is None


def test_unsupported_convolution_is_refused():
    with pytest.raises(ValueError, match='numeric zero padding'):
        OneDNNConv(torch.nn.Conv2d(4, 4, 3, padding='same'), act=True)
    with pytest.raises(ValueError, match='numeric zero padding'):
        OneDNNConv(torch.nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect'), act=False)


def test_torch_export_and_compile_see_plain_convolutions():
    plain, packed = _pair(lambda: ConvBNAct(16, 32, 3))
    x = torch.randn(1, 16, 40, 48, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        exported = torch.export.export(packed, (x,))
        targets = {str(n.target) for n in exported.graph.nodes if n.op == 'call_function'}
        assert targets and not any('mkldnn' in t for t in targets), targets
        assert _rel(exported.module()(x), plain(x)) < 1e-6
        compiled = torch.compile(packed, backend='eager')
        assert _rel(compiled(x), plain(x)) < 1e-6
