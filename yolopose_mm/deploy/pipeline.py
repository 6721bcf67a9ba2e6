# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Export -> convert -> run, for one deploy config: the steps ``tools/deploy.py`` and the tests share."""
from __future__ import annotations

import copy
import os
import types
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch import nn

from ..apis.inference import build_inference_pipeline
from .layouts import get_nms_params
from .task_processor import export_model_cfg, static_input_hw

ImageInput = Union[str, np.ndarray]


def load_configs(deploy_cfg: Union[str, Config], model_cfg: Union[str, Config]) -> Tuple[Config, Config]:
    """Load both configs (file or ``Config``); the deploy config's ``custom_imports`` register our rewriters."""
    from mmdeploy.utils import load_config
    for name, cfg in (('deploy config', deploy_cfg), ('model config', model_cfg)):
        if isinstance(cfg, (str, os.PathLike)) and not os.path.isfile(cfg):
            raise FileNotFoundError(f'{name} not found: {cfg}')
    import yolopose_mm.deploy  # noqa: F401  (registers rewriters even for Config objects built in code)
    deploy_cfg, model_cfg = load_config(deploy_cfg, model_cfg)
    return copy.deepcopy(deploy_cfg), copy.deepcopy(model_cfg)


def export_ir(deploy_cfg: Config, model_cfg: Config, checkpoint: str, img: ImageInput, work_dir: str,
              device: str = 'cpu') -> str:
    """Export the model with mmdeploy (our rewriters and torch 2.14 fixes active) to ONNX, or to TorchScript when
    the deploy config has ``ir_config.type='torchscript'``; returns the exported file."""
    from mmdeploy.apis import torch2onnx, torch2torchscript
    from mmdeploy.utils import Backend, get_backend, get_ir_config
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    os.makedirs(work_dir, exist_ok=True)
    ir_cfg = get_ir_config(deploy_cfg)
    torchscript = ir_cfg.get('type') == 'torchscript'
    save_file = ir_cfg.get('save_file', 'end2end.pt' if torchscript else 'end2end.onnx')
    export = torch2torchscript if torchscript else torch2onnx
    export_cfg = deploy_cfg
    if torchscript and get_backend(deploy_cfg) == Backend.NCNN:
        # mmdeploy's ncnn rewrites (e.g. chunk -> index_select) target its onnx2ncnn; pnnx converts plain
        # TorchScript, so trace with the TorchScript backend's rewrites (ours are backend-independent).
        export_cfg = copy.deepcopy(deploy_cfg)
        export_cfg.backend_config = dict(type=Backend.TORCHSCRIPT.value)
    export(img, work_dir, save_file, export_cfg, export_model_cfg(model_cfg, static_input_hw(deploy_cfg)),
           checkpoint, device)
    path = os.path.join(work_dir, save_file)
    if not torchscript:  # the layout, NMS and keypoint counts travel with the file
        from .export_metadata import export_metadata, write_onnx_metadata
        write_onnx_metadata(path, export_metadata(deploy_cfg, model_cfg))
    return path


def convert_backend(deploy_cfg: Config, ir_file: str, work_dir: str, device: str = 'cpu',
                    model_cfg: Optional[Config] = None) -> List[str]:
    """Convert the export (ONNX, or TorchScript for ncnn) to the deploy config's backend; returns its files.

    A deploy config with ``quantization_config`` is quantized to INT8 afterwards (:mod:`.quantize`), calibrated on
    images of ``model_cfg``'s dataset, which it then needs.
    """
    from .quantize import get_quantization_config, quantize_backend
    files = _convert(deploy_cfg, ir_file, work_dir, device)
    if get_quantization_config(deploy_cfg):
        files = quantize_backend(deploy_cfg, model_cfg, files, work_dir)
    return files


def _convert(deploy_cfg: Config, ir_file: str, work_dir: str, device: str) -> List[str]:
    from mmdeploy.utils import Backend, get_backend
    backend = get_backend(deploy_cfg)
    if backend == Backend.ONNXRUNTIME:
        return [ir_file]
    if backend in (Backend.OPENVINO, Backend.NCNN):
        from .backends import convert_ir
        hw = static_input_hw(deploy_cfg)
        if backend == Backend.NCNN and hw is None:
            raise ValueError('ncnn needs a static input shape: set onnx_config.input_shape=[W, H]')
        return convert_ir(backend, ir_file, work_dir, (1, 3) + (hw or (640, 640)))
    if backend == Backend.TENSORRT:
        if not torch.cuda.is_available() or not str(device).startswith('cuda'):
            raise RuntimeError('TensorRT needs an NVIDIA GPU: run with --device cuda:0 on a machine with one')
        from .tensorrt_support import mmdeploy_trt_plugin_error
        error = mmdeploy_trt_plugin_error()  # mmdeploy's converter loads its TensorRT-8 plugins unconditionally
        if error:
            raise RuntimeError(f'{error}; the export {ir_file} is ready for trtexec')
        from mmdeploy.apis.tensorrt import onnx2tensorrt
        onnx2tensorrt(work_dir, 'end2end.engine', 0, deploy_cfg, ir_file, device=device)
        return [os.path.join(work_dir, 'end2end.engine')]
    raise ValueError(f'backend {backend.value!r} is not supported by yolopose_mm.deploy '
                     '(onnxruntime, openvino, ncnn, tensorrt)')


def build_backend_model(deploy_cfg: Config, model_cfg: Config, backend_files: Sequence[str],
                        device: str = 'cpu') -> nn.Module:
    """mmdeploy's task processor builds our ``'yolopose_end2end'`` backend model for ``backend_files``."""
    from mmdeploy.apis import build_task_processor
    task = build_task_processor(model_cfg, deploy_cfg, device)
    model = task.build_backend_model(list(backend_files))
    model.cfg = model_cfg
    return model


def _load(item: ImageInput) -> dict:
    if isinstance(item, np.ndarray):
        return dict(img=item, img_path=None)
    if not os.path.isfile(str(item)):
        raise FileNotFoundError(f'image not found: {item}')
    return dict(img_path=str(item))


def _run(model: nn.Module, cfg: Config, imgs: Sequence[ImageInput], input_size: int, auto: bool) -> List:
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    pipeline = build_inference_pipeline(types.SimpleNamespace(cfg=cfg), auto=auto, input_size=input_size)
    with torch.no_grad():
        return model.test_step(pseudo_collate([pipeline(_load(x)) for x in imgs]))


def run_backend(backend_model: nn.Module, model_cfg: Config, imgs: Sequence[ImageInput], input_size: int = 640,
                auto: bool = False) -> List:
    """Run the backend model on a batch of images (letterboxed like eager inference) -> ``PoseDataSample``s."""
    return _run(backend_model, model_cfg, imgs, input_size, auto)


def run_eager(model: nn.Module, deploy_cfg: Config, imgs: Sequence[ImageInput], input_size: int = 640,
              auto: bool = False) -> List:
    """Run the eager model with the deploy config's NMS settings on the same letterboxed batch."""
    nms = get_nms_params(deploy_cfg)
    old = dict(model.test_cfg or {})
    model.test_cfg = {**old, 'score_thr': nms.score_thr, 'nms_thr': nms.iou_thr, 'max_per_img': nms.max_per_img}
    if hasattr(model.head, 'branches'):  # YOLO26: predict with the branch set the export uses
        from .yolo26_rewriter import export_branch
        model.test_cfg['end2end'] = export_branch(model.head, deploy_cfg) == 'one2one'

    try:
        return _run(model, model.cfg, imgs, input_size, auto)
    finally:
        model.test_cfg = old


__all__ = ['load_configs', 'static_input_hw', 'export_ir', 'convert_backend', 'build_backend_model',
           'run_backend', 'run_eager']
