# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Backends that mmdeploy 1.3.1's wheel cannot drive on current releases, with our own converter and wrapper.

* OpenVINO: mmdeploy's converter calls the removed Model Optimizer (``mo``) and its wrapper the removed
  ``openvino.inference_engine``; we use ``openvino.convert_model`` / ``openvino.save_model`` and ``openvino.Core``.
* ncnn: mmdeploy's ``onnx2ncnn`` binary and its ncnn custom-op library are not in its wheel; we convert mmdeploy's
  TorchScript export with PyPI ``pnnx`` and run it with PyPI ``ncnn``.

ONNX Runtime and TensorRT use mmdeploy's own converter and wrappers.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from mmdeploy.utils import Backend


def build_wrapper(backend: Backend, backend_files: Sequence[str], output_names: Sequence[str], device: str,
                  preprocess: Optional[Dict] = None, inference_precision: Optional[str] = 'f32'):
    """The runtime wrapper (an mmdeploy ``BaseWrapper``) for ``backend`` ('openvino' or 'ncnn'); ``preprocess``:
    the normalisation to fold into an OpenVINO graph (:mod:`..folded_input`), None to take float inputs;
    ``inference_precision``: OpenVINO's precision hint for unquantized operations (see ``OpenVINOWrapper``)."""
    if str(device) != 'cpu':
        raise ValueError(f'{backend.value} runs on the CPU here; pass --device cpu (got {device!r})')
    if backend == Backend.OPENVINO:
        from .openvino import OpenVINOWrapper
        return OpenVINOWrapper(backend_files, output_names, preprocess, inference_precision)
    if backend == Backend.NCNN:
        from .ncnn import NcnnWrapper
        return NcnnWrapper(backend_files, output_names)
    raise ValueError(f'no yolopose_mm wrapper for backend {backend.value!r}; use mmdeploy\'s')


def convert_ir(backend: Backend, ir_file: str, work_dir: str, input_shape: Sequence[int]) -> List[str]:
    """Convert an export to ``backend``'s files; returns their paths (what :func:`build_wrapper` takes).

    Args:
        backend: OpenVINO (from ONNX) or ncnn (from TorchScript or ONNX).
        ir_file: the exported file.
        work_dir: where the files are written.
        input_shape: (B, 3, H, W) of the export (ncnn needs a fixed shape).
    """
    if backend == Backend.OPENVINO:
        from .openvino import onnx_to_openvino
        return onnx_to_openvino(ir_file, work_dir)
    if backend == Backend.NCNN:
        from .ncnn import to_ncnn
        return to_ncnn(ir_file, work_dir, input_shape)
    raise ValueError(f'no yolopose_mm converter for backend {backend.value!r}; use mmdeploy\'s')


__all__ = ['build_wrapper', 'convert_ir']
