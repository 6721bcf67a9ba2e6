# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Python inference API: build a model from a config and/or checkpoint and run it on images."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.structures import PoseDataSample
from torch import nn

ImageInput = Union[str, os.PathLike, np.ndarray]

# Ultralytics' predict defaults: conf 0.25, IoU 0.7, 300 detections.
PREDICT_TEST_CFG = {'score_thr': 0.25, 'nms_thr': 0.7, 'max_per_img': 300}


def _checkpoint_config(checkpoint: str) -> Config:
    """The config stored in a checkpoint's ``meta['cfg']`` (converted and mmengine-trained checkpoints have it)."""
    from mmengine.runner import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    text = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) else None
    if not text:
        raise ValueError(f'{checkpoint} carries no config (meta.cfg); pass the config file as well: '
                         'init_model(CONFIG, CHECKPOINT)')
    return Config.fromstring(text, file_format='.py')


def init_model(config_or_checkpoint: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a pose estimator ready for :func:`inference`.

    Args:
        config_or_checkpoint: a config file or ``Config``; or a checkpoint alone: a yolopose_mm ``.pth`` that
            carries its config in ``meta``, or an Ultralytics ``.pt`` (converted on the fly, safely).
        checkpoint: weights to load when the first argument is a config.
        device: torch device string.
        cfg_options: config overrides (``--cfg-options`` style dict).

    Returns:
        The model in eval mode with ``dataset_meta`` and ``cfg`` attributes.
    """
    import yolopose_mm  # noqa: F401  (registers our modules)
    from mmpose.apis import init_model as mmpose_init_model

    src = config_or_checkpoint
    if isinstance(src, (str, os.PathLike)) and str(src).endswith(('.pt', '.pth')) and checkpoint is None:
        if not os.path.isfile(src):
            raise FileNotFoundError(f'checkpoint not found: {src}')
        if str(src).endswith('.pt'):
            from ..converters import save_converted
            tmp = os.path.join(tempfile.mkdtemp(prefix='yolopose_'), Path(str(src)).stem + '.pth')
            save_converted(str(src), tmp)
            src = tmp
        checkpoint, config = str(src), _checkpoint_config(str(src))
    elif isinstance(src, Config):
        config = src
    else:
        if not os.path.isfile(src):
            raise FileNotFoundError(f'config not found: {src}')
        config = Config.fromfile(str(src))
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    model = mmpose_init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    model.eval()
    return model


def _input_size(model: nn.Module) -> int:
    for step in model.cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', []):
        if step.get('type') == 'LetterBox':
            size = step.get('input_size', 640)
            return int(max(size) if isinstance(size, (list, tuple)) else size)
    return 640


def build_inference_pipeline(model: nn.Module, auto: bool = True, input_size: Optional[int] = None) -> Compose:
    """LoadImage -> LetterBox (YOLO predict letterbox) -> PackPoseInputs."""
    size = input_size or _input_size(model)
    return Compose([
        dict(type='LoadImage'),
        dict(type='LetterBox', input_size=size, auto=auto, pad_val=114),
        dict(type='PackPoseInputs', meta_keys=('img_path', 'ori_shape', 'img_shape', 'input_size',
                                                'input_center', 'input_scale')),
    ])


@contextmanager
def _test_cfg(model: nn.Module, overrides: dict) -> Iterator[None]:
    old = dict(model.test_cfg or {})
    model.test_cfg = {**old, **overrides}
    try:
        yield
    finally:
        model.test_cfg = old


def _load(item: ImageInput) -> dict:
    if isinstance(item, np.ndarray):
        if item.ndim != 3 or item.shape[2] != 3:
            raise ValueError(f'an image array must be H x W x 3 (BGR), got shape {item.shape}')
        return dict(img=item, img_path=None)
    path = str(item)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    return dict(img_path=path)


def inference(model: nn.Module, inputs: Union[ImageInput, Sequence[ImageInput]], batch_size: int = 8,
              input_size: Optional[int] = None, **test_cfg: Any) -> Union[PoseDataSample, List[PoseDataSample]]:
    """Run the model on one image or a list of images (paths or BGR arrays).

    Args:
        model: from :func:`init_model`.
        inputs: a path, a BGR array, or a list of them.
        batch_size: images per forward pass for lists.
        input_size: letterbox size (default: the config's, 640).
        **test_cfg: overrides of ``score_thr`` (default 0.25 here), ``nms_thr`` (0.7), ``max_per_img`` (300).

    Returns:
        A ``PoseDataSample`` (or a list for a list input) with ``pred_instances`` in image coordinates.
    """
    init_default_scope(model.cfg.get('default_scope', 'mmpose'))
    single = not isinstance(inputs, (list, tuple))
    items = [inputs] if single else list(inputs)
    results: List[PoseDataSample] = []
    with _test_cfg(model, {**PREDICT_TEST_CFG, **test_cfg}), torch.no_grad():
        for start in range(0, len(items), batch_size):
            chunk = [_load(x) for x in items[start:start + batch_size]]
            # One image: minimal stride rectangle (as YOLO predict). Several: a square, so they stack.
            pipeline = build_inference_pipeline(model, auto=len(chunk) == 1, input_size=input_size)
            data = [pipeline(d) for d in chunk]
            results.extend(model.test_step(pseudo_collate(data)))
    return results[0] if single else results
