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


PRECISIONS = ('f32', 'bf16', 'f16', None)


class OpenVINOWrapper(BaseWrapper):
    """Runs an OpenVINO IR on the CPU in fp32 (``INFERENCE_PRECISION_HINT=f32``: no bf16 on AMX/AVX512 CPUs) unless
    told otherwise, in latency mode (``PERFORMANCE_HINT=LATENCY``: one stream, all cores on one request).

    Args:
        backend_files: [model.xml, model.bin] (or [model.xml]).
        output_names: names of the model outputs, in order.
        preprocess: fold the data preprocessor into the graph
            (:func:`~yolopose_mm.deploy.folded_input.foldable_normalization`: ``mean``, ``std``, ``bgr_to_rgb``):
            the model then takes uint8 (B, 3, H, W) BGR images (:attr:`input_dtype`); static-shape models only,
            a dynamic one keeps float32 inputs. None: float32 inputs, normalised by the caller.
        inference_precision: the CPU plugin's ``INFERENCE_PRECISION_HINT`` for the operations that are not
            quantized: 'f32' (default), 'bf16', 'f16', or None for the plugin's own choice (bf16 on CPUs with
            AVX512-BF16 or AMX, else f32; what Ultralytics' runtime uses).
    """

    def __init__(self, backend_files: Sequence[str], output_names: Sequence[str],
                 preprocess: Optional[Dict] = None, inference_precision: Optional[str] = 'f32') -> None:
        ov = _openvino()
        if inference_precision not in PRECISIONS:
            raise ValueError(f'backend_config.inference_precision must be one of {list(PRECISIONS)}, got '
                             f'{inference_precision!r}')
        xml = str(backend_files[0])
        if not xml.endswith('.xml') or not os.path.isfile(xml):
            raise FileNotFoundError(f'OpenVINO backend: expected an existing .xml model file, got {xml!r}')
        super().__init__(list(output_names))
        from ..export_metadata import get_openvino_metadata
        core = ov.Core()
        model = core.read_model(xml)
        self.metadata = get_openvino_metadata(model)
        # Folded only into static-shape models: with a dynamic H x W, OpenVINO 2026.4's CPU plugin gave other numbers
        # for the folded graph than for the plain one on the same pixels (top scores 0.875 vs 0.890 at 448 x 672,
        # keypoint AP 0.10 lower on coco8-pose); with a static shape the two agree to 1e-4 px.
        static = model.inputs[0].get_partial_shape().is_static
        self.preprocess = dict(preprocess) if preprocess and static else None
        if self.preprocess:
            model = _fold_preprocessing(ov, model, self.preprocess)
        config = {'PERFORMANCE_HINT': 'LATENCY'}
        if inference_precision is not None:
            config['INFERENCE_PRECISION_HINT'] = inference_precision
        self.compiled = core.compile_model(model, 'CPU', config)
        names = {n for out in self.compiled.outputs for n in out.get_names()}
        missing = [n for n in output_names if n not in names]
        if missing:
            raise ValueError(f'OpenVINO model {xml} has no output(s) {missing}; it has {sorted(names)}')

    @property
    def input_dtype(self) -> torch.dtype:
        """What the model takes: uint8 BGR images with the preprocessing folded in, else float32."""
        return torch.uint8 if self.preprocess else torch.float32

    def input_dims(self) -> List[Optional[int]]:
        """Dimensions of the first input, None where dynamic."""
        return [d.get_length() if d.is_static else None for d in self.compiled.inputs[0].get_partial_shape()]

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Run the model: ``{input_name: (B, 3, H, W)}`` -> ``{output_name: tensor}``."""
        feed = {}
        for k, v in inputs.items():
            if self.preprocess and v.dtype != torch.uint8:
                raise ValueError(f'this OpenVINO model normalises its input in the graph and takes uint8 BGR images, '
                                 f'got {v.dtype}; feed the letterboxed uint8 image (or fold_preprocessing=False)')
            v = v.detach().cpu()
            feed[k] = v.numpy() if self.preprocess else v.float().numpy()
        result = self.compiled(feed)
        return {n: torch.from_numpy(np.asarray(result[self.compiled.output(n)])) for n in self.output_names}


def _fold_preprocessing(ov, model, preprocess: Dict):
    """``model`` taking uint8 NCHW BGR: convert to f32, reverse channels, subtract mean, divide by std in-graph."""
    from openvino.preprocess import PrePostProcessor
    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout('NCHW'))
    ppp.input().model().set_layout(ov.Layout('NCHW'))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if preprocess.get('bgr_to_rgb'):
        steps = steps.reverse_channels()
    mean, std = list(preprocess.get('mean', [0.0])), list(preprocess.get('std', [1.0]))
    if any(mean):
        steps = steps.mean(mean if len(mean) > 1 else mean[0])
    if any(s != 1 for s in std):
        steps.scale(std if len(std) > 1 else std[0])
    return ppp.build()


__all__ = ['OpenVINOWrapper', 'onnx_to_openvino']
