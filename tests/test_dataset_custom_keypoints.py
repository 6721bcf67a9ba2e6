# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Any keypoint set end to end with the real tools: the custom project's K=5 shapes (two classes, dim 3 and 2)
and the 14-keypoint CrowdPose sample (converted by coco2yolo) through train, test, demo and ONNX export."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / 'projects' / 'custom_keypoints'


def _run(*args: str, timeout: int = 600) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=str(REPO))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def _dataset(kind: str, tmp_path: Path, data_dir: Path) -> tuple:
    """(config, data yaml, K, class names, an image) for one keypoint set, written under tmp_path."""
    if kind == 'crowdpose':
        src = data_dir / 'crowdpose'
        _run(str(REPO / 'tools/dataset_converters/coco2yolo.py'), str(src / 'test_crowdpose.json'), str(src),
             str(tmp_path / 'data'), '--split', 'train', '--sigmas-from', 'crowdpose')
        return (PROJECT / 'configs/yolo11-pose-n_crowdpose-k14-320.py', tmp_path / 'data/data.yaml', 14,
                str(src / '103319.jpg'))
    dim = 2 if kind == 'shapes_dim2' else 3
    _run(str(PROJECT / 'tools/make_shapes.py'), str(tmp_path / 'data'), '--num-train', '4', '--num-val', '2',
         '--size', '160', '--dim', str(dim))
    return (PROJECT / 'configs/yolo11-pose-n_shapes-k5-320.py', tmp_path / 'data/shapes.yaml', 5,
            str(tmp_path / 'data/images/val/00000.jpg'))


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['shapes', 'shapes_dim2', 'crowdpose'])
def test_train_test_demo_export(kind, tmp_path, data_dir):
    config, data_yaml, k, image = _dataset(kind, tmp_path, data_dir)
    spec = yaml.safe_load(data_yaml.read_text())
    assert spec['kpt_shape'][0] == k and len(spec['flip_idx']) == k and len(spec['kpt_oks_sigmas']) == k
    dim = spec['kpt_shape'][1]
    opts = ['--cfg-options', f'train_dataloader.dataset.data_yaml={data_yaml}',
            f'val_dataloader.dataset.data_yaml={data_yaml}', f'test_dataloader.dataset.data_yaml={data_yaml}',
            f'model.head.keypoint_dim={dim}']
    # dataset check first: clean
    check = _run(str(REPO / 'tools/check_dataset.py'), str(data_yaml))
    assert '0 errors' in check
    # train: one epoch of 2 iterations at 160 px, then validation
    _run(str(REPO / 'tools/train.py'), str(config), '--work-dir', str(tmp_path / 'work'), *opts,
         'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False')
    ckpt = tmp_path / 'work' / 'epoch_1.pth'
    assert ckpt.exists()
    # test: metrics.json with the COCO-official and Ultralytics-style numbers for K keypoints
    out = _run(str(REPO / 'tools/test.py'), str(config), str(ckpt), '--work-dir', str(tmp_path / 'test'), *opts)
    assert f'K={k}' in out
    metrics = json.loads((tmp_path / 'test' / 'metrics.json').read_text())
    assert 'coco/AP' in metrics and 'yolo/mAP50-95(P)' in metrics
    # demo: drawing + JSON with K named keypoints per person
    dumped = tmp_path / 'work' / config.name  # the config train.py saved, with the overrides applied
    _run(str(REPO / 'tools/demo.py'), image, '--config', str(dumped), '--checkpoint', str(ckpt), '--out-dir',
         str(tmp_path / 'demo'), '--save-json', '--score-thr', '0.0')
    result = json.loads((tmp_path / 'demo' / (Path(image).stem + '.json')).read_text())
    assert len(result['keypoint_names']) == k and result['people']
    assert all(len(p['keypoints']) == k for p in result['people'])
    if kind.startswith('shapes'):
        assert result['keypoint_names'][:3] == ['apex', 'left_near', 'right_near']
    # ONNX export through mmdeploy, compared with the eager model on the image
    deploy_cfg = REPO / 'configs/deploy/pose-detection_yolopose_onnxruntime_dynamic.py'
    out = _run(str(REPO / 'tools/deploy.py'), str(deploy_cfg), str(dumped), str(ckpt), image, '--work-dir',
               str(tmp_path / 'deploy'), '--check')
    assert 'PASS' in out and (tmp_path / 'deploy' / 'end2end.onnx').exists()
    ort = pytest.importorskip('onnxruntime')
    session = ort.InferenceSession(str(tmp_path / 'deploy' / 'end2end.onnx'))
    dets, keypoints = session.run(None, {session.get_inputs()[0].name: np.random.rand(1, 3, 160, 160).astype(
        np.float32)})
    assert dets.shape[-1] == 5 and keypoints.shape[2:] == (k, 3)  # (x, y, score) per keypoint, K of them
