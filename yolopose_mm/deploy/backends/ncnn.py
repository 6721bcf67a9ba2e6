# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""ncnn: TorchScript / ONNX -> ncnn with PyPI ``pnnx``, and an mmdeploy-style runtime wrapper (PyPI ``ncnn``)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmdeploy.backend.base import BaseWrapper


def _pnnx_binary() -> str:
    try:
        import pnnx
    except ImportError as e:
        raise ImportError('ncnn conversion needs `pnnx`: pip install pnnx==20261020 (requirements/deploy.txt)') from e
    binary = Path(pnnx.__file__).parent / 'pnnx'
    if binary.is_file() and os.access(binary, os.X_OK):
        return str(binary)
    found = shutil.which('pnnx')
    if not found:
        raise FileNotFoundError(f'the pnnx executable is missing from the pnnx package ({binary})')
    return found


def to_ncnn(model_file: str, work_dir: str, input_shape: Sequence[int]) -> List[str]:
    """Convert a TorchScript (.pt) or ONNX file (fixed ``input_shape`` (1, 3, H, W)) to ncnn with pnnx.

    The weights are written in fp32 (``fp16=0``): pnnx's default stores them in fp16, which moved the raw head
    outputs of a random-weight YOLOv8-pose-p6-n at 1280 by up to 0.44 (1e-3 in fp32) and changed its detections.

    Returns:
        [model.ncnn.param, model.ncnn.bin] in ``work_dir``.
    """
    if not os.path.isfile(model_file):
        raise FileNotFoundError(f'model file not found: {model_file}')
    shape = [int(v) for v in input_shape]
    if len(shape) != 4 or shape[0] != 1:
        raise ValueError(f'ncnn export needs a static (1, 3, H, W) input shape, got {input_shape}')
    os.makedirs(work_dir, exist_ok=True)
    src = Path(work_dir) / Path(model_file).name
    if src.resolve() != Path(model_file).resolve():
        shutil.copyfile(model_file, src)
    cmd = [_pnnx_binary(), src.name, 'inputshape=[' + ','.join(map(str, shape)) + ']', 'fp16=0']
    proc = subprocess.run(cmd, cwd=work_dir, capture_output=True, text=True)
    param, binf = src.with_suffix('.ncnn.param'), src.with_suffix('.ncnn.bin')
    if proc.returncode != 0 or not param.is_file() or not binf.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f'pnnx failed to convert {model_file} (exit {proc.returncode}): ' + ' | '.join(tail))
    return [str(param), str(binf)]


class NcnnWrapper(BaseWrapper):
    """Runs a pnnx-converted ncnn model on the CPU in fp32, one image at a time.

    fp16 / bf16 storage and arithmetic are switched off (ncnn enables fp16 storage by default where the CPU has
    it), so results match the fp32 eager model.

    Args:
        backend_files: [model.ncnn.param, model.ncnn.bin].
        output_names: names of the model outputs in order (pnnx names them out0, out1, ...).
    """

    def __init__(self, backend_files: Sequence[str], output_names: Sequence[str]) -> None:
        try:
            import ncnn
        except ImportError as e:
            raise ImportError('the ncnn backend needs `ncnn`: pip install ncnn==1.0.20261020') from e
        if len(backend_files) != 2:
            raise ValueError(f'ncnn backend: expected [.param, .bin], got {list(backend_files)}')
        for f in backend_files:
            if not os.path.isfile(f):
                raise FileNotFoundError(f'ncnn backend: file not found: {f}')
        super().__init__(list(output_names))
        self.net = ncnn.Net()
        for flag in ('use_fp16_storage', 'use_fp16_packed', 'use_fp16_arithmetic', 'use_bf16_storage',
                     'use_bf16_packed', 'use_vulkan_compute'):
            if hasattr(self.net.opt, flag):
                setattr(self.net.opt, flag, False)
        if self.net.load_param(str(backend_files[0])) != 0 or self.net.load_model(str(backend_files[1])) != 0:
            raise RuntimeError(f'ncnn could not load {list(backend_files)}')
        self._ncnn = ncnn

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``{input_name: (B, 3, H, W)}`` -> ``{output_name: (B, ...)}`` (ncnn drops the batch dim; we restore it)."""
        (x,) = inputs.values()
        per_output: List[List[np.ndarray]] = [[] for _ in self.output_names]
        for img in x.detach().cpu().float().numpy():
            # ncnn.Mat wraps the buffer without copying: keep the contiguous copy alive while ncnn runs (a
            # temporary one, e.g. of a channels-last input, gave NaNs or a segmentation fault)
            buf = np.ascontiguousarray(img)
            ex = self.net.create_extractor()
            ex.input('in0', self._ncnn.Mat(buf))
            for i in range(len(self.output_names)):
                ret, mat = ex.extract(f'out{i}')
                if ret != 0:
                    raise RuntimeError(f'ncnn: extracting out{i} ({self.output_names[i]}) failed ({ret})')
                per_output[i].append(np.array(mat))
        return {n: torch.from_numpy(np.stack(v)) for n, v in zip(self.output_names, per_output)}


__all__ = ['NcnnWrapper', 'to_ncnn']
