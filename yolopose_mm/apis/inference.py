# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Python inference API: build a model from a config and/or checkpoint and run it on images."""
from __future__ import annotations

import os
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.structures import PoseDataSample
from torch import nn

from .checkpoints import config_from_checkpoint
from .optimize import optimize_for_inference

ImageInput = Union[str, os.PathLike, np.ndarray]

# Ultralytics' predict defaults: conf 0.25, IoU 0.7, 300 detections.
PREDICT_TEST_CFG = {'score_thr': 0.25, 'nms_thr': 0.7, 'max_per_img': 300}


def _as_pth(checkpoint: str) -> str:
    """An Ultralytics ``.pt`` converted (safely) to a temporary ``.pth``; other paths unchanged."""
    if not checkpoint.endswith('.pt'):
        return checkpoint
    from ..converters import save_converted
    tmp = os.path.join(tempfile.mkdtemp(prefix='yolopose_'), Path(checkpoint).stem + '.pth')
    save_converted(checkpoint, tmp)
    return tmp


def init_model(config_or_checkpoint: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
               device: Optional[str] = None, cfg_options: Optional[dict] = None, optimize: bool = False) -> nn.Module:
    """Build a pose estimator ready for :func:`inference`.

    Args:
        config_or_checkpoint: a config file or ``Config``; or a checkpoint alone: a yolopose_mm ``.pth`` that
            carries its config in ``meta``, or an Ultralytics ``.pt`` (converted on the fly, safely).
        checkpoint: weights to load when the first argument is a config.
        device: torch device string; default 'cuda:0' where a GPU exists, else 'cpu'.
        cfg_options: config overrides (``--cfg-options`` style dict).
        optimize: fold BatchNorm into the convolutions, prepack them as oneDNN convolutions with fused SiLU for
            float32 CPU inference and use channels-last weights
            (:func:`~yolopose_mm.apis.optimize.optimize_for_inference`): same predictions up to float rounding,
            faster, but the returned model is for inference only (its ``state_dict`` has no BatchNorm entries:
            do not train it or save it as a checkpoint). The demo uses it; off by default.

    Returns:
        The model in eval mode with ``dataset_meta`` and ``cfg`` attributes.

    Raises:
        FileNotFoundError: no such config or checkpoint.
        UnsafeCheckpointError: the checkpoint (or its ``meta.cfg``) asks for code; nothing from it was run.
        ValueError: an unreadable checkpoint (``UnreadableCheckpointError``), an unsupported Ultralytics model
            (``ConversionError``), or a checkpoint alone without a config in its meta.
    """
    import yolopose_mm  # noqa: F401  (registers our modules)
    from mmpose.apis import init_model as mmpose_init_model

    src = config_or_checkpoint
    if isinstance(src, (str, os.PathLike)) and str(src).endswith(('.pt', '.pth')) and checkpoint is None:
        if not os.path.isfile(src):
            raise FileNotFoundError(f'checkpoint not found: {src}')
        checkpoint = _as_pth(str(src))
        config = config_from_checkpoint(checkpoint)
    elif isinstance(src, Config):
        config = src
    else:
        if not os.path.isfile(src):
            raise FileNotFoundError(f'config not found: {src}')
        config = Config.fromfile(str(src))
    if checkpoint is not None:
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        checkpoint = _as_pth(str(checkpoint))
    from ..utils.device import default_device
    model = mmpose_init_model(config, checkpoint, device=default_device(device), cfg_options=cfg_options)
    model.eval()
    if optimize:
        optimize_for_inference(model)
    return model


def _input_size(model: nn.Module) -> int:
    for step in model.cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', []):
        if step.get('type') == 'LetterBox':
            size = step.get('input_size', 640)
            return int(max(size) if isinstance(size, (list, tuple)) else size)
    return 640


def _letterbox_stride(model: nn.Module) -> int:
    """The model's largest feature stride (32; 64 for P6 models): rectangles are padded to its multiples."""
    strides = model.cfg.get('model', {}).get('head', {}).get('featmap_strides')
    return int(max(strides)) if strides else 32


def build_inference_pipeline(model: nn.Module, auto: bool = True, input_size: Optional[int] = None) -> Compose:
    """LoadImage -> LetterBox (YOLO predict letterbox) -> PackPoseInputs.

    Args:
        model: from :func:`init_model` (its config gives the default letterbox size and the stride).
        auto: True: the smallest rectangle around the resized image whose sides are multiples of the largest
            feature stride (32, or 64 for P6 models; YOLO predict); False: a square.
        input_size: letterbox size (long side), default the config's (640).
    """
    size = input_size or _input_size(model)
    return Compose([
        dict(type='LoadImage'),
        dict(type='LetterBox', input_size=size, auto=auto, stride=_letterbox_stride(model), pad_val=114),
        dict(type='PackPoseInputs', meta_keys=('img_path', 'ori_shape', 'img_shape', 'input_size',
                                                'input_center', 'input_scale')),
    ])


# model -> {(auto, letterbox size, stride): Compose}: a pipeline is built once per model and setting, not on every
# call (building one looks up the registries, which the per-frame path of ``track`` paid on every frame)
_PIPELINES: 'weakref.WeakKeyDictionary[nn.Module, dict]' = weakref.WeakKeyDictionary()


def _cached_pipeline(model: nn.Module, auto: bool, input_size: Optional[int]) -> Compose:
    """:func:`build_inference_pipeline` for these settings, built once per model; the key is everything the
    pipeline is made from (a config that changes the size or the stride gets a new one)."""
    key = (auto, input_size or _input_size(model), _letterbox_stride(model))
    pipelines = _PIPELINES.setdefault(model, {})
    if key not in pipelines:
        pipelines[key] = build_inference_pipeline(model, auto=auto, input_size=key[1])
    return pipelines[key]


@contextmanager
def _test_cfg(model: nn.Module, overrides: dict) -> Iterator[None]:
    old = dict(model.test_cfg or {})
    model.test_cfg = {**old, **overrides}
    try:
        yield
    finally:
        model.test_cfg = old


def read_image(path: Union[str, os.PathLike]) -> np.ndarray:
    """Read an image file as a BGR uint8 array (H, W, 3).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable image (corrupt, empty or another format).
    """
    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cannot read image (corrupt, empty or not an image): {path}')
    return img


def _load(item: ImageInput, index: int) -> dict:
    if isinstance(item, np.ndarray):
        if item.ndim != 3 or item.shape[2] != 3 or item.dtype != np.uint8:
            raise ValueError(f'inputs[{index}]: an image array must be uint8 H x W x 3 (BGR), got shape '
                             f'{item.shape} dtype {item.dtype}')
        return dict(img=item, img_path=None)
    if not isinstance(item, (str, os.PathLike)):
        raise TypeError(f'inputs[{index}]: expected an image path or a BGR array, got {type(item).__name__}')
    return dict(img=read_image(item), img_path=str(item))


def _check_test_cfg(model: nn.Module, test_cfg: dict) -> None:
    known = set(PREDICT_TEST_CFG) | set(model.test_cfg or {})
    unknown = sorted(set(test_cfg) - known)
    if unknown:
        raise TypeError(f'inference: unknown test_cfg override(s) {unknown}; valid ones: {sorted(known)}')
    for key in ('score_thr', 'nms_thr'):
        if key in test_cfg and not 0.0 <= float(test_cfg[key]) <= 1.0:
            raise ValueError(f'inference: {key} must be within [0, 1], got {test_cfg[key]!r}')
    if 'max_per_img' in test_cfg and int(test_cfg['max_per_img']) < 1:
        raise ValueError(f'inference: max_per_img must be >= 1, got {test_cfg["max_per_img"]!r}')


def inference(model: nn.Module, inputs: Union[ImageInput, Sequence[ImageInput]], batch_size: int = 8,
              input_size: Optional[int] = None, rect: Optional[bool] = None,
              **test_cfg: Any) -> Union[PoseDataSample, List[PoseDataSample]]:
    """Run the model on one image or a list of images (paths or BGR arrays).

    Args:
        model: from :func:`init_model`.
        inputs: a path, a BGR uint8 array (H, W, 3), or a list of them.
        batch_size: images per forward pass for lists.
        input_size: letterbox size (default: the config's, 640).
        rect: letterbox to the smallest stride-32 rectangle (True) or to a square (False). Default: a
            rectangle for a batch of one (as YOLO predict), a square for larger batches. Batches of different
            image sizes work either way (the data preprocessor pads them at the bottom right).
        **test_cfg: overrides of ``score_thr`` (default 0.25 here), ``nms_thr`` (0.7), ``max_per_img`` (300).

    Returns:
        A ``PoseDataSample`` (or a list for a list input) with ``pred_instances`` in image coordinates:
        ``bboxes`` (M, 4) xyxy, ``bbox_scores`` (M,), ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K).

    Raises:
        FileNotFoundError / ValueError / TypeError: a missing or unreadable image, a bad array, a bad override.
    """
    if int(batch_size) < 1:
        raise ValueError(f'inference: batch_size must be >= 1, got {batch_size!r}')
    _check_test_cfg(model, test_cfg)
    init_default_scope(model.cfg.get('default_scope', 'mmpose'))
    single = not isinstance(inputs, (list, tuple))
    items = [inputs] if single else list(inputs)
    results: List[PoseDataSample] = []
    with _test_cfg(model, {**PREDICT_TEST_CFG, **test_cfg}), torch.inference_mode():
        for start in range(0, len(items), batch_size):
            chunk = [_load(x, start + i) for i, x in enumerate(items[start:start + batch_size])]
            auto = len(chunk) == 1 if rect is None else bool(rect)
            pipeline = _cached_pipeline(model, auto, input_size)
            data = [pipeline(d) for d in chunk]
            results.extend(model.test_step(pseudo_collate(data)))
    return results[0] if single else results
