# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy 1.3.1 on torch 2.14: the export fix, registered as an mmdeploy function rewriter.

The rewriter is active only inside mmdeploy's own ``RewriterContext`` (while ``mmdeploy.apis.torch2onnx`` /
``mmdeploy.apis.onnx.export`` runs) and is undone when it exits. Nothing in site-packages is changed.

Fix — ``torch.onnx.export`` defaults to the dynamo exporter (``dynamo=True``) since torch 2.9. mmdeploy calls it
without ``dynamo`` and relies on TorchScript tracing (its rewriters, symbolic functions and ``dynamic_axes``), so
the export fails with "No module named 'onnxscript'" (and, with onnxscript installed, would ignore every mmdeploy
rewrite). :func:`onnx_export__torchscript` forwards every call with ``dynamo=False`` unless the caller chose.
``tests/test_deploy_units.py::test_export_uses_torchscript_exporter`` fails without it.

Checked, no fix needed — mmdeploy adds its ONNX graph passes (the opset >= 13 Squeeze/Unsqueeze ``axes`` pass and
the ``onnx_custom_passes`` hook) by rewriting ``torch.onnx.utils._model_to_graph``. In torch 2.14 that name is
only a re-export of ``torch.onnx._internal.torchscript_exporter.utils._model_to_graph``, which is what the
exporter calls. The rewrite still fires: both names are the same function object, and mmdeploy's ``_set_func``
replaces every dict reference to the original (``gc.get_referrers``), the exporter module's globals included.
``test_mmdeploy_model_to_graph_hook_fires`` guards this (a custom pass must run exactly once per export). What is
skipped, with mmdeploy's own warning, is ``onnx_config.optimize=True``: its passes need mmdeploy's
``ts_optimizer`` extension, which the PyPI wheel lacks; our deploy configs therefore set ``optimize=False``.
"""
from __future__ import annotations

from typing import Any

from mmdeploy.core import FUNCTION_REWRITER


@FUNCTION_REWRITER.register_rewriter('torch.onnx.export')
def onnx_export__torchscript(*args: Any, **kwargs: Any) -> Any:
    """``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``) unless ``dynamo`` was given."""
    ctx = FUNCTION_REWRITER.get_context()
    kwargs.setdefault('dynamo', False)
    return ctx.origin_func(*args, **kwargs)


__all__ = ['onnx_export__torchscript']
