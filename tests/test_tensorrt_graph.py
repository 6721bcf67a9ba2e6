# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""TensorRT a current stack can build: the TensorRT deploy configs export graphs whose every op TensorRT 10's ONNX
parser imports natively (no plugin), mmdeploy's TRTBatchedNMS stays available with a pre-top-k the plugin accepts,
and a plugin library that cannot load gives one line naming the versions.

No TensorRT is installed here: the exported TensorRT graph is run with ONNX Runtime (same ops, CPU) against eager.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')
onnx = pytest.importorskip('onnx', reason='onnx is not installed')

from yolopose_mm.apis import init_model  # noqa: E402
from yolopose_mm.deploy.graph_nms import TRT_PLUGIN_PRE_TOP_K  # noqa: E402
from yolopose_mm.deploy.pipeline import load_configs  # noqa: E402
from yolopose_mm.deploy.tensorrt_support import (TRT10_NATIVE_OPS, mmdeploy_trt_plugin_error,  # noqa: E402
                                                 non_native_ops, tensorrt_nms)

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / 'configs' / 'deploy'
MODEL_CFG = str(REPO / 'configs' / 'yolopose_n_coco.py')
TRT_CONFIGS = (('pose-detection_yolopose_tensorrt-fp16_static-640x640.py', (1, 3, 640, 640)),
               ('pose-detection_yolopose_tensorrt-fp16_dynamic-320x320-1280x1280.py', (2, 3, 320, 416)))


def _export(model, deploy_cfg, shape, prefix: str):
    """mmdeploy's ONNX export with the config's backend (its torch2onnx refuses device 'cpu' for TensorRT)."""
    from mmdeploy.apis.onnx import export
    from mmdeploy.utils import get_ir_config
    ir = get_ir_config(deploy_cfg)
    export(model, torch.rand(shape), prefix, backend='tensorrt', context_info={'deploy_cfg': deploy_cfg},
           input_names=ir['input_names'], output_names=ir['output_names'], opset_version=ir['opset_version'],
           dynamic_axes=ir.get('dynamic_axes'))
    return onnx.load(prefix + '.onnx')


@pytest.fixture(scope='module')
def random_model():
    torch.manual_seed(0)
    return init_model(MODEL_CFG, None)


@pytest.mark.parametrize('name, shape', TRT_CONFIGS, ids=[c[0] for c in TRT_CONFIGS])
def test_tensorrt_configs_export_only_tensorrt10_native_ops(random_model, tmp_path, name, shape):
    deploy_cfg, _ = load_configs(str(DEPLOY / name), MODEL_CFG)
    assert tensorrt_nms(deploy_cfg) == 'onnx'
    graph = _export(random_model, deploy_cfg, shape, str(tmp_path / 'end2end'))
    ops = {n.op_type for n in graph.graph.node}
    assert 'NonMaxSuppression' in ops and 'TRTBatchedNMS' not in ops
    assert non_native_ops(graph) == [], f'ops TensorRT 10 cannot parse natively: {non_native_ops(graph)}'
    assert [o.name for o in graph.graph.output] == ['dets', 'keypoints']


def test_mmdeploy_plugin_opt_in_keeps_pre_top_k_within_the_plugin_limit(random_model, tmp_path):
    deploy_cfg, _ = load_configs(str(DEPLOY / TRT_CONFIGS[0][0]), MODEL_CFG)
    deploy_cfg.codebase_config.tensorrt_nms = 'mmdeploy_plugin'
    graph = _export(random_model, deploy_cfg, (1, 3, 640, 640), str(tmp_path / 'plugin'))
    nms = [n for n in graph.graph.node if n.op_type == 'TRTBatchedNMS']
    assert len(nms) == 1 and non_native_ops(graph) == ['TRTBatchedNMS']
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nms[0].attribute}
    assert 0 < attrs['topk'] <= TRT_PLUGIN_PRE_TOP_K < 8400 + 1, attrs
    deploy_cfg.codebase_config.tensorrt_nms = 'plugin'
    with pytest.raises(ValueError, match='tensorrt_nms'):
        tensorrt_nms(deploy_cfg)


def test_the_native_op_list_refuses_foreign_ops():
    graph = onnx.helper.make_graph([onnx.helper.make_node('TRTBatchedNMS', ['a'], ['b']),
                                    onnx.helper.make_node('EfficientNMS_TRT', ['a'], ['c']),
                                    onnx.helper.make_node('Conv', ['a'], ['d'])], 'g', [], [])
    assert non_native_ops(onnx.helper.make_model(graph)) == ['TRTBatchedNMS']
    assert {'NonMaxSuppression', 'TopK', 'Conv', 'Sigmoid', 'Softmax', 'MatMul'} <= TRT10_NATIVE_OPS
    assert not {'NonMaxSuppressionV5', 'Unique', 'SequenceAt'} & TRT10_NATIVE_OPS


def test_plugin_library_error_is_one_line_naming_versions():
    """mmdeploy 1.3.1's libmmdeploy_tensorrt_ops.so links TensorRT 8 / CUDA 11; loading it here really fails."""
    try:
        import tensorrt  # noqa: F401
        pytest.skip('TensorRT is installed: the plugin library may load here')
    except ImportError:
        pass
    error = mmdeploy_trt_plugin_error()
    assert error is not None and '\n' not in error
    assert 'libnvinfer.so.8' in error and 'TensorRT 8 / CUDA 11.0' in error
    assert 'no TensorRT Python package' in error and f'CUDA {torch.version.cuda}' in error
    assert "tensorrt_nms='onnx'" in error and 'trtexec' in error


@pytest.mark.slow
def test_tensorrt_graph_runs_like_eager_in_onnxruntime(converted_yolo11n, data_dir, tmp_path):
    """The TensorRT config's graph (standard ops only), run by ONNX Runtime on CPU through our backend model,
    finds eager's people on bus.jpg (same people, 1 px, 1e-3): the graph is right, whatever runtime runs it."""
    from yolopose_mm.deploy.compare import compare_instances
    from yolopose_mm.deploy.pipeline import build_backend_model, run_backend, run_eager
    trt_cfg, model_cfg = load_configs(str(DEPLOY / TRT_CONFIGS[0][0]), MODEL_CFG)
    ort_cfg, _ = load_configs(str(DEPLOY / 'pose-detection_yolopose_onnxruntime_static-640x640.py'), MODEL_CFG)
    model = init_model(MODEL_CFG, str(converted_yolo11n))
    _export(model, trt_cfg, (1, 3, 640, 640), str(tmp_path / 'end2end'))
    backend = build_backend_model(ort_cfg, model_cfg, [str(tmp_path / 'end2end.onnx')])
    img = str(data_dir / 'images' / 'bus.jpg')
    eager = run_eager(model, trt_cfg, [img], 640, auto=False)[0].pred_instances
    graph = run_backend(backend, model_cfg, [img], 640, auto=False)[0].pred_instances
    diff = compare_instances(eager, graph)
    assert diff.num_a > 0 and diff.within(1.0, 1e-3), diff
