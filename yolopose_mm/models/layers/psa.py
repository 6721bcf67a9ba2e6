# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Position-sensitive attention (PSA) blocks used by YOLO11's C2PSA stage."""
from __future__ import annotations

import torch
from torch import nn

from .conv import ConvBNAct


class PositionSensitiveAttention(nn.Module):
    """Multi-head self-attention over all H*W positions with a depthwise 3x3 positional term on the values.

    Per head: key/query width d_k = int(d_h * attn_ratio), value width d_h = C / num_heads.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, num_heads: int = 8, attn_ratio: float = 0.5) -> None:
        super().__init__()
        if num_heads < 1 or channels % num_heads:
            raise ValueError(f'PositionSensitiveAttention: num_heads={num_heads} must divide channels={channels}')
        self.num_heads = num_heads
        self.head_dim = channels // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim ** -0.5
        qkv_channels = channels + 2 * self.key_dim * num_heads
        self.qkv = ConvBNAct(channels, qkv_channels, 1, act=False)
        self.proj = ConvBNAct(channels, channels, 1, act=False)
        self.pos_enc = ConvBNAct(channels, channels, 3, groups=channels, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(x).view(b, self.num_heads, 2 * self.key_dim + self.head_dim, h * w)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.head_dim], dim=2)
        weights = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)  # (B, heads, HW, HW)
        out = (v @ weights.transpose(-2, -1)).view(b, c, h, w)
        out = out + self.pos_enc(v.reshape(b, c, h, w))
        return self.proj(out)


class PSABlock(nn.Module):
    """Attention then a two-layer 1x1 feed-forward, each with a residual connection.

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, attn_ratio: float = 0.5, num_heads: int = 4, shortcut: bool = True) -> None:
        super().__init__()
        self.attn = PositionSensitiveAttention(channels, num_heads, attn_ratio)
        self.ffn = nn.Sequential(ConvBNAct(channels, 2 * channels, 1), ConvBNAct(2 * channels, channels, 1, act=False))
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x) if self.shortcut else self.attn(x)
        return x + self.ffn(x) if self.shortcut else self.ffn(x)


class C2PSA(nn.Module):
    """CSP wrapper around ``num_blocks`` PSA blocks: half the channels pass through attention, half bypass.

    Heads: max(c // 64, 1) with c = int(C * expansion).

    Shapes:
        x: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1, expansion: float = 0.5) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(f'C2PSA keeps the channel count: in_channels={in_channels} must equal '
                             f'out_channels={out_channels}')
        self.hidden = int(in_channels * expansion)
        self.pre_conv = ConvBNAct(in_channels, 2 * self.hidden, 1)
        self.post_conv = ConvBNAct(2 * self.hidden, in_channels, 1)
        heads = max(self.hidden // 64, 1)
        self.blocks = nn.Sequential(*(PSABlock(self.hidden, 0.5, heads) for _ in range(num_blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bypass, attended = self.pre_conv(x).split((self.hidden, self.hidden), dim=1)
        return self.post_conv(torch.cat((bypass, self.blocks(attended)), 1))
