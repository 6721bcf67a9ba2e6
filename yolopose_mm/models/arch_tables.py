# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Immutable architecture tables for the YOLOv8 and YOLO11 pose families.

Every width below is the *nominal* width of the family (the ``l`` scale before the ``max_channels`` cap);
every repeat count is the nominal count (``depth = 1``). A scale maps them to real sizes with
:func:`scaled_channels` and :func:`scaled_repeats`. Nothing here is ever written to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Tuple

VERSIONS = ('v8', '11')
SCALE_NAMES = ('n', 's', 'm', 'l', 'x')


@dataclass(frozen=True)
class Scale:
    """Compound scaling of one model size: repeats x depth, widths x width capped at max_channels."""

    depth: float
    width: float
    max_channels: int


@dataclass(frozen=True)
class Block:
    """One CSP block: kind ('C2f' or 'C3k2'), nominal output width, nominal repeats, shortcut, options.

    ``expansion`` is the hidden-width ratio; ``c3k`` selects C3k inner blocks in C3k2 (forced on for the
    scales listed in :attr:`Family.c3k_scales`).
    """

    kind: str
    channels: int
    repeats: int
    shortcut: bool
    expansion: float = 0.5
    c3k: bool = False


@dataclass(frozen=True)
class Family:
    """A whole model family: stem, four down-sampling stages, SPPF, optional C2PSA, and the PAFPN blocks."""

    scales: Mapping[str, Scale]
    stem_channels: int
    # (down-sampling conv width, block) for strides 4, 8, 16, 32.
    stages: Tuple[Tuple[int, Block], ...]
    sppf_channels: int
    psa_repeats: int  # 0: no C2PSA stage
    # PAFPN: top-down blocks for P4 then P3; bottom-up blocks for P4 then P5.
    top_down: Tuple[Block, ...]
    bottom_up: Tuple[Block, ...]
    cls_branch: str  # 'plain' (YOLOv8) or 'depthwise' (YOLO11)
    c3k_scales: Tuple[str, ...] = ()


_V8 = Family(
    scales=MappingProxyType({
        'n': Scale(0.33, 0.25, 1024),
        's': Scale(0.33, 0.50, 1024),
        'm': Scale(0.67, 0.75, 768),
        'l': Scale(1.00, 1.00, 512),
        'x': Scale(1.00, 1.25, 512),
    }),
    stem_channels=64,
    stages=(
        (128, Block('C2f', 128, 3, True)),
        (256, Block('C2f', 256, 6, True)),
        (512, Block('C2f', 512, 6, True)),
        (1024, Block('C2f', 1024, 3, True)),
    ),
    sppf_channels=1024,
    psa_repeats=0,
    top_down=(Block('C2f', 512, 3, False), Block('C2f', 256, 3, False)),
    bottom_up=(Block('C2f', 512, 3, False), Block('C2f', 1024, 3, False)),
    cls_branch='plain',
)

_V11 = Family(
    scales=MappingProxyType({
        'n': Scale(0.50, 0.25, 1024),
        's': Scale(0.50, 0.50, 1024),
        'm': Scale(0.50, 1.00, 512),
        'l': Scale(1.00, 1.00, 512),
        'x': Scale(1.00, 1.50, 512),
    }),
    stem_channels=64,
    stages=(
        (128, Block('C3k2', 256, 2, True, 0.25)),
        (256, Block('C3k2', 512, 2, True, 0.25)),
        (512, Block('C3k2', 512, 2, True, 0.5, c3k=True)),
        (1024, Block('C3k2', 1024, 2, True, 0.5, c3k=True)),
    ),
    sppf_channels=1024,
    psa_repeats=2,
    top_down=(Block('C3k2', 512, 2, True), Block('C3k2', 256, 2, True)),
    bottom_up=(Block('C3k2', 512, 2, True), Block('C3k2', 1024, 2, True, c3k=True)),
    cls_branch='depthwise',
    c3k_scales=('m', 'l', 'x'),
)

FAMILIES: Mapping[str, Family] = MappingProxyType({'v8': _V8, '11': _V11})


def make_divisible(value: float, divisor: int = 8) -> int:
    """Smallest multiple of ``divisor`` that is >= ``value``."""
    return int(math.ceil(value / divisor) * divisor)


def get_family(version: str, scale: str) -> Tuple[Family, Scale]:
    """Look up a family and one of its scales, with an error that lists the valid choices."""
    version = normalize_version(version)
    if version not in FAMILIES:
        raise ValueError(f"unknown YOLO pose version {version!r}: choose one of {', '.join(VERSIONS)} "
                         "(e.g. version='11' for YOLO11-pose, version='v8' for YOLOv8-pose)")
    family = FAMILIES[version]
    if scale not in family.scales:
        raise ValueError(f"unknown scale {scale!r} for version {version!r}: choose one of "
                         f"{', '.join(family.scales)}")
    return family, family.scales[scale]


def scaled_channels(nominal: int, scale: Scale) -> int:
    """Real width: cap at max_channels, multiply by the width factor, round up to a multiple of 8."""
    return make_divisible(min(nominal, scale.max_channels) * scale.width, 8)


def scaled_repeats(nominal: int, scale: Scale) -> int:
    """Real repeat count: nominal x depth, rounded, at least 1 (a single block is never scaled)."""
    return max(round(nominal * scale.depth), 1) if nominal > 1 else nominal


def uses_c3k(block: Block, family: Family, scale_name: str) -> bool:
    """Whether a C3k2 block uses C3k inner blocks at this scale."""
    return block.c3k or scale_name in family.c3k_scales


def normalize_version(version: str) -> str:
    """Canonical version key ('v8' or '11') from user spellings such as 'yolov8', '8', 'yolo11'."""
    v = str(version).lower().replace('yolo', '').replace('-pose', '')
    return 'v8' if v in ('8', 'v8') else v


def backbone_out_channels(version: str, scale: str) -> Tuple[int, int, int]:
    """Real widths of the backbone's P3, P4, P5 outputs (strides 8, 16, 32)."""
    family, s = get_family(version, scale)
    return (scaled_channels(family.stages[1][1].channels, s), scaled_channels(family.stages[2][1].channels, s),
            scaled_channels(family.sppf_channels, s))


def neck_out_channels(version: str, scale: str) -> Tuple[int, int, int]:
    """Real widths of the PAFPN's P3, P4, P5 outputs, i.e. the pose head's inputs."""
    family, s = get_family(version, scale)
    return (scaled_channels(family.top_down[-1].channels, s), scaled_channels(family.bottom_up[0].channels, s),
            scaled_channels(family.bottom_up[1].channels, s))
