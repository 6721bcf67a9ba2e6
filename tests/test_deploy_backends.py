# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""End-to-end deployment: export with mmdeploy, run each backend, compare with the eager model.

Real yolo11n-pose (converted), bus.jpg and the coco8-pose val images: the same people, boxes and keypoints within
1 px, scores within 1e-3 (ONNX Runtime, OpenVINO, ncnn). YOLOv8-pose and a K=5 dim-2 model with random weights.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from mmengine.config import Config

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')

from yolopose_mm.apis import inference, init_model  # noqa: E402
from yolopose_mm.deploy.compare import compare_instances, format_side_by_side  # noqa: E402
from yolopose_mm.deploy.pipeline import (build_backend_model, convert_backend, export_ir,  # noqa: E402
                                         load_configs, run_backend, run_eager)

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / 'configs' / 'deploy'
MODEL_CFG = str(REPO / 'configs' / 'yolopose_n_coco.py')
PX, SCORE = 1.0, 1e-3

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def images(data_dir: Path) -> List[str]:
    val = sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))
    assert val, f'no coco8-pose val images under {data_dir}'
    return [str(data_dir / 'images' / 'bus.jpg')] + [str(p) for p in val]


@pytest.fixture(scope='module')
def eager(converted_yolo11n: Path):
    return init_model(MODEL_CFG, str(converted_yolo11n))


def _deploy(cfg_name: str, checkpoint: str, work_dir: Path, model_cfg=MODEL_CFG, img=None, deploy_cfg=None):
    deploy_cfg, model_cfg = load_configs(deploy_cfg or str(DEPLOY / cfg_name), model_cfg)
    img = img if img is not None else np.full((480, 640, 3), 114, np.uint8)
    ir = export_ir(deploy_cfg, model_cfg, checkpoint, img, str(work_dir))
    files = convert_backend(deploy_cfg, ir, str(work_dir))
    backend = build_backend_model(deploy_cfg, model_cfg, files)
    backend.backend_files = files
    return deploy_cfg, model_cfg, backend


def _assert_same(a, b, label: str, px: float = PX, score: float = SCORE) -> None:
    diff = compare_instances(a, b)
    assert diff.num_a > 0, f'{label}: eager found nobody; the comparison would be vacuous'
    assert diff.within(px, score), f'{label}\n' + format_side_by_side(a, b, diff)


@pytest.mark.parametrize('cfg_name', ['pose-detection_yolopose_onnxruntime_static-640x640.py',
                                      'pose-detection_yolopose_openvino_static-640x640.py',
                                      'pose-detection_yolopose_ncnn_static-640x640.py',
                                      'pose-detection_yolopose_onnxruntime_ultralytics-raw_static-640x640.py'])
def test_static_backend_matches_eager(cfg_name, converted_yolo11n, eager, images, tmp_path):
    if 'openvino' in cfg_name:
        pytest.importorskip('openvino', reason='openvino is not installed')
    if 'ncnn' in cfg_name:
        pytest.importorskip('ncnn', reason='ncnn is not installed')
        pytest.importorskip('pnnx', reason='pnnx is not installed')
    deploy_cfg, model_cfg, backend = _deploy(cfg_name, str(converted_yolo11n), tmp_path)
    for img in images:
        a = run_eager(eager, deploy_cfg, [img], 640, auto=False)[0]
        b = run_backend(backend, model_cfg, [img], 640, auto=False)[0]
        assert tuple(b.metainfo['input_size']) == (640, 640)
        _assert_same(a.pred_instances, b.pred_instances, f'{cfg_name} on {os.path.basename(img)}')
    if 'onnxruntime_static' in cfg_name:  # mmdeploy's own API returns the same PoseDataSamples
        from mmdeploy.apis import inference_model
        b = inference_model(model_cfg, deploy_cfg, backend.backend_files, images[0], 'cpu')[0]
        a = run_eager(eager, deploy_cfg, [images[0]], 640, auto=False)[0]
        assert set(a.pred_instances.keys()) == set(b.pred_instances.keys())
        _assert_same(a.pred_instances, b.pred_instances, 'mmdeploy.apis.inference_model on bus.jpg')


def test_onnxruntime_dynamic_sizes_and_batch(converted_yolo11n, eager, images, tmp_path):
    _, model_cfg, backend = _deploy('pose-detection_yolopose_onnxruntime_dynamic.py', str(converted_yolo11n),
                                    tmp_path)
    # single images at the predict letterbox (bus.jpg: 480 x 640), against the public eager API
    for img in images:
        b = run_backend(backend, model_cfg, [img], 640, auto=True)[0]
        a = inference(eager, img)
        assert tuple(b.metainfo['input_size']) == tuple(a.metainfo['input_size'])
        _assert_same(a.pred_instances, b.pred_instances, f'dynamic on {os.path.basename(img)}')
    bus = run_backend(backend, model_cfg, [images[0]], 640, auto=True)[0]
    assert tuple(bus.metainfo['input_size']) == (480, 640)  # (w, h)
    # batch 2 (square 640, as eager inference batches lists)
    pair = images[:2]
    b2 = run_backend(backend, model_cfg, pair, 640, auto=False)
    a2 = inference(eager, pair)
    for a, b, img in zip(a2, b2, pair):
        _assert_same(a.pred_instances, b.pred_instances, f'dynamic batch 2 on {os.path.basename(img)}')


def test_ultralytics_raw_layout_equals_ultralytics_export(converted_yolo11n, yolo11n_pose_pt, ultralytics,
                                                          data_dir, tmp_path):
    """Our 'ultralytics' layout gives the numbers of Ultralytics' own ONNX export of the same weights."""
    import onnxruntime as ort
    from ultralytics import YOLO
    deploy_cfg, model_cfg, _ = _deploy('pose-detection_yolopose_onnxruntime_ultralytics-raw_static-640x640.py',
                                       str(converted_yolo11n), tmp_path / 'ours')
    ref_dir = tmp_path / 'ref'
    ref_dir.mkdir()
    pt = ref_dir / 'yolo11n-pose.pt'
    pt.write_bytes(Path(yolo11n_pose_pt).read_bytes())
    ref_onnx = YOLO(str(pt)).export(format='onnx', imgsz=640)
    import cv2
    img = cv2.resize(cv2.imread(str(data_dir / 'images' / 'bus.jpg')), (640, 640))
    x = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    ours = ort.InferenceSession(str(tmp_path / 'ours' / 'end2end.onnx'), providers=['CPUExecutionProvider'])
    theirs = ort.InferenceSession(str(ref_onnx), providers=['CPUExecutionProvider'])
    out = ours.run(None, {'input': x})[0]
    ref = theirs.run(None, {theirs.get_inputs()[0].name: x})[0]
    assert out.shape == ref.shape == (1, 56, 8400)
    assert np.abs(out[:, :4] - ref[:, :4]).max() < 1e-2  # pixels
    assert np.abs(out[:, 4] - ref[:, 4]).max() < 1e-4  # class probability
    kx = np.abs(out[:, 5:].reshape(17, 3, -1)[:, :2] - ref[:, 5:].reshape(17, 3, -1)[:, :2]).max()
    kv = np.abs(out[:, 5:].reshape(17, 3, -1)[:, 2] - ref[:, 5:].reshape(17, 3, -1)[:, 2]).max()
    assert kx < 1e-2 and kv < 1e-4


# The TensorRT configs' exported graphs: tests/test_tensorrt_graph.py.


@pytest.mark.skipif(not torch.cuda.is_available(), reason='TensorRT needs an NVIDIA GPU; none is present')
def test_tensorrt_matches_eager(converted_yolo11n, images, tmp_path):
    pytest.importorskip('tensorrt', reason='tensorrt is not installed')
    from yolopose_mm.deploy.tensorrt_support import mmdeploy_trt_plugin_error
    error = mmdeploy_trt_plugin_error()  # mmdeploy's converter and wrapper need its TensorRT-8 plugin library
    if error:
        pytest.skip(error)
    deploy_cfg, model_cfg = load_configs(str(DEPLOY / 'pose-detection_yolopose_tensorrt-fp16_static-640x640.py'),
                                         MODEL_CFG)
    ir = export_ir(deploy_cfg, model_cfg, str(converted_yolo11n), images[0], str(tmp_path), 'cuda:0')
    backend = build_backend_model(deploy_cfg, model_cfg, convert_backend(deploy_cfg, ir, str(tmp_path), 'cuda:0'),
                                  'cuda:0')
    eager = init_model(MODEL_CFG, str(converted_yolo11n), device='cuda:0')
    for img in images:
        a = run_eager(eager, deploy_cfg, [img], 640, auto=False)[0]
        b = run_backend(backend, model_cfg, [img], 640, auto=False)[0]
        _assert_same(a.pred_instances, b.pred_instances, f'tensorrt fp16 on {img}', px=2.0, score=1e-2)


@pytest.mark.parametrize('variant', ['yolov8', 'k5_dim2'])
def test_other_models_export_and_match(variant, images, tmp_path):
    """YOLOv8-pose and a K=5, dim-2 model (random weights) through the dynamic ONNX Runtime config at 320."""
    base = 'yolov8_pose/yolov8-pose-n_8xb16-500e_coco-640x640.py' if variant == 'yolov8' else 'yolopose_n_coco.py'
    model_cfg = Config.fromfile(str(REPO / 'configs' / base))
    if variant == 'k5_dim2':
        model_cfg.model.head.num_keypoints = 5
        model_cfg.model.head.keypoint_dim = 2
    torch.manual_seed(0)
    model = init_model(model_cfg)
    ckpt = tmp_path / f'{variant}.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    deploy_cfg = Config.fromfile(str(DEPLOY / 'pose-detection_yolopose_onnxruntime_dynamic.py'))
    deploy_cfg.codebase_config.post_processing.score_threshold = 0.5
    deploy_cfg, model_cfg, backend = _deploy('', str(ckpt), tmp_path / 'w', model_cfg=model_cfg,
                                             deploy_cfg=deploy_cfg)
    eager = init_model(model_cfg, str(ckpt))
    k, dim = (5, 2) if variant == 'k5_dim2' else (17, 3)
    for img in images[:3]:
        a = run_eager(eager, deploy_cfg, [img], 320, auto=True)[0]
        b = run_backend(backend, model_cfg, [img], 320, auto=True)[0]
        assert b.pred_instances.keypoints.shape[1:] == (k, 2)
        if dim == 2:
            assert np.all(b.pred_instances.keypoint_scores == 1.0)
        _assert_same(a.pred_instances, b.pred_instances, f'{variant} on {os.path.basename(img)}')
