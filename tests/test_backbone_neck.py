# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Backbone and neck: table-driven widths, shapes, options, validation, registry."""
from __future__ import annotations

import pytest
import torch
from mmpose.registry import MODELS

import yolopose_mm  # noqa: F401
from yolopose_mm.models import YOLOPAFPN, YOLOBackbone
from yolopose_mm.models.arch_tables import (FAMILIES, backbone_out_channels, make_divisible, neck_out_channels,
                                            normalize_version, scaled_channels, scaled_repeats)


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


@pytest.mark.parametrize('version', ['v8', '11', 'v8-p6', '12'])
def test_backbone_and_neck_shapes(version):
    bb = YOLOBackbone(version, 'n').eval()
    neck = YOLOPAFPN(version, 'n').eval()
    feats = bb(torch.rand(1, 3, 128, 192))
    sizes = [(16, 24), (8, 12), (4, 6), (2, 3)][:FAMILIES[version].num_levels]
    assert [f.shape[1] for f in feats] == list(bb.out_channels) == list(backbone_out_channels(version, 'n'))
    assert [f.shape[2:] for f in feats] == sizes
    outs = neck(feats)
    assert [o.shape[1] for o in outs] == list(neck_out_channels(version, 'n'))
    assert [o.shape[2:] for o in outs] == sizes


def test_family_tables_say_levels_strides_and_blocks():
    p6, v12 = FAMILIES['v8-p6'], FAMILIES['12']
    assert (p6.num_levels, p6.strides, p6.out_stages) == (4, (8, 16, 32, 64), (2, 3, 4, 5))
    assert (v12.num_levels, v12.strides, v12.out_stages) == (3, (8, 16, 32), (2, 3, 4))
    assert {b.kind for b in p6.top_down + p6.bottom_up} == {'C2'}
    assert 'SPPF' not in {b.kind for st in v12.stages for b in st.blocks}
    a2 = v12.stages[2].blocks[0]
    assert a2.kwargs == {'area_attention': True, 'area': 4}
    assert v12.at_scale(a2, 'l').kwargs == {'area_attention': True, 'area': 4, 'residual': True, 'mlp_ratio': 1.2}
    assert v12.at_scale(a2, 'm') == a2 and a2.kwargs == {'area_attention': True, 'area': 4}  # never written
    assert [normalize_version(v) for v in ('yolov8-p6', 'v8p6', 'yolo12', '8', 'YOLO11')] == ['v8-p6', 'v8-p6',
                                                                                              '12', 'v8', '11']


def test_yolo12_uses_attention_and_p6_c2_blocks():
    from yolopose_mm.models.layers import C2, A2C2f
    bb = YOLOBackbone('12', 'l')
    assert isinstance(bb.stage3[1], A2C2f) and bb.stage3[1].gamma is not None  # residual from l on
    assert YOLOBackbone('12', 'n').stage3[1].gamma is None
    assert isinstance(YOLOPAFPN('v8-p6', 'n').top_down_blocks[0], C2)
    assert len(YOLOPAFPN('v8-p6', 'n').bottom_up_blocks) == 3


def test_block_factory_errors_name_the_fix():
    from yolopose_mm.models.arch_tables import block, get_family
    from yolopose_mm.models.utils.block_factory import make_block
    family, s = get_family('11', 'n')
    with pytest.raises(ValueError, match='unknown block kind .C9.*known kinds: C2, C2f'):
        make_block(block('C9', 64), 32, family, s, 'n')
    with pytest.raises(ValueError, match='unknown option.*area.*C2f takes shortcut, expansion'):
        make_block(block('C2f', 64, area=4), 32, family, s, 'n')
    with pytest.raises(ValueError, match='SPPF blocks are not repeated'):
        make_block(block('SPPF', 64, 4), 32, family, s, 'n')


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
    assert YOLOBackbone('v8-p6', 'n', out_indices=(5,)).out_channels == (256,)
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
    with pytest.raises(ValueError, match='4 feature maps'):
        YOLOPAFPN('v8-p6', 'n')([torch.rand(1, 64, 8, 8)] * 3)
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
