# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLOv8-pose-p6-n (four levels, stride 64) exported at 1280 x 1280: ONNX Runtime, OpenVINO and ncnn equal eager;
YOLO12-pose-n (area attention) exported to ONNX Runtime at 640 equals eager.

Random weights with BatchNorm statistics measured on coco8-pose (see ``test_parity_p6_12._calibrated_reference``),
converted from an Ultralytics checkpoint, so that the images give distinct, non-trivial detections.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')

from test_deploy_backends import DEPLOY, REPO, _assert_same, _deploy  # noqa: E402
from test_loss_parity import _people_from_coco8  # noqa: E402
from test_parity_p6_12 import _calibrated_reference  # noqa: E402
from yolopose_mm.apis import init_model  # noqa: E402
from yolopose_mm.converters import save_converted  # noqa: E402
from yolopose_mm.deploy.pipeline import run_backend, run_eager  # noqa: E402

MODEL_CFG = str(REPO / 'configs' / 'yolov8_pose' / 'yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py')
YOLO12_CFG = str(REPO / 'configs' / 'yolo12_pose' / 'yolo12-pose-n_8xb16-600e_coco-640x640.py')
pytestmark = pytest.mark.slow


def _converted(version: str, shift: float, data_dir: Path, work: Path) -> str:
    calib, _, _ = _people_from_coco8(data_dir, 640)
    ref = _calibrated_reference(version, calib, shift)
    torch.save({'model': copy.deepcopy(ref), 'ema': None, 'epoch': -1, 'version': 'test',
                'train_args': {'task': 'pose'}}, work / 'n.pt')
    arch = save_converted(str(work / 'n.pt'), str(work / 'n.pth'))
    assert arch.version == version
    return str(work / 'n.pth')


@pytest.fixture(scope='module')
def p6_checkpoint(data_dir: Path, tmp_path_factory, ultralytics) -> str:
    return _converted('v8-p6', 1.5, data_dir, tmp_path_factory.mktemp('p6'))


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino', 'ncnn'])
def test_p6_export_at_1280_matches_eager(backend, p6_checkpoint, data_dir, tmp_path):
    if backend == 'ncnn':
        pytest.importorskip('ncnn', reason='ncnn is not installed')
        pytest.importorskip('pnnx', reason='pnnx is not installed')
    cfg = DEPLOY / f'pose-detection_yolopose_{backend}_static-1280x1280.py'
    deploy_cfg, model_cfg, model = _deploy('', p6_checkpoint, tmp_path / 'w', model_cfg=MODEL_CFG,
                                           deploy_cfg=str(cfg))
    eager = init_model(MODEL_CFG, p6_checkpoint)
    images = [data_dir / 'images' / 'bus.jpg', data_dir / 'images' / 'zidane.jpg']
    for img in map(str, images):
        a = run_eager(eager, deploy_cfg, [img], 1280, auto=False)[0]
        b = run_backend(model, model_cfg, [img], 1280, auto=False)[0]
        assert tuple(b.metainfo['input_size']) == (1280, 1280)
        _assert_same(a.pred_instances, b.pred_instances, f'{backend} p6-n on {Path(img).name}')
    if backend == 'ncnn':  # raw head outputs: fp32 weights (pnnx's default fp16 moved them by up to 0.44)
        x = torch.rand(1, 3, 1280, 1280, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            raw = eager.head(eager.neck(eager.backbone(x)))
        out = model.wrapper({'input': x})
        for name, value in out.items():
            assert (value - getattr(raw, name)).abs().max() < 0.01, name
        # a channels-last input (ncnn.Mat wraps a temporary contiguous copy: it used to give NaNs or a segfault)
        cl = model.wrapper({'input': x.contiguous(memory_format=torch.channels_last)})
        assert all(torch.equal(cl[k], out[k]) for k in out)


def test_yolo12_onnxruntime_export_matches_eager(data_dir, tmp_path, ultralytics):
    ckpt = _converted('12', 2.5, data_dir, tmp_path)
    cfg = DEPLOY / 'pose-detection_yolopose_onnxruntime_static-640x640.py'
    deploy_cfg, model_cfg, model = _deploy('', ckpt, tmp_path / 'w', model_cfg=YOLO12_CFG, deploy_cfg=str(cfg))
    eager = init_model(YOLO12_CFG, ckpt)
    img = str(data_dir / 'images' / 'bus.jpg')  # ~20 people with these weights (zidane.jpg: none)
    a = run_eager(eager, deploy_cfg, [img], 640, auto=False)[0]
    b = run_backend(model, model_cfg, [img], 640, auto=False)[0]
    _assert_same(a.pred_instances, b.pred_instances, 'onnxruntime yolo12-n on bus.jpg')
