# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Build the CSP block a table row describes, at a given scale."""
from __future__ import annotations

from torch import nn

from ..arch_tables import Block, Family, Scale, scaled_channels, scaled_repeats, uses_c3k
from ..layers import C2f, C3k2


def make_csp_block(block: Block, in_channels: int, family: Family, scale: Scale, scale_name: str) -> nn.Module:
    """Instantiate ``block`` (C2f or C3k2) with scaled width and repeats.

    Args:
        block: The table row.
        in_channels: Real input channels.
        family: The model family (decides when C3k is forced on).
        scale: Scale factors.
        scale_name: Scale key ('n', 's', ...).

    Returns:
        The block module; its output width is ``scaled_channels(block.channels, scale)``.
    """
    out_channels = scaled_channels(block.channels, scale)
    repeats = scaled_repeats(block.repeats, scale)
    if block.kind == 'C2f':
        return C2f(in_channels, out_channels, repeats, block.shortcut, block.expansion)
    if block.kind == 'C3k2':
        return C3k2(in_channels, out_channels, repeats, uses_c3k(block, family, scale_name), block.expansion,
                    shortcut=block.shortcut)
    raise ValueError(f'unknown block kind {block.kind!r} in the architecture table (expected C2f or C3k2)')
