# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""OpenVINO (current Python API): ONNX -> IR conversion and an mmdeploy-style runtime wrapper."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmdeploy.backend.base import BaseWrapper


def _openvino():
    try:
        import openvino
    except ImportError as e:
        raise ImportError('the OpenVINO backend needs the `openvino` package: pip install openvino==2026.4.1 '
                          '(pinned in requirements/deploy.txt)') from e
    return openvino


def onnx_to_openvino(onnx_file: str, work_dir: str) -> List[str]:
    """Convert ``onnx_file`` to OpenVINO IR in ``work_dir`` (fp32 weights); returns [xml, bin]."""
    ov = _openvino()
    if not os.path.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    os.makedirs(work_dir, exist_ok=True)
    xml = str(Path(work_dir) / (Path(onnx_file).stem + '.xml'))
    from ..export_metadata import read_onnx_metadata, set_openvino_metadata
    model = ov.convert_model(onnx_file)
    set_openvino_metadata(model, read_onnx_metadata(onnx_file))  # convert_model drops ONNX metadata_props
    # save_model compresses weights to fp16 by default; keep fp32 so that results match eager.
    ov.save_model(model, xml, compress_to_fp16=False)
    return [xml, xml[:-4] + '.bin']


class OpenVINOWrapper(BaseWrapper):
    """Runs an OpenVINO IR on the CPU in fp32 (``INFERENCE_PRECISION_HINT=f32``: no bf16 on AMX/AVX512 CPUs).

    Args:
        backend_files: [model.xml, model.bin] (or [model.xml]).
        output_names: names of the model outputs, in order.
    """

    def __init__(self, backend_files: Sequence[str], output_names: Sequence[str]) -> None:
        ov = _openvino()
        xml = str(backend_files[0])
        if not xml.endswith('.xml') or not os.path.isfile(xml):
            raise FileNotFoundError(f'OpenVINO backend: expected an existing .xml model file, got {xml!r}')
        super().__init__(list(output_names))
        from ..export_metadata import get_openvino_metadata
        core = ov.Core()
        model = core.read_model(xml)
        self.metadata = get_openvino_metadata(model)
        self.compiled = core.compile_model(model, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
        names = {n for out in self.compiled.outputs for n in out.get_names()}
        missing = [n for n in output_names if n not in names]
        if missing:
            raise ValueError(f'OpenVINO model {xml} has no output(s) {missing}; it has {sorted(names)}')

    def input_dims(self) -> List[Optional[int]]:
        """Dimensions of the first input, None where dynamic."""
        return [d.get_length() if d.is_static else None for d in self.compiled.inputs[0].get_partial_shape()]

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Run the model: ``{input_name: (B, 3, H, W)}`` -> ``{output_name: tensor}``."""
        feed = {k: v.detach().cpu().float().numpy() for k, v in inputs.items()}
        result = self.compiled(feed)
        return {n: torch.from_numpy(np.asarray(result[self.compiled.output(n)])) for n in self.output_names}


__all__ = ['OpenVINOWrapper', 'onnx_to_openvino']
