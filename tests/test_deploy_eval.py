# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Exported models evaluated and predicted like eager ones: ``tools/test.py --deploy-cfg``, ``tools/demo.py``.

The converted yolo11n-pose on the mmpose COCO sample and coco8-pose val: keypoint and box AP of ONNX Runtime and
OpenVINO (one dynamic export, the configs' own rectangular letterboxes) equal eager's within 0.002; ncnn (static
640, the square letterbox) within 0.005. Plus the errors: a static export with a rectangular letterbox, a model
file with another keypoint count, a missing backend package, a file of another backend.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import torch

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / 'configs' / 'deploy'
CONFIGS = {'coco_sample': 'configs/yolopose_n_coco_sample.py', 'coco8': 'configs/yolopose_n_coco8.py'}
ORT_DYNAMIC = str(DEPLOY / 'pose-detection_yolopose_onnxruntime_dynamic.py')
OV_DYNAMIC = str(DEPLOY / 'pose-detection_yolopose_openvino_dynamic.py')
NCNN = str(DEPLOY / 'pose-detection_yolopose_ncnn_static-640x640.py')


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f'yolopose_tools_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _test_cli(config: str, model, work_dir: Path, *extra: str) -> Dict[str, float]:
    """tools/test.py in a new process; returns its metrics.json."""
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), config, str(model), '--work-dir',
                           str(work_dir), *extra], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((work_dir / 'metrics.json').read_text())


def _close(a: Dict[str, float], b: Dict[str, float], tol: float, label: str) -> None:
    for key in ('coco/AP', 'coco/bbox_AP'):
        assert abs(a[key] - b[key]) <= tol, f'{label}: {key} exported {b[key]:.4f} vs eager {a[key]:.4f}'
    assert a['coco/AP'] > 0.2, f'{label}: eager AP {a["coco/AP"]} is too low for a meaningful comparison'


@pytest.fixture(scope='module')
def evaluated(converted_yolo11n, data_dir, tmp_path_factory, monkeypatch_module) -> Dict[str, Dict[str, float]]:
    """Every (backend, config, letterbox) evaluation, exporting each model once."""
    pytest.importorskip('openvino', reason='openvino is not installed')
    monkeypatch_module.chdir(REPO)
    root = tmp_path_factory.mktemp('deploy_eval')
    ckpt = str(converted_yolo11n)
    out: Dict[str, Dict[str, float]] = {}
    for name, cfg in CONFIGS.items():
        out[f'eager/{name}'] = _test_cli(cfg, ckpt, root / f'eager_{name}')
        out[f'eager_square/{name}'] = _test_cli(cfg, ckpt, root / f'eager_sq_{name}', '--square')
    # a checkpoint with --deploy-cfg: exported (NMS at the config's test_cfg) into work_dir/export, then evaluated
    # Every evaluation runs in its own process: after in-process evaluations with ONNX Runtime / OpenVINO, later
    # tests of the same pytest process died with SIGSEGV (ncnn in tests/test_deploy_backends.py, NNCF in
    # tests/test_deploy_int8.py; seen 2026-12-01, cause not isolated; each file alone passes).
    out['ort/coco_sample'] = _test_cli(CONFIGS['coco_sample'], ckpt, root / 'ort', '--deploy-cfg', ORT_DYNAMIC)
    onnx_file = root / 'ort' / 'export' / 'end2end.onnx'
    out['ort/coco8'] = _test_cli(CONFIGS['coco8'], onnx_file, root / 'ort8', '--deploy-cfg', ORT_DYNAMIC)
    from yolopose_mm.deploy.pipeline import convert_backend, load_configs
    ov_cfg, _ = load_configs(OV_DYNAMIC, CONFIGS['coco8'])
    xml = convert_backend(ov_cfg, str(onnx_file), str(root / 'ov'))[0]
    for name, cfg in CONFIGS.items():
        out[f'ov/{name}'] = _test_cli(cfg, xml, root / f'ov_{name}', '--deploy-cfg', OV_DYNAMIC)
    if importlib.util.find_spec('ncnn') and importlib.util.find_spec('pnnx'):
        out['ncnn/coco8'] = _test_cli(CONFIGS['coco8'], ckpt, root / 'ncnn', '--deploy-cfg', NCNN, '--square')
        param = root / 'ncnn' / 'export' / 'end2end.ncnn.param'
        out['ncnn/coco_sample'] = _test_cli(CONFIGS['coco_sample'], param, root / 'ncnn_s', '--deploy-cfg', NCNN,
                                            '--square')
        out['ncnn_files'] = {'param': str(param)}
    return out


@pytest.fixture(scope='module')
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['ort', 'ov'])
@pytest.mark.parametrize('data', list(CONFIGS))
def test_exported_ap_equals_eager(evaluated, backend, data):
    """Dynamic exports take the configs' own rectangular letterboxes: AP within 0.002 of eager's."""
    _close(evaluated[f'eager/{data}'], evaluated[f'{backend}/{data}'], 0.002, f'{backend} on {data}')


@pytest.mark.slow
@pytest.mark.parametrize('data', list(CONFIGS))
def test_ncnn_ap_equals_eager_square(evaluated, data):
    """ncnn (static 640) with the square letterbox, against eager with the same letterbox: within 0.005."""
    if f'ncnn/{data}' not in evaluated:
        pytest.skip('ncnn / pnnx are not installed')
    _close(evaluated[f'eager_square/{data}'], evaluated[f'ncnn/{data}'], 0.005, f'ncnn on {data}')


@pytest.mark.slow
def test_demo_with_exported_model_matches_eager(evaluated, converted_yolo11n, data_dir, tmp_path, monkeypatch):
    """tools/demo.py --deploy-cfg: a static ncnn export predicts the people eager finds with its square letterbox."""
    if 'ncnn_files' not in evaluated:
        pytest.skip('ncnn / pnnx are not installed')
    from yolopose_mm.apis import inference, init_model
    monkeypatch.chdir(REPO)
    img = str(data_dir / 'images' / 'bus.jpg')
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'demo.py'), img, '--config', CONFIGS['coco8'],
                           '--checkpoint', evaluated['ncnn_files']['param'], '--deploy-cfg', NCNN, '--out-dir',
                           str(tmp_path), '--save-json'], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    people = json.loads((tmp_path / 'bus.json').read_text())['people']
    eager = inference(init_model(CONFIGS['coco8'], str(converted_yolo11n)), img, rect=False)
    boxes = np.array(sorted(p['bbox'] for p in people))
    ref = np.array(sorted(eager.pred_instances.bboxes.tolist()))
    assert len(people) == len(ref) >= 3
    assert np.abs(boxes - ref).max() < 1.0
    assert (tmp_path / 'bus.jpg').is_file()


def _fake_export(path: Path, k: int, dynamic: bool = True) -> str:
    """An ONNX model with our 'dets_keypoints' outputs for K keypoints (e.g. from another model config), taking
    any input size (``dynamic``) or only 1 x 3 x 64 x 64."""
    class Fake(torch.nn.Module):
        def forward(self, x):
            s = x.mean()
            return torch.zeros(1, 2, 5) + s, torch.zeros(1, 2, k, 3) + s

    axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}} if dynamic else None
    torch.onnx.export(Fake(), torch.zeros(1, 3, 64, 64), str(path), input_names=['input'],
                      output_names=['dets', 'keypoints'], opset_version=13, dynamo=False, dynamic_axes=axes)
    return str(path)


def _errors(capsys) -> List[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith('error:')]


@pytest.mark.parametrize('case', ['keypoints', 'static_rect', 'missing_package', 'wrong_backend', 'missing'])
def test_bad_exported_model_gives_one_line(case, data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    deploy, cfg = ORT_DYNAMIC, CONFIGS['coco_sample']
    if case == 'keypoints':
        model, expect = _fake_export(tmp_path / 'k5.onnx', 5), 'outputs 5 keypoints per person, but the model config'

    elif case == 'static_rect':
        model, expect = _fake_export(tmp_path / 's.onnx', 17, dynamic=False), 'takes only 1x3x64x64 inputs'
        cfg = CONFIGS['coco8']
    elif case == 'missing_package':
        monkeypatch.setitem(sys.modules, 'openvino', None)
        model, expect = str(tmp_path / 'm.xml'), 'needs the `openvino` package, which is not installed: pip install'
        deploy = OV_DYNAMIC
    elif case == 'wrong_backend':
        model, expect = _fake_export(tmp_path / 'w.onnx', 17), 'the deploy config is for openvino'
        deploy = OV_DYNAMIC
    else:
        model, expect = str(tmp_path / 'nope.onnx'), 'exported model not found'
    code = _load_tool('test').main([cfg, model, '--deploy-cfg', deploy, '--work-dir', str(tmp_path / 'wd')])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1 and expect in errors[0], errors
    if case == 'static_rect':  # the fix is named: the square letterbox protocol, or a dynamic export
        assert 'LetterBox rect=True' in errors[0] and 'tools/test.py --square 64' in errors[0]
        assert '_dynamic.py' in errors[0]
