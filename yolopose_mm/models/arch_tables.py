# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Immutable architecture tables of the YOLO pose families (YOLOv8, YOLOv8-P6, YOLO11, YOLO12).

A family is a stem, a list of down-sampling :class:`Stage` s (a stride-2 conv followed by any blocks), and a
path-aggregation neck over the last ``num_levels`` stages given as two lists of blocks. A :class:`Block` names its
kind (a builder of :mod:`..utils.block_factory`) and carries its own keyword options, so a new block kind or
option never changes this file's design. Options that depend on the scale (C3k inner blocks from ``m`` on, ...)
are :class:`ScaleRule` s of the family.

Every width below is the *nominal* width of the family (the ``l`` scale before the ``max_channels`` cap);
every repeat count is the nominal count (``depth = 1``). A scale maps them to real sizes with
:func:`scaled_channels` and :func:`scaled_repeats`. Nothing here is ever written to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Dict, Mapping, Tuple

SCALE_NAMES = ('n', 's', 'm', 'l', 'x')


@dataclass(frozen=True)
class Scale:
    """Compound scaling of one model size: repeats x depth, widths x width capped at max_channels."""

    depth: float
    width: float
    max_channels: int


@dataclass(frozen=True)
class Block:
    """One block of a table: its kind, nominal output width, nominal repeats and per-kind options.

    ``options`` is a sorted tuple of (name, value) pairs; write tables with :func:`block`, which takes them as
    keywords. Which options a kind accepts is decided by its builder in :mod:`..utils.block_factory`.
    """

    kind: str
    channels: int
    repeats: int = 1
    options: Tuple[Tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> Dict[str, Any]:
        """The options as a new dict (the block itself is never changed)."""
        return dict(self.options)

    def with_options(self, **changes: Any) -> 'Block':
        """A copy with some options set."""
        return replace(self, options=tuple(sorted({**dict(self.options), **changes}.items())))


def block(kind: str, channels: int, repeats: int = 1, **options: Any) -> Block:
    """Table shorthand: ``block('C3k2', 512, 2, c3k=True)``."""
    return Block(kind, channels, repeats, tuple(sorted(options.items())))


@dataclass(frozen=True)
class Stage:
    """A stride-2 3x3 ConvBNAct of nominal width ``down_channels``, then ``blocks`` in order."""

    down_channels: int
    blocks: Tuple[Block, ...]


@dataclass(frozen=True)
class ScaleRule:
    """At the listed scales, every block of kind ``kind`` gets ``options`` (Ultralytics' per-scale overrides)."""

    scales: Tuple[str, ...]
    kind: str
    options: Tuple[Tuple[str, Any], ...]


@dataclass(frozen=True)
class Family:
    """A whole model family.

    Attributes:
        scales: Scale name -> :class:`Scale`.
        stem_channels: Nominal width of the stride-2 stem conv.
        stages: Down-sampling stages; stage i (1-based) has stride 2 ** (i + 1).
        top_down: Neck blocks fusing the upsampled level above with the backbone level, from the level below the
            top down to P3 (``num_levels - 1`` blocks).
        bottom_up: Neck blocks fusing a stride-2 conv of the level below with the top-down output (the backbone
            output for the top level), from P4 up to the top level (``num_levels - 1`` blocks).
        cls_branch: Head class-branch style, 'plain' (YOLOv8) or 'depthwise' (YOLO11 on).
        scale_rules: Per-scale option overrides.
    """

    scales: Mapping[str, Scale]
    stem_channels: int
    stages: Tuple[Stage, ...]
    top_down: Tuple[Block, ...]
    bottom_up: Tuple[Block, ...]
    cls_branch: str
    scale_rules: Tuple[ScaleRule, ...] = ()

    def __post_init__(self) -> None:
        if len(self.top_down) != len(self.bottom_up) or not self.top_down:
            raise ValueError('Family: top_down and bottom_up need the same, non-zero number of blocks '
                             f'(got {len(self.top_down)} and {len(self.bottom_up)})')
        if self.num_levels > len(self.stages) - 1:
            raise ValueError(f'Family: {self.num_levels} neck levels need at least {self.num_levels + 1} stages, '
                             f'got {len(self.stages)}')

    @property
    def num_levels(self) -> int:
        """Number of output levels (P3 .. P(2 + num_levels))."""
        return len(self.top_down) + 1

    @property
    def strides(self) -> Tuple[int, ...]:
        """Strides of the output levels: 8, 16, 32 (, 64)."""
        return tuple(8 * 2 ** i for i in range(self.num_levels))

    @property
    def out_stages(self) -> Tuple[int, ...]:
        """1-based indices of the backbone stages that feed the neck (the last ``num_levels``)."""
        n = len(self.stages)
        return tuple(range(n - self.num_levels + 1, n + 1))

    def at_scale(self, blk: Block, scale_name: str) -> Block:
        """``blk`` with the options of every rule matching its kind and this scale applied."""
        for rule in self.scale_rules:
            if rule.kind == blk.kind and scale_name in rule.scales:
                blk = blk.with_options(**dict(rule.options))
        return blk


def _rule(scales: str, kind: str, **options: Any) -> ScaleRule:
    return ScaleRule(tuple(scales), kind, tuple(sorted(options.items())))


def _scales(**rows: Tuple[float, float, int]) -> Mapping[str, Scale]:
    return MappingProxyType({name: Scale(*row) for name, row in rows.items()})


_V8_SCALES = _scales(n=(0.33, 0.25, 1024), s=(0.33, 0.50, 1024), m=(0.67, 0.75, 768), l=(1.00, 1.00, 512),
                     x=(1.00, 1.25, 512))
_V11_SCALES = _scales(n=(0.50, 0.25, 1024), s=(0.50, 0.50, 1024), m=(0.50, 1.00, 512), l=(1.00, 1.00, 512),
                      x=(1.00, 1.50, 512))
_SPPF = block('SPPF', 1024, kernel_size=5)
_C3K_FROM_M = _rule('mlx', 'C3k2', c3k=True)  # C3k inner blocks in every C3k2 of the m, l and x scales


def _c2f(channels: int, repeats: int, shortcut: bool) -> Block:
    return block('C2f', channels, repeats, shortcut=shortcut)


_V8 = Family(
    scales=_V8_SCALES,
    stem_channels=64,
    stages=(Stage(128, (_c2f(128, 3, True),)), Stage(256, (_c2f(256, 6, True),)),
            Stage(512, (_c2f(512, 6, True),)), Stage(1024, (_c2f(1024, 3, True), _SPPF))),
    top_down=(_c2f(512, 3, False), _c2f(256, 3, False)),
    bottom_up=(_c2f(512, 3, False), _c2f(1024, 3, False)),
    cls_branch='plain',
)

# YOLOv8-P6: a fifth stage (stride 64) with the stages capped at 768 then 1024, and a C2 neck over four levels.
_V8_P6 = Family(
    scales=_V8_SCALES,
    stem_channels=64,
    stages=(Stage(128, (_c2f(128, 3, True),)), Stage(256, (_c2f(256, 6, True),)),
            Stage(512, (_c2f(512, 6, True),)), Stage(768, (_c2f(768, 3, True),)),
            Stage(1024, (_c2f(1024, 3, True), _SPPF))),
    top_down=tuple(block('C2', c, 3, shortcut=False) for c in (768, 512, 256)),
    bottom_up=tuple(block('C2', c, 3, shortcut=False) for c in (512, 768, 1024)),
    cls_branch='plain',
)

_V11 = Family(
    scales=_V11_SCALES,
    stem_channels=64,
    stages=(Stage(128, (block('C3k2', 256, 2, expansion=0.25),)),
            Stage(256, (block('C3k2', 512, 2, expansion=0.25),)),
            Stage(512, (block('C3k2', 512, 2, c3k=True),)),
            Stage(1024, (block('C3k2', 1024, 2, c3k=True), _SPPF, block('C2PSA', 1024, 2)))),
    top_down=(block('C3k2', 512, 2), block('C3k2', 256, 2)),
    bottom_up=(block('C3k2', 512, 2), block('C3k2', 1024, 2, c3k=True)),
    cls_branch='depthwise',
    scale_rules=(_C3K_FROM_M,),
)

# YOLO12: area-attention A2C2f blocks at strides 16 and 32 (areas 4 and 1), no SPPF; A2C2f with C3k inner blocks
# in the neck. From l on, the attention blocks add a learned, scaled residual and use an MLP ratio of 1.2.
_V12 = Family(
    scales=_V11_SCALES,
    stem_channels=64,
    stages=(Stage(128, (block('C3k2', 256, 2, expansion=0.25),)),
            Stage(256, (block('C3k2', 512, 2, expansion=0.25),)),
            Stage(512, (block('A2C2f', 512, 4, area_attention=True, area=4),)),
            Stage(1024, (block('A2C2f', 1024, 4, area_attention=True, area=1),))),
    top_down=(block('A2C2f', 512, 2, area_attention=False), block('A2C2f', 256, 2, area_attention=False)),
    bottom_up=(block('A2C2f', 512, 2, area_attention=False), block('C3k2', 1024, 2, c3k=True)),
    cls_branch='depthwise',
    scale_rules=(_C3K_FROM_M, _rule('lx', 'A2C2f', residual=True, mlp_ratio=1.2)),
)

# YOLO26: YOLO11's stages with a residual SPPF whose first conv is linear; C3k inner blocks in every neck block at
# every scale, and a single C3k2 with attention (bottleneck + PSA) as the last one.
_V26 = Family(
    scales=_V11_SCALES,
    stem_channels=64,
    stages=_V11.stages[:3] + (Stage(1024, (block('C3k2', 1024, 2, c3k=True),
                                           _SPPF.with_options(shortcut=True, reduce_act=False),
                                           block('C2PSA', 1024, 2))),),
    top_down=(block('C3k2', 512, 2, c3k=True), block('C3k2', 256, 2, c3k=True)),
    bottom_up=(block('C3k2', 512, 2, c3k=True), block('C3k2', 1024, 1, c3k=True, attention=True)),
    cls_branch='depthwise',
    scale_rules=(_C3K_FROM_M,),
)

FAMILIES: Mapping[str, Family] = MappingProxyType({'v8': _V8, '11': _V11, 'v8-p6': _V8_P6, '12': _V12,
                                                   '26': _V26})
VERSIONS = tuple(FAMILIES)
# Ultralytics model names (without the scale letter and '-pose'), e.g. 'yolov8' + 'n' + '-pose-p6'.
_ALIASES = MappingProxyType({'8': 'v8', 'v8': 'v8', 'v8p6': 'v8-p6', '8p6': 'v8-p6', '8-p6': 'v8-p6'})


def make_divisible(value: float, divisor: int = 8) -> int:
    """Smallest multiple of ``divisor`` that is >= ``value``."""
    return int(math.ceil(value / divisor) * divisor)


def normalize_version(version: str) -> str:
    """Canonical version key from user spellings: 'yolov8' -> 'v8', 'yolov8-p6' -> 'v8-p6', 'yolo12' -> '12'."""
    v = str(version).lower().replace('yolo', '').replace('-pose', '').replace('_', '-')
    return _ALIASES.get(v, v)


def get_family(version: str, scale: str) -> Tuple[Family, Scale]:
    """Look up a family and one of its scales, with an error that lists the valid choices."""
    version = normalize_version(version)
    if version not in FAMILIES:
        raise ValueError(f"unknown YOLO pose version {version!r}: choose one of {', '.join(VERSIONS)} "
                         "(e.g. version='11' for YOLO11-pose, 'v8' for YOLOv8-pose, 'v8-p6' for YOLOv8-pose-p6, "
                         "'12' for YOLO12-pose)")
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


def stage_out_channels(stage: Stage, scale: Scale) -> int:
    """Real output width of a stage (its last block's, or its conv's when it has no block)."""
    return scaled_channels(stage.blocks[-1].channels if stage.blocks else stage.down_channels, scale)


def backbone_out_channels(version: str, scale: str) -> Tuple[int, ...]:
    """Real widths of the backbone outputs that feed the neck (strides 8, 16, 32 (, 64))."""
    family, s = get_family(version, scale)
    return tuple(stage_out_channels(family.stages[i - 1], s) for i in family.out_stages)


def neck_out_channels(version: str, scale: str) -> Tuple[int, ...]:
    """Real widths of the PAFPN outputs (P3 first), i.e. the pose head's inputs."""
    family, s = get_family(version, scale)
    return tuple(scaled_channels(b.channels, s) for b in (family.top_down[-1], *family.bottom_up))


def featmap_strides(version: str) -> Tuple[int, ...]:
    """Strides of a family's output levels."""
    return get_family(version, 'n')[0].strides
