# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Build the block a table row describes, at a given scale.

Each block kind of :mod:`..arch_tables` has one builder here, ``builder(in_channels, out_channels, repeats,
**options)``; its keyword-only parameters are the options a table may give that kind. A new kind is one more
builder in :data:`BUILDERS`.
"""
from __future__ import annotations

import inspect
from types import MappingProxyType
from typing import Callable, Mapping

from torch import nn

from ..arch_tables import Block, Family, Scale, scaled_channels, scaled_repeats
from ..layers import C2, C2PSA, SPPF, A2C2f, C2f, C3k2


def _single(kind: str, repeats: int) -> None:
    if repeats != 1:
        raise ValueError(f'{kind} blocks are not repeated in the architecture table, got repeats={repeats}')


def _c2(c_in: int, c_out: int, n: int, *, shortcut: bool = True, expansion: float = 0.5) -> nn.Module:
    return C2(c_in, c_out, n, shortcut, expansion)


def _c2f(c_in: int, c_out: int, n: int, *, shortcut: bool = False, expansion: float = 0.5) -> nn.Module:
    return C2f(c_in, c_out, n, shortcut, expansion)


def _c3k2(c_in: int, c_out: int, n: int, *, c3k: bool = False, attention: bool = False, expansion: float = 0.5,
          shortcut: bool = True) -> nn.Module:
    return C3k2(c_in, c_out, n, c3k, expansion, shortcut=shortcut, attention=attention)


def _a2c2f(c_in: int, c_out: int, n: int, *, area_attention: bool = True, area: int = 1, residual: bool = False,
           mlp_ratio: float = 2.0, expansion: float = 0.5, shortcut: bool = True) -> nn.Module:
    return A2C2f(c_in, c_out, n, area_attention, area, residual, mlp_ratio, expansion, shortcut=shortcut)


def _sppf(c_in: int, c_out: int, n: int, *, kernel_size: int = 5, num_pools: int = 3, shortcut: bool = False,
          reduce_act: bool = True) -> nn.Module:
    _single('SPPF', n)
    return SPPF(c_in, c_out, kernel_size, num_pools, shortcut, reduce_act)


def _c2psa(c_in: int, c_out: int, n: int, *, expansion: float = 0.5) -> nn.Module:
    return C2PSA(c_in, c_out, n, expansion)


BUILDERS: Mapping[str, Callable[..., nn.Module]] = MappingProxyType({
    'C2': _c2, 'C2f': _c2f, 'C3k2': _c3k2, 'A2C2f': _a2c2f, 'SPPF': _sppf, 'C2PSA': _c2psa})


def block_options(kind: str) -> tuple:
    """The option names a table may give blocks of ``kind``."""
    params = inspect.signature(BUILDERS[kind]).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def make_block(blk: Block, in_channels: int, family: Family, scale: Scale, scale_name: str) -> nn.Module:
    """Instantiate a table block with scaled width and repeats and the family's options for this scale.

    Args:
        blk: The table row.
        in_channels: Real input channels.
        family: The model family (its scale rules may add options).
        scale: Scale factors.
        scale_name: Scale key ('n', 's', ...).

    Returns:
        The block module; its output width is ``scaled_channels(blk.channels, scale)``.
    """
    if blk.kind not in BUILDERS:
        raise ValueError(f'unknown block kind {blk.kind!r} in the architecture table; known kinds: '
                         f'{", ".join(BUILDERS)} (add a builder to BUILDERS in {__name__})')
    blk = family.at_scale(blk, scale_name)
    unknown = sorted(set(blk.kwargs) - set(block_options(blk.kind)))
    if unknown:
        raise ValueError(f'block {blk.kind}: unknown option(s) {", ".join(unknown)} in the architecture table; '
                         f'{blk.kind} takes {", ".join(block_options(blk.kind))}')
    return BUILDERS[blk.kind](in_channels, scaled_channels(blk.channels, scale), scaled_repeats(blk.repeats, scale),
                              **blk.kwargs)
