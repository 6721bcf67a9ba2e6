# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Area attention (YOLO12): self-attention inside equal strips of the feature map, and the R-ELAN block A2C2f."""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from .attention_ops import fused_attention_applies, token_major_attention
from .conv import ConvBNAct
from .csp_blocks import C3k

HEAD_DIM = 32  # channels per attention head in YOLO12


class AreaAttention(nn.Module):
    """Multi-head self-attention restricted to ``area`` equal strips of the row-major flattened map.

    The H*W positions, in row-major order, are cut into ``area`` consecutive runs (horizontal strips when
    ``area`` divides H); attention runs inside each run. Per head the 1x1 ``qkv`` conv gives query, key and value
    of ``head_dim`` channels each (head-major: [q, k, v] of head 0, then head 1, ...). A depthwise 7x7 conv of the
    values is added as a positional term before the output projection. A channels-last map in inference runs
    the same attention token-major through ``scaled_dot_product_attention`` (:mod:`.attention_ops`).

    Args:
        channels: C.
        num_heads: Heads; must divide C.
        area: Number of strips (1: global attention).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W); H * W must be divisible by ``area``.
    """

    def __init__(self, channels: int, num_heads: int, area: int = 1) -> None:
        super().__init__()
        if num_heads < 1 or channels % num_heads:
            raise ValueError(f'AreaAttention: num_heads={num_heads} must divide channels={channels}')
        if area < 1:
            raise ValueError(f'AreaAttention: area must be >= 1, got {area}')
        self.num_heads, self.area = num_heads, area
        self.head_dim = channels // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = ConvBNAct(channels, 3 * channels, 1, act=False)
        self.proj = ConvBNAct(channels, channels, 1, act=False)
        self.pos_enc = ConvBNAct(channels, channels, 7, groups=channels, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        a, heads, d = self.area, self.num_heads, self.head_dim
        if not torch.jit.is_tracing() and (h * w) % a:
            raise ValueError(f'AreaAttention: a {h}x{w} feature map cannot be cut into {a} equal areas; use an '
                             'input size whose sides are multiples of 32')
        n = h * w // a
        qkv = self.qkv(x)
        if fused_attention_applies(qkv):
            out, v = token_major_attention(qkv, a, heads, (d, d, d), self.scale)
            return self.proj(out + self.pos_enc(v))
        qkv = qkv.view(b, heads, 3 * d, a, n)
        if a > 1:  # areas become batch entries: (B * area, heads, 3d, n)
            qkv = qkv.permute(0, 3, 1, 2, 4)
        qkv = qkv.reshape(b * a, heads, 3 * d, n)
        q, k, v = qkv.split((d, d, d), dim=2)  # (B', heads, d, n) each
        weights = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)  # (B', heads, n, n)
        out = v @ weights.transpose(-2, -1)  # (B', heads, d, n)
        if a > 1:
            out = out.view(b, a, heads, d, n).permute(0, 2, 3, 1, 4)
            v = v.reshape(b, a, heads, d, n).permute(0, 2, 3, 1, 4)
        out, v = out.reshape(b, c, h, w), v.reshape(b, c, h, w)
        return self.proj(out + self.pos_enc(v))


class AreaAttentionBlock(nn.Module):
    """Area attention then a two-layer 1x1 feed-forward (hidden int(C * mlp_ratio)), each residual.

    Conv weights start from a truncated normal with std 0.02, as in YOLO12.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, num_heads: int, mlp_ratio: float = 1.2, area: int = 1) -> None:
        super().__init__()
        hidden = int(channels * mlp_ratio)
        self.attn = AreaAttention(channels, num_heads, area)
        self.ffn = nn.Sequential(ConvBNAct(channels, hidden, 1), ConvBNAct(hidden, channels, 1, act=False))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.ffn(x)


class A2C2f(nn.Module):
    """YOLO12's residual ELAN block: a 1x1 conv to c = int(C_out * expansion) channels, ``num_blocks`` chained
    inner blocks, and a 1x1 conv fusing the first map with every inner output.

    Inner blocks are two :class:`AreaAttentionBlock` (``area_attention``, c / 32 heads) or a two-bottleneck
    :class:`C3k`. With ``residual`` (area attention only) the result is ``x + gamma * fused`` with a learned
    per-channel ``gamma`` starting at 0.01.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        num_blocks: Inner blocks n.
        area_attention: Area-attention inner blocks (else C3k).
        area: Areas of the attention.
        residual: Scaled residual connection (needs C_in == C_out).
        mlp_ratio: Feed-forward width ratio of the attention blocks.
        expansion: Hidden width ratio.
        groups: Groups of the C3k bottlenecks.
        shortcut: Shortcuts of the C3k bottlenecks.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, area_attention: bool = True,
                 area: int = 1, residual: bool = False, mlp_ratio: float = 2.0, expansion: float = 0.5,
                 groups: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f'A2C2f: num_blocks must be >= 1, got {num_blocks}')
        hidden = int(out_channels * expansion)
        if area_attention and hidden % HEAD_DIM:
            raise ValueError(f'A2C2f: hidden width {hidden} (out_channels {out_channels} x expansion {expansion}) '
                             f'must be a multiple of {HEAD_DIM} for the attention heads')
        use_residual = bool(area_attention and residual)
        if use_residual and in_channels != out_channels:
            raise ValueError(f'A2C2f: residual needs in_channels == out_channels, got {in_channels} and '
                             f'{out_channels}')
        self.pre_conv = ConvBNAct(in_channels, hidden, 1)
        self.post_conv = ConvBNAct((1 + num_blocks) * hidden, out_channels, 1)
        self.gamma = nn.Parameter(torch.full((out_channels,), 0.01)) if use_residual else None
        if area_attention:
            blocks = (nn.Sequential(*(AreaAttentionBlock(hidden, hidden // HEAD_DIM, mlp_ratio, area)
                                      for _ in range(2))) for _ in range(num_blocks))
        else:
            blocks = (C3k(hidden, hidden, 2, shortcut, 0.5, groups, 3) for _ in range(num_blocks))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: List[torch.Tensor] = [self.pre_conv(x)]
        for blk in self.blocks:
            outs.append(blk(outs[-1]))
        out = self.post_conv(torch.cat(outs, 1))
        if self.gamma is not None:
            return x + self.gamma.view(1, -1, 1, 1) * out
        return out
