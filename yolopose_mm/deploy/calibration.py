# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Calibration images for INT8 quantization: from a config's dataset (or listed files), prepared like the export.

``quantization_config.calibration`` of a deploy config:

* ``split`` (``'val'``): the images of the model config's ``<split>_dataloader`` dataset;
* ``images`` (None): files, folders or globs to use instead (e.g. several small datasets);
* ``num_images`` (300, Ultralytics' and NNCF's default): at most this many, spread evenly over the set.

Each image goes through the export's preprocessing: the square letterbox of the export's input size (pad 114) and
the model config's data preprocessor (BGR -> RGB, / 255 for ours), giving (1, 3, H, W) float32 arrays.
"""
from __future__ import annotations

import copy
import glob
import os
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

import numpy as np
from mmengine.config import Config

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
DEFAULT_CALIBRATION = dict(split='val', images=None, num_images=300)


def _expand(items: Sequence[str]) -> List[str]:
    out: List[str] = []
    for item in items:
        item = str(item)
        if os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).rglob('*') if p.suffix.lower() in IMAGE_EXTS)
        elif any(c in item for c in '*?['):
            found = sorted(p for p in glob.glob(item, recursive=True) if p.lower().endswith(IMAGE_EXTS))
        elif os.path.isfile(item):
            found = [item]
        else:
            raise FileNotFoundError(f'calibration image not found: {item}')
        if not found:
            raise FileNotFoundError(f'calibration: no images in {item}')
        out.extend(found)
    return list(dict.fromkeys(out))  # keep order, drop repeats


def _dataset_images(model_cfg: Config, split: str) -> List[str]:
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    key = f'{split}_dataloader'
    if not (model_cfg.get(key) or {}).get('dataset'):
        raise ValueError(f"calibration: the model config has no {key}.dataset; set quantization_config."
                         "calibration.split to 'train', 'val' or 'test', or list images in calibration.images")
    init_default_scope(model_cfg.get('default_scope', 'mmpose'))
    dataset_cfg = copy.deepcopy(model_cfg[key].dataset)
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    paths = [dataset.get_data_info(i).get('img_path') for i in range(len(dataset))]
    return list(dict.fromkeys(p for p in paths if p))


def calibration_images(model_cfg: Config, calibration: dict) -> List[str]:
    """The calibration image files for ``quantization_config.calibration`` (see the module docstring)."""
    cfg = {**DEFAULT_CALIBRATION, **dict(calibration or {})}
    unknown = sorted(set(cfg) - set(DEFAULT_CALIBRATION))
    if unknown:
        raise ValueError(f'quantization_config.calibration: unknown key(s) {unknown}; valid: '
                         f'{sorted(DEFAULT_CALIBRATION)}')
    num = int(cfg['num_images'])
    if num < 1:
        raise ValueError(f'quantization_config.calibration.num_images must be >= 1, got {num}')
    paths = _expand(cfg['images']) if cfg['images'] else _dataset_images(model_cfg, str(cfg['split']))
    if not paths:
        raise ValueError('calibration: no images found')
    if len(paths) > num:  # spread over the set rather than its first images
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, num).round().astype(int)]
    return paths


class CalibrationInputs:
    """The network inputs of the calibration images, re-iterable (NNCF and ONNX Runtime pass over it again).

    Images are letterboxed once and kept as uint8; each pass applies the data preprocessor.

    Args:
        model_cfg: the model config (its ``model.data_preprocessor``).
        paths: image files.
        input_hw: (H, W) of the export's input.
    """

    def __init__(self, model_cfg: Config, paths: Sequence[str], input_hw: Tuple[int, int]) -> None:
        from mmengine.dataset import Compose, pseudo_collate
        from mmengine.registry import init_default_scope
        from mmpose.registry import MODELS

        import yolopose_mm  # noqa: F401  (registers LetterBox)
        init_default_scope(model_cfg.get('default_scope', 'mmpose'))
        self.paths, self.input_hw = list(paths), tuple(int(v) for v in input_hw)
        pipeline = Compose([dict(type='LoadImage'),
                            dict(type='LetterBox', input_size=(self.input_hw[1], self.input_hw[0]), auto=False,
                                 pad_val=114),
                            dict(type='PackPoseInputs', meta_keys=('img_path', 'input_size'))])
        self._preprocessor = MODELS.build(copy.deepcopy(model_cfg.model.data_preprocessor))
        self._collate = pseudo_collate
        self._packed = []
        for path in self.paths:
            packed = pipeline(dict(img_path=path))
            if packed is None:
                raise ValueError(f'calibration: cannot read {path}')
            self._packed.append(packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __iter__(self) -> Iterator[np.ndarray]:
        import torch
        with torch.no_grad():
            for packed in self._packed:
                data = self._preprocessor(self._collate([packed]), False)
                yield np.ascontiguousarray(data['inputs'].float().numpy())


__all__ = ['DEFAULT_CALIBRATION', 'calibration_images', 'CalibrationInputs']
