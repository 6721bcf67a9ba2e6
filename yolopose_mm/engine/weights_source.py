# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""What ``--weights`` names: an Ultralytics ``.pt``, a yolopose_mm ``.pth`` or a config, and the family config it
implies (the architecture to build before the data yaml sets the head's keypoints and classes)."""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional

from mmengine.config import Config


@dataclass(frozen=True)
class WeightsSource:
    """The resolved ``--weights``.

    Attributes:
        source: what the user named (path).
        checkpoint: the ``.pth`` to load (the converted file for a ``.pt``), None to train from scratch.
        family: the config the architecture comes from (a path), or None when ``config_text`` holds it.
        config_text: the config stored in a checkpoint's meta, when no config file is named there.
        num_classes, num_keypoints, keypoint_dim: what the checkpoint's head was trained for (None if unknown).
        class_names: its class names by index, when known.
    """

    source: str
    checkpoint: Optional[str]
    family: Optional[str]
    config_text: Optional[str] = None
    num_classes: Optional[int] = None
    num_keypoints: Optional[int] = None
    keypoint_dim: Optional[int] = None
    class_names: Optional[Dict[int, str]] = None

    def load_family(self) -> Config:
        """The family config (from its file, or from the checkpoint's stored config text)."""
        if self.family is not None:
            return Config.fromfile(self.family)
        return Config.fromstring(self.config_text, file_format='.py')

    def head_facts(self) -> str:
        """``'1 class(es) and 17x3 keypoints'`` (what is known)."""
        parts = []
        if self.num_classes is not None:
            parts.append(f'{self.num_classes} class(es)')
        if self.num_keypoints is not None:
            parts.append(f'{self.num_keypoints}x{self.keypoint_dim} keypoints')
        return ' and '.join(parts) or 'an unknown head'


def _atomic_save(obj, dst: str) -> None:
    import torch
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = f'{dst}.tmp{os.getpid()}'
    torch.save(obj, tmp)
    os.replace(tmp, dst)  # several ranks may convert at once: each writes its own file, the last one wins


def from_ultralytics(path: str, out_dir: str) -> WeightsSource:
    """Convert an Ultralytics ``.pt`` (safely: no code from the pickle runs) into ``out_dir/<name>.pth``."""
    from ..converters import convert_ultralytics_checkpoint
    from ..utils import config_file
    converted, arch = convert_ultralytics_checkpoint(path)
    dst = osp.join(out_dir, osp.splitext(osp.basename(path))[0] + '.pth')
    _atomic_save(converted, dst)
    names = (converted.get('meta') or {}).get('class_names')
    return WeightsSource(path, dst, str(config_file(arch.config_name)), None, arch.num_classes, arch.num_keypoints,
                         arch.keypoint_dim, names)


def _head_of(cfg: Config):
    return ((cfg.get('model') or {}).get('head') or {})


def from_checkpoint(path: str) -> WeightsSource:
    """A yolopose_mm ``.pth``: converted (its meta names the config and the architecture) or trained by mmengine
    (its meta holds the training config)."""
    from mmengine.runner import CheckpointLoader

    from ..utils import config_file
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    meta = (ckpt.get('meta') or {}) if isinstance(ckpt, dict) else {}
    arch = meta.get('arch') or {}
    names = meta.get('class_names')
    if meta.get('config') and arch:
        try:
            family = str(config_file(meta['config']))
        except FileNotFoundError:
            family = None
        if family is not None:
            return WeightsSource(path, path, family, None, arch.get('num_classes'), arch.get('num_keypoints'),
                                 arch.get('keypoint_dim'), names)
    text = meta.get('cfg')
    if not text or not isinstance(text, str):
        raise ValueError(f'--weights {path}: the checkpoint carries no config (meta.cfg or meta.config); name the '
                         'architecture too: tools/train.py CONFIG --data ... --weights ' + path)
    from ..apis.checkpoints import check_config_text
    check_config_text(text, path)  # mmengine executes config text: plain data only
    src = WeightsSource(path, path, None, text)
    head = _head_of(src.load_family())
    classes = (meta.get('dataset_meta') or {}).get('classes')
    return WeightsSource(path, path, None, text, head.get('num_classes'), head.get('num_keypoints'),
                         head.get('keypoint_dim'), dict(enumerate(classes)) if classes else names)


def resolve_weights(weights: Optional[str], out_dir: str) -> Optional[WeightsSource]:
    """``--weights`` resolved; None when not given. A config means "this architecture, from scratch"."""
    if weights is None:
        return None
    if not osp.isfile(weights):
        raise FileNotFoundError(f'--weights {weights}: no such file (an Ultralytics .pt, a yolopose_mm .pth or a '
                                'config .py)')
    if weights.endswith('.py'):
        head = _head_of(Config.fromfile(weights))
        return WeightsSource(weights, None, weights, None, head.get('num_classes'), head.get('num_keypoints'),
                             head.get('keypoint_dim'))
    if weights.endswith('.pt'):
        return from_ultralytics(weights, out_dir)
    return from_checkpoint(weights)


__all__ = ['WeightsSource', 'resolve_weights', 'from_ultralytics', 'from_checkpoint']
