# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy 1.3.1 on torch 2.14: two fixes, registered as mmdeploy function rewriters.

Both are active only inside mmdeploy's own ``RewriterContext`` (i.e. while ``mmdeploy.apis.torch2onnx`` /
``mmdeploy.apis.onnx.export`` runs) and are undone when it exits. Nothing in site-packages is changed.

Fix 1 — ``torch.onnx.export`` defaults to the dynamo exporter (``dynamo=True``) since torch 2.9. mmdeploy calls it
without ``dynamo`` and relies on TorchScript tracing (its rewriters, symbolic functions and ``dynamic_axes``), so
the export fails with "No module named 'onnxscript'" (or, with onnxscript, ignores every mmdeploy rewrite). The
rewriter below forwards every call with ``dynamo=False`` unless the caller chose explicitly.

Fix 2 — mmdeploy adds its ONNX graph passes (the opset >= 13 Squeeze/Unsqueeze ``axes`` pass and the
``onnx_custom_passes`` hook, which carries ``optimize_onnx`` when ``onnx_config.optimize=True``) by rewriting
``torch.onnx.utils._model_to_graph``. In torch 2.14 the TorchScript exporter lives in
``torch.onnx._internal.torchscript_exporter.utils`` and ``torch.onnx.utils`` is only a re-export, so the rewrite
replaces a name that nothing calls: the passes are skipped silently. We register mmdeploy's own pass function on
the function that torch actually calls.
"""
from __future__ import annotations

from typing import Any

from mmdeploy.apis.onnx.optimizer import model_to_graph__custom_optimizer
from mmdeploy.core import FUNCTION_REWRITER

#: Where torch >= 2.9 defines the TorchScript exporter's graph builder (the function mmdeploy must wrap).
MODEL_TO_GRAPH_PATH = 'torch.onnx._internal.torchscript_exporter.utils._model_to_graph'


def _torchscript_exporter_present() -> bool:
    try:
        from torch.onnx._internal.torchscript_exporter import utils  # noqa: F401
    except ImportError:  # torch < 2.9: torch.onnx.utils is the real module and mmdeploy's rewrite works
        return False
    return hasattr(utils, '_model_to_graph')


@FUNCTION_REWRITER.register_rewriter('torch.onnx.export')
def onnx_export__torchscript(*args: Any, **kwargs: Any) -> Any:
    """``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``) unless ``dynamo`` was given."""
    ctx = FUNCTION_REWRITER.get_context()
    kwargs.setdefault('dynamo', False)
    return ctx.origin_func(*args, **kwargs)


if _torchscript_exporter_present():
    # The very function mmdeploy registers for torch.onnx.utils._model_to_graph, on the name torch calls.
    FUNCTION_REWRITER.register_rewriter(MODEL_TO_GRAPH_PATH)(model_to_graph__custom_optimizer)

__all__ = ['MODEL_TO_GRAPH_PATH', 'onnx_export__torchscript']
