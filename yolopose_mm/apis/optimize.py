# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Inference-only speed-ups of a built pose estimator: BatchNorm folding and channels-last memory."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..models.layers.conv import ConvBNAct


def fold_batchnorm(model: nn.Module) -> int:
    """Fold the BatchNorm of every :class:`ConvBNAct` into its convolution, in place.

    Each ``ConvBNAct`` computes ``act(bn(conv(x)))``; in eval mode the BatchNorm is a per-channel affine map,
    so ``conv`` gets the folded weight and bias, ``bn`` becomes ``nn.Identity`` and ``bn_folded`` switches the
    module to its lean functional forward. Only ``ConvBNAct`` modules
    are touched (their order of operations is known), so a BatchNorm elsewhere is never folded into the wrong
    convolution. The folded model predicts the same (float rounding aside) but can no longer be trained.

    Args:
        model: A model in eval mode.

    Returns:
        The number of folded BatchNorm layers.

    Raises:
        RuntimeError: the model is in training mode (folding uses the running statistics).
    """
    if model.training:
        raise RuntimeError('fold_batchnorm needs a model in eval mode (call model.eval() first); folding uses '
                           'the BatchNorm running statistics')
    folded = 0
    for module in model.modules():
        if isinstance(module, ConvBNAct) and isinstance(module.bn, nn.BatchNorm2d):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            module.bn = nn.Identity()
            module.bn_folded = True
            folded += 1
    return folded


def optimize_for_inference(model: nn.Module, fold_bn: bool = True, channels_last: bool = True) -> nn.Module:
    """Make an eval-mode pose estimator faster for prediction, in place.

    Args:
        model: A built estimator in eval mode (e.g. from :func:`yolopose_mm.apis.init_model`).
        fold_bn: Fold BatchNorm into the preceding convolutions (:func:`fold_batchnorm`).
        channels_last: Store convolution weights channels-last (NHWC), which oneDNN (CPU) and cuDNN run faster;
            the network's outputs are the same up to float rounding.

    Returns:
        ``model`` itself, with ``yolopose_inference_optimized`` set to True.
    """
    if fold_bn:
        fold_batchnorm(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.yolopose_inference_optimized = True
    return model
