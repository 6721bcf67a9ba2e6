# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Inference-only speed-ups of a built pose estimator: BatchNorm folding, prepacked oneDNN convolutions,
channels-last memory and (on the CPU) freed heap memory kept for the next forward."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..models.layers.conv import ConvBNAct
from ..models.layers.onednn_conv import OneDNNConv, onednn_available
from .cpu_memory import retain_freed_memory


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


def prepack_convolutions(model: nn.Module) -> int:
    """Give every BatchNorm-folded :class:`ConvBNAct` a prepacked oneDNN convolution with fused SiLU, in place.

    A float32 CPU forward without gradients then runs each such layer as one oneDNN call on a weight reordered
    once into oneDNN's layout (:class:`~yolopose_mm.models.layers.onednn_conv.OneDNNConv`), instead of a
    convolution that reorders its weight at every call followed by a separate SiLU pass; outputs are the same up
    to float rounding and come out channels-last. Training, autocast, tracing / ONNX export, ``torch.compile`` and
    other devices keep the functional path, so exporting or moving the model stays possible.

    Args:
        model: A model whose BatchNorms are folded (:func:`fold_batchnorm`).

    Returns:
        The number of prepacked layers (0 where torch has no oneDNN).
    """
    if not onednn_available():
        return 0
    packed = 0
    for module in model.modules():
        if isinstance(module, ConvBNAct) and module.bn_folded and OneDNNConv.supports(module.conv):
            module.onednn = OneDNNConv(module.conv, module.use_act)
            packed += 1
    return packed


def optimize_for_inference(model: nn.Module, fold_bn: bool = True, channels_last: bool = True,
                           prepack: bool = True, retain_memory: bool = True) -> nn.Module:
    """Make an eval-mode pose estimator faster for prediction, in place.

    Args:
        model: A built estimator in eval mode (e.g. from :func:`yolopose_mm.apis.init_model`).
        fold_bn: Fold BatchNorm into the preceding convolutions (:func:`fold_batchnorm`).
        channels_last: Store convolution weights channels-last (NHWC), which oneDNN (CPU) and cuDNN run faster;
            the network's outputs are the same up to float rounding.
        prepack: With ``fold_bn``, run the folded layers' float32 CPU inference as prepacked oneDNN convolutions
            with fused SiLU (:func:`prepack_convolutions`; 2-4% of a nano model's CPU forward).
        retain_memory: For a model on the CPU, keep glibc's freed heap memory in the process
            (:func:`~yolopose_mm.apis.cpu_memory.retain_freed_memory`, as tracking does): without it the largest
            feature maps were page-faulted in anew at every forward (YOLO26-n at 640: 3,100-10,000 faults per
            forward; alone in a process 60-61.5 ms per forward without, 49-49.6 ms with). Process-wide and once; ``YOLOPOSE_RETAIN_MEMORY=0`` turns it off everywhere.

    Returns:
        ``model`` itself, with ``yolopose_inference_optimized`` set to True.
    """
    if fold_bn:
        fold_batchnorm(model)
        if prepack:
            prepack_convolutions(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if retain_memory and all(p.device.type == 'cpu' for p in model.parameters()):
        retain_freed_memory()
    model.yolopose_inference_optimized = True
    return model
