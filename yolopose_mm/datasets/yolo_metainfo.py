# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Read an Ultralytics dataset yaml and build mmpose pose metainfo from it."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from ..utils.warn import warn_once  # noqa: F401  (re-exported for the transforms)

def mmpose_dataset_config(name: str) -> str:
    """Path of one of mmpose's bundled dataset metainfo files, e.g. ``coco.py``."""
    import mmpose
    path = Path(mmpose.__file__).parent / '.mim' / 'configs' / '_base_' / 'datasets' / name
    if not path.is_file():
        raise FileNotFoundError(f'mmpose dataset metainfo {name} not found at {path}')
    return str(path)


@dataclass(frozen=True)
class YOLODataSpec:
    """The parts of an Ultralytics dataset yaml a pose dataset needs."""

    yaml_path: str
    root: str
    splits: Dict[str, Tuple[str, ...]]
    num_keypoints: int
    keypoint_dim: int
    names: Dict[int, str]
    flip_idx: Optional[Tuple[int, ...]] = None
    kpt_names: Optional[Tuple[str, ...]] = None
    kpt_oks_sigmas: Optional[Tuple[float, ...]] = None
    skeleton: Tuple[Tuple[int, int], ...] = field(default_factory=tuple)


class DatasetYamlError(ValueError):
    """The dataset yaml is missing something or holds inconsistent values; the message says which key."""


def _as_tuple(value: Any) -> Tuple[str, ...]:
    if value in (None, ''):
        return ()
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)


def _optional_key_error(problems: Optional[List[str]], message: str) -> None:
    """Raise ``message``, or record it in ``problems`` (the key is then treated as absent)."""
    if problems is None:
        raise DatasetYamlError(message)
    problems.append(message)


def load_data_yaml(path: str, root: Optional[str] = None, problems: Optional[List[str]] = None) -> YOLODataSpec:
    """Parse and validate an Ultralytics pose dataset yaml.

    Args:
        path: the yaml file.
        root: overrides the yaml's ``path`` (dataset root). An empty ``path`` means the yaml's folder.
        problems: when given, errors in the optional keys (``flip_idx``, ``kpt_names``, ``kpt_oks_sigmas``,
            ``skeleton``) are appended here and the key is ignored instead of raising (tools/check_dataset.py).

    Raises:
        FileNotFoundError: the yaml does not exist.
        DatasetYamlError: a key is missing or inconsistent (``kpt_shape``, ``flip_idx``, ``kpt_oks_sigmas``, ...).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'dataset yaml not found: {path}')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise DatasetYamlError(f'{path}: expected a mapping of keys (path, train, val, kpt_shape, names, ...)')
    where = f'{path}:'
    kpt_shape = data.get('kpt_shape')
    if (not isinstance(kpt_shape, (list, tuple)) or len(kpt_shape) != 2 or int(kpt_shape[0]) < 1
            or int(kpt_shape[1]) not in (2, 3)):
        raise DatasetYamlError(f'{where} kpt_shape must be [K, 2] or [K, 3] (K keypoints, with or without '
                               f'visibility), got {kpt_shape!r}')
    k, dim = int(kpt_shape[0]), int(kpt_shape[1])
    names = data.get('names')
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise DatasetYamlError(f'{where} names must map class ids to names, e.g. names: {{0: person}}')
    names = {int(i): str(n) for i, n in names.items()}
    flip_idx = data.get('flip_idx')
    if flip_idx is not None:
        flip_idx = tuple(int(i) for i in flip_idx)
        if len(flip_idx) != k or sorted(flip_idx) != list(range(k)):
            flip_idx = _optional_key_error(problems, f'{where} flip_idx must be a permutation of 0..{k - 1} ({k} '
                                           f'entries), got {list(flip_idx)}')
        elif any(flip_idx[flip_idx[i]] != i for i in range(k)):
            flip_idx = _optional_key_error(problems, f'{where} flip_idx must pair keypoints symmetrically '
                                           '(flip_idx[flip_idx[i]] == i)')
    kpt_names = data.get('kpt_names')
    if isinstance(kpt_names, dict):  # Ultralytics style: {class_id: [names...]}
        kpt_names = next(iter(kpt_names.values()))
    if kpt_names is not None:
        kpt_names = tuple(str(n) for n in kpt_names)
        if len(kpt_names) != k or len(set(kpt_names)) != k:
            kpt_names = _optional_key_error(problems, f'{where} kpt_names must hold {k} distinct names, got '
                                            f'{len(kpt_names)}')
    sigmas = data.get('kpt_oks_sigmas')
    if sigmas is not None:
        sigmas = tuple(float(s) for s in sigmas)
        if len(sigmas) != k or any(s <= 0 for s in sigmas):
            sigmas = _optional_key_error(problems, f'{where} kpt_oks_sigmas must be {k} positive numbers, got '
                                         f'{len(sigmas)} values')
    skeleton = tuple((int(a), int(b)) for a, b in (data.get('skeleton') or ()))
    if any(not (0 <= a < k and 0 <= b < k) for a, b in skeleton):
        skeleton = _optional_key_error(problems, f'{where} skeleton links must index keypoints 0..{k - 1}') or ()
    yaml_dir = os.path.dirname(os.path.abspath(path))
    base = root if root is not None else (data.get('path') or '')
    base = base if os.path.isabs(base) else os.path.normpath(os.path.join(yaml_dir, base))
    splits = {s: _as_tuple(data.get(s)) for s in ('train', 'val', 'test')}
    return YOLODataSpec(os.path.abspath(path), base, splits, k, dim, names, flip_idx, kpt_names, sigmas, skeleton)


def metainfo_from_spec(spec: YOLODataSpec) -> Dict[str, Any]:
    """mmpose metainfo (``parse_pose_metainfo`` input format) for a YOLO dataset.

    Names come from ``kpt_names`` (else ``kpt_0`` ...); flip pairs from ``flip_idx``; sigmas from
    ``kpt_oks_sigmas``, else 1/K for every keypoint with a one-time warning (never guessed from K).
    """
    k = spec.num_keypoints
    names: List[str] = list(spec.kpt_names) if spec.kpt_names else [f'kpt_{i}' for i in range(k)]
    flip = spec.flip_idx or tuple(range(k))
    palette = [[255, 128, 0], [51, 153, 255], [0, 255, 0], [255, 51, 255], [255, 255, 0], [0, 255, 255]]
    keypoint_info = {
        i: dict(name=names[i], id=i, color=palette[i % len(palette)], type='',
                swap=names[flip[i]] if flip[i] != i else '')
        for i in range(k)
    }
    skeleton_info = {
        i: dict(link=(names[a], names[b]), id=i, color=palette[(i + 2) % len(palette)])
        for i, (a, b) in enumerate(spec.skeleton)
    }
    if spec.kpt_oks_sigmas is not None:
        sigmas: Sequence[float] = spec.kpt_oks_sigmas
    else:
        warn_once(f'sigmas:{spec.yaml_path}',
                  f'{spec.yaml_path} has no kpt_oks_sigmas: using 1/K = {1 / k:.4f} for all {k} keypoints in the '
                  'OKS loss and metrics; add kpt_oks_sigmas to the yaml for meaningful OKS values')
        sigmas = [1.0 / k] * k
    return dict(dataset_name=Path(spec.yaml_path).stem, keypoint_info=keypoint_info, skeleton_info=skeleton_info,
                joint_weights=[1.0] * k, sigmas=list(sigmas))
