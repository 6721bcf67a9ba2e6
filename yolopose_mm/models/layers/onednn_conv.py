# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A convolution whose weight is stored in oneDNN's own layout, with SiLU fused into it (CPU inference only)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn


def onednn_available() -> bool:
    """True when this torch build has oneDNN (mkldnn) and the two ops :class:`OneDNNConv` calls."""
    if not torch.backends.mkldnn.is_available():
        return False
    ops = torch.ops.mkldnn
    return hasattr(ops, '_reorder_convolution_weight') and hasattr(ops, '_convolution_pointwise')


def _never() -> bool:
    return False


# torch.compile / torch.export (and the dynamo ONNX exporter) run with this True; the TorchScript ONNX exporter traces
_compiling = getattr(getattr(torch, 'compiler', None), 'is_compiling', _never)
_tracing = torch.jit.is_tracing
_grad_enabled = torch.is_grad_enabled
_autocast_enabled = torch.is_autocast_enabled
_float32 = torch.float32


class OneDNNConv:
    """Run one ``nn.Conv2d`` (optionally followed by SiLU) as a single oneDNN call on a prepacked weight.

    ``F.conv2d`` on the CPU hands its plain weight to oneDNN, which reorders it into its blocked layout at every
    call, and SiLU is a second pass over the output. Here the weight is reordered once (for the shape of the first
    input) and SiLU runs as oneDNN's fused post-op: the same convolution, float rounding aside (about 1e-6
    relative). The output is channels-last (NHWC), as oneDNN produces it.

    :meth:`applies` says where it may run; the caller takes ``F.conv2d`` elsewhere: a float32 CPU input without
    gradients (the op has no backward), autocast, tracing / TorchScript ONNX export or ``torch.compile`` /
    ``torch.export``, and only where ``F.conv2d`` itself would pick oneDNN (PyTorch runs small single-image
    maps of k <= 3, ungrouped convolutions with its own kernels, which are faster there than any oneDNN call).
    The packed weight is rebuilt when the weight or bias changed since packing (in place, ``load_state_dict``,
    ``.to(...)``); it is never pickled or deep-copied: a copy packs its own on its first call. Weights created
    under ``torch.inference_mode`` carry no version counter, so changes to them could not be seen: those layers
    run ``F.conv2d``.

    Args:
        conv: The convolution (2-D, numeric zero padding; see :meth:`supports`).
        act: Fuse SiLU after it.

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H', W'), channels-last.
    """

    # PyTorch's own threshold: below it (batch 1, groups 1, k <= 3) F.conv2d runs its native kernel, not oneDNN
    NATIVE_MAX_NUMEL = 20480

    def __init__(self, conv: nn.Conv2d, act: bool) -> None:
        if not self.supports(conv):
            raise ValueError(f'OneDNNConv: needs an nn.Conv2d with numeric zero padding, got {conv!r}')
        self.conv = conv
        self.act = bool(act)
        self._attr = 'swish' if act else 'none'
        self._geometry = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        self._any_size = conv.groups > 1 or min(conv.kernel_size) > 3
        self._packed: Optional[torch.Tensor] = None
        self._key: Tuple[int, ...] = ()

    def __getstate__(self) -> dict:
        return {'conv': self.conv, 'act': self.act}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state['conv'], state['act'])

    @staticmethod
    def supports(conv: nn.Module) -> bool:
        """Whether ``conv`` is a convolution this class can run (``nn.Conv2d``, numeric zero padding)."""
        return (isinstance(conv, nn.Conv2d) and conv.padding_mode == 'zeros'
                and not isinstance(conv.padding, str))

    def applies(self, x: torch.Tensor) -> bool:
        """Whether ``x`` goes through the packed convolution (float32 CPU inference, not traced or compiled, a
        map F.conv2d would hand to oneDNN)."""
        return (x.dtype is _float32 and x.is_cpu and not _grad_enabled() and not _tracing()
                and not _autocast_enabled('cpu') and not _compiling()
                and (self._any_size or x.numel() > self.NATIVE_MAX_NUMEL) and not self._inference_weights())

    def _inference_weights(self) -> bool:
        # made under torch.inference_mode (e.g. deep-copied there): no version counter shows in-place changes
        b = self.conv.bias
        return self.conv.weight.is_inference() or (b is not None and b.is_inference())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution (+ SiLU) of ``x``; call only where :meth:`applies` holds."""
        w, b = self.conv.weight, self.conv.bias
        key = (w.data_ptr(), w._version) if b is None else (w.data_ptr(), w._version, b.data_ptr(), b._version)
        if key != self._key:
            self._packed = torch.ops.mkldnn._reorder_convolution_weight(w.detach(), *self._geometry, list(x.shape))
            self._key = key
        return torch.ops.mkldnn._convolution_pointwise(x, self._packed, b, *self._geometry, self._attr, [], '')


__all__ = ['OneDNNConv', 'onednn_available']
