# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Backbone and neck: table-driven widths, shapes, options, validation, registry."""
from __future__ import annotations

import pytest
import torch
from mmpose.registry import MODELS

import yolopose_mm  # noqa: F401
from yolopose_mm.models import YOLOPAFPN, YOLOBackbone
from yolopose_mm.models.arch_tables import (FAMILIES, backbone_out_channels, make_divisible, neck_out_channels,
                                            scaled_channels, scaled_repeats)


def test_tables_are_immutable():
    with pytest.raises(TypeError):
        FAMILIES['v8'] = None  # type: ignore[index]
    with pytest.raises(Exception):
        FAMILIES['11'].scales['n'].depth = 2.0  # frozen dataclass


def test_scaling_rules():
    s = FAMILIES['11'].scales['x']
    assert scaled_channels(1024, s) == 768  # capped at 512 then x1.5
    assert make_divisible(12.5) == 16
    assert scaled_repeats(2, FAMILIES['11'].scales['n']) == 1 and scaled_repeats(1, s) == 1
    assert scaled_repeats(3, FAMILIES['v8'].scales['m']) == 2  # round(3 * 0.67)


@pytest.mark.parametrize('version', ['v8', '11'])
def test_backbone_and_neck_shapes(version):
    bb = YOLOBackbone(version, 'n').eval()
    neck = YOLOPAFPN(version, 'n').eval()
    feats = bb(torch.rand(1, 3, 96, 128))
    assert [f.shape[1] for f in feats] == list(bb.out_channels) == list(backbone_out_channels(version, 'n'))
    assert [f.shape[2:] for f in feats] == [(12, 16), (6, 8), (3, 4)]
    outs = neck(feats)
    assert [o.shape[1] for o in outs] == list(neck_out_channels(version, 'n'))
    assert [o.shape[2:] for o in outs] == [(12, 16), (6, 8), (3, 4)]


def test_c3k_forced_on_for_large_yolo11_scales():
    from yolopose_mm.models.layers import C3k
    assert not isinstance(YOLOBackbone('11', 's').stage1[1].blocks[0], C3k)
    assert isinstance(YOLOBackbone('11', 'm').stage1[1].blocks[0], C3k)


def test_backbone_options_and_validation():
    bb = YOLOBackbone('11', 'n', out_indices=(4,), frozen_stages=1)
    assert len(bb(torch.rand(1, 3, 64, 64))) == 1
    assert not any(p.requires_grad for p in bb.stage1.parameters())
    assert all(p.requires_grad for p in bb.stage2.parameters())
    with pytest.raises(ValueError, match='out_indices'):
        YOLOBackbone('11', 'n', out_indices=(5,))
    with pytest.raises(ValueError, match="choose one of v8, 11"):
        YOLOBackbone('v5', 'n')
    with pytest.raises(ValueError, match='unknown scale'):
        YOLOBackbone('11', 'xl')


def test_neck_channel_contract_errors():
    neck = YOLOPAFPN('11', 'n')
    with pytest.raises(ValueError, match='neck.in_channels'):
        neck([torch.rand(1, 8, 8, 8), torch.rand(1, 128, 4, 4), torch.rand(1, 256, 2, 2)])
    with pytest.raises(ValueError, match='3 feature maps'):
        neck([torch.rand(1, 64, 8, 8)])
    custom = YOLOPAFPN('11', 'n', in_channels=(32, 48, 96))
    assert len(custom([torch.rand(1, 32, 8, 8), torch.rand(1, 48, 4, 4), torch.rand(1, 96, 2, 2)])) == 3


def test_registered_in_mmpose():
    assert isinstance(MODELS.build(dict(type='YOLOBackbone', version='v8', scale='n')), YOLOBackbone)
    assert isinstance(MODELS.build(dict(type='YOLOPAFPN', version='v8', scale='n')), YOLOPAFPN)


def test_state_dict_round_trip():
    a, b = YOLOBackbone('11', 'n').eval(), YOLOBackbone('11', 'n').eval()
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.rand(1, 3, 64, 64)
    assert all(torch.equal(p, q) for p, q in zip(a(x), b(x)))
