# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Bring BatchNorm-folded ("fused") convolutions of an inference checkpoint back to conv + BatchNorm form."""
from __future__ import annotations

from typing import Dict, List

import torch

BN_EPS = 1e-3  # the BatchNorm eps of every YOLO ConvBNAct


def unfold_fused_convs(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]) -> List[str]:
    """Give every fused convolution of ``state`` an identity BatchNorm, in place.

    A fused ``ConvBNAct`` is stored as ``<m>.conv.weight`` + ``<m>.conv.bias`` with no ``<m>.bn.*``: the folded
    affine map lives in the bias. Where ``expected`` (the target model's state dict) has ``<m>.bn.*`` and no
    ``<m>.conv.bias``, the bias moves to ``<m>.bn.bias`` with ``bn.weight = 1``, ``running_mean = 0`` and
    ``running_var = 1 - eps``, so ``bn(x) = x + bias`` (exactly up to float rounding) and the model can be
    fine-tuned again.

    Args:
        state: converted tensors (modified in place).
        expected: the target model's state dict (shapes and dtypes).

    Returns:
        the module prefixes that were unfolded.
    """
    unfolded = []
    for key in list(state):
        if not key.endswith('.conv.bias'):
            continue
        prefix = key[:-len('.conv.bias')]
        if key in expected or f'{prefix}.bn.weight' not in expected or f'{prefix}.bn.weight' in state:
            continue
        bias = state.pop(key).float()
        state[f'{prefix}.bn.weight'] = torch.ones_like(bias)
        state[f'{prefix}.bn.bias'] = bias
        state[f'{prefix}.bn.running_mean'] = torch.zeros_like(bias)
        state[f'{prefix}.bn.running_var'] = torch.full_like(bias, 1.0 - BN_EPS)
        if f'{prefix}.bn.num_batches_tracked' in expected:
            state[f'{prefix}.bn.num_batches_tracked'] = torch.zeros((), dtype=torch.long)
        unfolded.append(prefix)
    return unfolded


__all__ = ['unfold_fused_convs']
