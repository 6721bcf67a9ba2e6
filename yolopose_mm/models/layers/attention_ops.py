# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Token-major attention for channels-last feature maps (the layout of an inference-optimized model)."""
from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F


def fused_attention_applies(qkv: torch.Tensor) -> bool:
    """Whether :func:`token_major_attention` should replace the explicit matmul-softmax-matmul.

    True for a channels-last ``qkv`` map in inference (no autograd), outside tracing (hence ONNX export) and compilation: there the
    map is already stored (B, H, W, C), so the per-head query / key / value tensors are views and PyTorch's
    ``scaled_dot_product_attention`` kernel runs without copies. Training, exported graphs and contiguous (NCHW)
    maps keep the explicit path, so their numbers and graphs are unchanged.

    Args:
        qkv: (B, C', H, W) output of an attention block's qkv convolution.
    """
    if torch.is_grad_enabled() or torch.jit.is_tracing() or torch.jit.is_scripting() or \
            torch.compiler.is_compiling():  # (torch.onnx.export traces; is_in_onnx_export costs ~5 us a call)
        return False
    return qkv.dim() == 4 and qkv.shape[2] * qkv.shape[3] > 1 and \
        qkv.is_contiguous(memory_format=torch.channels_last)


def token_major_attention(qkv: torch.Tensor, groups: int, num_heads: int, splits: Sequence[int],
                          scale: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Self-attention inside ``groups`` equal runs of the row-major flattened map, heads head-major in channels.

    Channel layout of ``qkv``: per head, ``splits`` = (d_qk, d_qk, d_v) channels of query, key and value, head 0
    first. Used by YOLO12's area attention (d_qk == d_v, which PyTorch's fused CPU kernel needs; with unequal
    widths, as in PSA, it falls back to the same matmuls plus overhead, so PSA keeps its explicit path). Positions are cut into ``groups`` consecutive runs of N = H * W / groups; attention stays in a run.
    Numerically the same as softmax(q^T k * scale) applied to v (float rounding aside).

    Args:
        qkv: (B, heads * sum(splits), H, W), channels-last.
        groups: Runs of positions (areas); must divide H * W.
        num_heads: Heads.
        splits: (d_qk, d_qk, d_v).
        scale: Logit scale.

    Returns:
        (out, v): both (B, heads * d_v, H, W) channels-last views: the attention output and the values, with
        channel = head * d_v + j.
    """
    b, _, h, w = qkv.shape
    n = h * w // groups
    tokens = qkv.permute(0, 2, 3, 1).reshape(b * groups, n, num_heads, sum(splits)).transpose(1, 2)
    q, k, v = tokens.split(tuple(splits), dim=3)  # (B * groups, heads, N, d)
    out = F.scaled_dot_product_attention(q, k, v, scale=scale)  # (B * groups, heads, N, d_v)
    c = num_heads * splits[2]
    out = out.transpose(1, 2).reshape(b, h, w, c).permute(0, 3, 1, 2)
    v = v.transpose(1, 2).reshape(b, h, w, c).permute(0, 3, 1, 2)
    return out, v
