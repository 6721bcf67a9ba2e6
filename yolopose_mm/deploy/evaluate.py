# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Evaluate an exported model on a config's test set: the path of mmdeploy's own ``tools/test.py``.

mmdeploy's task processor builds the dataset, the dataloader, our ``'yolopose_end2end'`` backend model and its
``DeployTestRunner``; the config's evaluator scores the predictions, as for the eager model. Before anything runs:

* the runtime package of the backend must be importable (one line naming the install command otherwise);
* the config's test letterbox must give the shapes the exported model takes (a static 640 x 640 export cannot take
  the rectangular ``rect=True`` / ``auto=True`` letterboxes; the error names the ``--cfg-options`` that switches
  to the square letterbox, or the dynamic deploy config);
* the model's outputs must have the config's keypoint and class counts (one forward on a blank input).

Evaluation runs the backend with the config's ``model.test_cfg`` (score 0.001, IoU 0.7, 300 for ours), like
eager. A layout with NMS in the graph keeps the thresholds it was exported with: :func:`export_for_evaluation`
exports with the ``test_cfg`` ones, and evaluating a file exported otherwise logs what it keeps.
"""
from __future__ import annotations

import copy
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .model_files import InputShape, backend_files, deploy_cfg_input_shape, describe_shape, require_backend

DYNAMIC_CHECK_HW = (320, 320)  # input of the output check for models that take any size (TensorRT's minimum)


def eval_nms_settings(model_cfg: Config) -> Dict[str, float]:
    """The model config's evaluation NMS (``model.test_cfg``) as ``post_processing`` keys."""
    test_cfg = dict(model_cfg.model.get('test_cfg') or {})
    return dict(score_threshold=float(test_cfg.get('score_thr', 0.001)),
                iou_threshold=float(test_cfg.get('nms_thr', 0.7)),
                max_per_img=int(test_cfg.get('max_per_img', 300)))


def _letterbox(model_cfg: Config) -> Tuple[Optional[int], Optional[dict]]:
    pipeline = model_cfg.test_dataloader.get('dataset', {}).get('pipeline') or []
    for i, step in enumerate(pipeline):
        if step.get('type') == 'LetterBox':
            return i, step
    return None, None


def square_test_protocol(model_cfg: Config, size: Optional[int] = None) -> Config:
    """Switch the config's test dataloader to the square protocol (in place; returns it): every image letterboxed
    to a ``size`` x ``size`` square (default: the letterbox's long side), no rectangular batches.

    That is what a fixed-size export takes (``tools/test.py --square``); eager evaluated this way scores what the
    export should.
    """
    loader = model_cfg.test_dataloader
    index, step = _letterbox(model_cfg)
    if step is None:
        raise ValueError('the test pipeline has no LetterBox; the square protocol needs one')
    if size is None:
        current = step.get('input_size', 640)
        size = int(max(current) if isinstance(current, (list, tuple)) else current)
    step.update(input_size=(int(size), int(size)), auto=False, rect=False)  # no 'rect_letterbox' mark: no re-pad
    loader.pop('batch_sampler', None)  # YOLORectBatchSampler's aspect-ratio order is for rectangular batches
    return model_cfg


def check_test_shapes(model_cfg: Config, input_shape: InputShape, config_name: str = 'the config') -> None:
    """Refuse a test dataloader whose inputs the exported model cannot take, naming the fix.

    Args:
        model_cfg: the model config (its ``test_dataloader`` pipeline's letterbox).
        input_shape: (B, C, H, W) the model takes, None for a dynamic dimension.
        config_name: how the config is named in the error.

    Raises:
        ValueError: a fixed-size export and a rectangular (or differently sized) letterbox.
    """
    hw = input_shape[2:]
    if hw[0] is None or hw[1] is None:
        return
    index, step = _letterbox(model_cfg)
    if step is None:  # another resize: the backend model checks each batch
        return
    size = step.get('input_size', 640)
    w, h = (size, size) if isinstance(size, int) else tuple(size)
    rect, auto = bool(step.get('rect', False)), bool(step.get('auto', False))
    if rect:
        why = ("letterboxes each image to its own rectangle (LetterBox rect=True, Ultralytics' rectangular val "
               'protocol)')
    elif auto:
        why = 'letterboxes each image to its own rectangle (LetterBox auto=True)'
    elif (int(h), int(w)) != tuple(hw):
        why = f'letterboxes to {int(h)}x{int(w)} (H x W)'
    else:
        return
    raise ValueError(
        f'the exported model takes only {describe_shape(input_shape)} inputs, but the test dataloader of '
        f'{config_name} {why}. Either export with a dynamic deploy config (e.g. configs/deploy/'
        f'pose-detection_yolopose_onnxruntime_dynamic.py), or evaluate with the square {hw[1]}x{hw[0]} letterbox: '
        f'tools/test.py --square' + ('' if hw[0] == hw[1] == max(w, h) else f' {hw[0]}'))


def check_model_outputs(model: torch.nn.Module) -> None:
    """One forward on a blank input: the outputs must fit the config's keypoint / class counts."""
    b, c, h, w = model.input_shape
    h, w = (h or DYNAMIC_CHECK_HW[0]), (w or DYNAMIC_CHECK_HW[1])
    x = torch.zeros((b or 1, c or 3, h, w), dtype=getattr(model.wrapper, 'input_dtype', torch.float32),
                    device=model.device)
    outputs = model.wrapper({model.input_name: x})
    model.check_outputs([o.detach().float().cpu() for o in model.wrapper.output_to_list(outputs)])


def build_evaluation_model(deploy_cfg: Config, model_cfg: Config, files: Sequence[str], device: str = 'cpu',
                           config_name: str = 'the config'):
    """mmdeploy's task processor and our backend model for ``files``, checked against the config.

    Returns:
        (task_processor, backend_model); the model runs with the config's ``model.test_cfg``.
    """
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import get_backend
    require_backend(get_backend(deploy_cfg))
    task = build_task_processor(model_cfg, deploy_cfg, device)
    model = task.build_backend_model(list(files), data_preprocessor_updater=task.update_data_preprocessor)
    nms = eval_nms_settings(model_cfg)
    model.test_cfg = dict(score_thr=nms['score_threshold'], nms_thr=nms['iou_threshold'],
                          max_per_img=nms['max_per_img'])
    check_test_shapes(model_cfg, model.input_shape, config_name)
    check_model_outputs(model)
    return task, model


def _dataset_meta(model_cfg: Config) -> dict:
    """The metainfo of the config's test (else val, train) dataset, built without loading annotations."""
    from mmengine.registry import init_default_scope
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS
    init_default_scope(model_cfg.get('default_scope', 'mmpose'))
    errors = []
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = copy.deepcopy((model_cfg.get(key) or {}).get('dataset'))
        if not dataset:
            continue
        dataset.update(lazy_init=True, pipeline=[])
        try:
            return DATASETS.build(dataset).metainfo
        except (ValueError, FileNotFoundError, KeyError, TypeError) as e:
            errors.append(f'{key}: {e}')
    print_log(f'no dataset metainfo in the config ({"; ".join(errors) or "no dataloaders"}): drawing with COCO '
              "keypoint names and skeleton", logger='current', level=30)
    return parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))


def backend_device(deploy_cfg: Config, device: Optional[str]) -> str:
    """``device`` when given, else where the deploy config's backend runs: 'cuda:0' for TensorRT, 'cpu' otherwise
    (the CPU runtimes, also on a machine with a GPU)."""
    if device:
        return str(device)
    from mmdeploy.utils import Backend, get_backend
    return 'cuda:0' if get_backend(deploy_cfg) == Backend.TENSORRT else 'cpu'


def init_exported_model(deploy_cfg_file, model_cfg_file, model: str, device: Optional[str] = 'cpu'
                        ) -> torch.nn.Module:
    """An exported model ready for :func:`yolopose_mm.apis.inference` (what ``tools/demo.py --deploy-cfg`` uses).

    Args:
        deploy_cfg_file: the deploy config (file or ``Config``) the model was exported with.
        model_cfg_file: the model config (file or ``Config``).
        model: the backend's model file or its folder (see :func:`~.model_files.backend_files`).
        device: device of the backend (None: :func:`backend_device`).

    Returns:
        Our backend model with ``cfg``, ``dataset_meta`` and ``fixed_input_hw`` (None when it takes any size);
        ``inference`` sets its NMS (``test_cfg``) per call, as for the eager model.
    """
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import get_backend
    from .pipeline import load_configs
    deploy_cfg, model_cfg = load_configs(deploy_cfg_file, model_cfg_file)
    require_backend(get_backend(deploy_cfg))
    files = backend_files(deploy_cfg, model)
    task = build_task_processor(model_cfg, deploy_cfg, backend_device(deploy_cfg, device))
    backend_model = task.build_backend_model(files, data_preprocessor_updater=task.update_data_preprocessor)
    check_model_outputs(backend_model)
    backend_model.cfg = model_cfg
    backend_model.dataset_meta = _dataset_meta(model_cfg)
    return backend_model


def export_for_evaluation(deploy_cfg: Config, model_cfg: Config, checkpoint: str, work_dir: str,
                          device: str = 'cpu') -> Tuple[Config, List[str]]:
    """Export ``checkpoint`` with the deploy config, its NMS set to the config's evaluation ``test_cfg``.

    Returns:
        (the deploy config used, the backend files).
    """
    from mmdeploy.utils import get_backend
    from .pipeline import convert_backend, export_ir, static_input_hw
    require_backend(get_backend(deploy_cfg))
    deploy_cfg = copy.deepcopy(deploy_cfg)
    deploy_cfg.codebase_config.post_processing = eval_nms_settings(model_cfg)
    hw = static_input_hw(deploy_cfg) or (480, 640)
    ir = export_ir(deploy_cfg, model_cfg, checkpoint, np.full((*hw, 3), 114, np.uint8), work_dir, device)
    return deploy_cfg, convert_backend(deploy_cfg, ir, work_dir, device, model_cfg=model_cfg)


def test_exported(model_cfg: Config, deploy_cfg_file: str, model: str, work_dir: str, device: str = 'cpu',
                  hooks: Sequence = (), config_name: str = 'the config') -> Optional[dict]:
    """Evaluate an exported model (or export a checkpoint first) on ``model_cfg``'s test set.

    Args:
        model_cfg: the model config, command-line overrides applied (its test dataloader and evaluator are used).
        deploy_cfg_file: the deploy config the model was (or is to be) exported with.
        model: the backend's model file (``.onnx``, ``.xml``, ``.param``, ``.engine``) or its folder; or a
            checkpoint (``.pth``; an Ultralytics ``.pt`` is converted) to export into ``work_dir/export`` first.
        work_dir: logs, metrics and exports.
        device: device of the backend.
        hooks: extra mmengine hooks for the runner (e.g. drawing predictions).
        config_name: how the config is named in errors.

    Returns:
        The metrics dict of ``runner.test()``.
    """
    from mmdeploy.utils import get_backend
    from .pipeline import load_configs
    deploy_cfg, model_cfg = load_configs(deploy_cfg_file, model_cfg)
    require_backend(get_backend(deploy_cfg))
    if model.endswith(('.pth', '.pt')):
        check_test_shapes(model_cfg, deploy_cfg_input_shape(deploy_cfg), config_name)  # before the export's cost
        checkpoint = model
        if model.endswith('.pt'):
            from ..converters import save_converted
            checkpoint = os.path.join(work_dir, 'export', os.path.basename(model)[:-3] + '.pth')
            os.makedirs(os.path.dirname(checkpoint), exist_ok=True)
            save_converted(model, checkpoint)
        deploy_cfg, files = export_for_evaluation(deploy_cfg, model_cfg, checkpoint,
                                                  os.path.join(work_dir, 'export'), device)
        print_log(f'exported {checkpoint} -> {files} (NMS: {dict(deploy_cfg.codebase_config.post_processing)})',
                  logger='current')
    else:
        files = backend_files(deploy_cfg, model)
    task, backend_model = build_evaluation_model(deploy_cfg, model_cfg, files, device, config_name)
    from mmengine.registry import init_default_scope
    init_default_scope(model_cfg.get('default_scope', 'mmpose'))  # the dataloader's sampler / collate registries
    runner = task.build_test_runner(backend_model, work_dir, dataloader=copy.deepcopy(model_cfg.test_dataloader))
    for hook in hooks:
        runner.register_hook(hook, 'LOW')
    return runner.test()


__all__ = ['eval_nms_settings', 'backend_device', 'square_test_protocol', 'check_test_shapes', 'check_model_outputs',
           'build_evaluation_model', 'init_exported_model', 'export_for_evaluation', 'test_exported']
