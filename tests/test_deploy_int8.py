# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""INT8 post-training quantization (OpenVINO through NNCF, ONNX Runtime QDQ) of the converted yolo11n-pose.

Calibrated on the 4 coco8-pose train images, evaluated on the 4 val images with ``tools/test.py --deploy-cfg``:
the graphs hold INT8 operations, nothing of the decode / NMS reads a quantized tensor, the head's raw outputs stay
fp32 (OpenVINO: the last convolutions read int8 inputs, write fp32; ONNX Runtime: they run in fp32), and keypoint /
box AP stay near fp32's (a loose bound: 4 images make
AP noisy; the benchmark in the README measures the drop).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / 'configs' / 'deploy'
CONFIG = 'configs/yolopose_n_coco8.py'
OV_INT8 = str(DEPLOY / 'pose-detection_yolopose_openvino-int8_static-640x640.py')
ORT_INT8 = str(DEPLOY / 'pose-detection_yolopose_onnxruntime-int8_static-640x640.py')
OV_FP32 = str(DEPLOY / 'pose-detection_yolopose_openvino_static-640x640.py')

pytestmark = pytest.mark.slow


def _test(model, work_dir: Path, deploy_cfg: str) -> Dict[str, float]:
    """tools/test.py --square in a new process (see tests/test_deploy_eval.py: in-process runtimes, later SIGSEGV)."""
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), CONFIG, str(model), '--work-dir',
                           str(work_dir), '--deploy-cfg', deploy_cfg, '--square'], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((work_dir / 'metrics.json').read_text())


@pytest.fixture(scope='module')
def quantized(converted_yolo11n, data_dir, tmp_path_factory):
    """One fp32 export (NMS at the config's test_cfg), its OpenVINO IR, both INT8 models, and their metrics."""
    pytest.importorskip('openvino', reason='openvino is not installed')
    pytest.importorskip('nncf', reason='nncf is not installed')
    from yolopose_mm.deploy.evaluate import export_for_evaluation
    from yolopose_mm.deploy.pipeline import load_configs
    from yolopose_mm.deploy.quantize import quantize_backend
    root = tmp_path_factory.mktemp('int8')
    deploy, model_cfg = load_configs(OV_INT8, str(REPO / CONFIG))
    deploy.quantization_config.calibration.split = 'train'
    deploy, ov_int8 = export_for_evaluation(deploy, model_cfg, str(converted_yolo11n), str(root))
    ort_deploy, _ = load_configs(ORT_INT8, str(REPO / CONFIG))
    ort_deploy.quantization_config.calibration.split = 'train'
    ort_int8 = quantize_backend(ort_deploy, model_cfg, [str(root / 'end2end.onnx')], str(root))
    return dict(files=dict(ov=ov_int8, ort=ort_int8, fp32_xml=str(root / 'end2end.xml')),
                fp32=_test(root / 'end2end.xml', root / 'ev_fp32', OV_FP32),
                ov=_test(ov_int8[0], root / 'ev_ov', OV_INT8),
                ort=_test(ort_int8[0], root / 'ev_ort', ORT_INT8))


def _post_nodes_of_ov(xml: str):
    import openvino as ov

    from yolopose_mm.deploy.quantize import DECODE, fp32_nodes
    model = ov.Core().read_model(xml)
    ops = model.get_ordered_ops()
    keep = set(fp32_nodes([(op.get_friendly_name(), op.get_type_name()) for op in ops], DECODE, ()))
    return ops, keep


def test_openvino_int8_graph_keeps_postprocessing_fp32(quantized):
    ops, keep = _post_nodes_of_ov(quantized['files']['ov'][0])
    fq = [op for op in ops if op.get_type_name() == 'FakeQuantize']
    assert len(fq) > 50, f'only {len(fq)} FakeQuantize ops: the model is hardly quantized'
    fed = sorted({t.get_node().get_friendly_name() for op in fq for out in op.outputs()
                  for t in out.get_target_inputs()} & keep)
    assert not fed, f'fp32 nodes reading quantized tensors: {fed[:5]}'
    assert any(op.get_type_name() == 'NonMaxSuppression' and op.get_friendly_name() in keep for op in ops)
    # the head branches' last 1x1 convolutions (box, cls, kpt x 3 levels) read int8 activations
    last = [op for op in ops if op.get_type_name() == 'Convolution' and
            re.search(r'/head_module/\w+_branch\.\d/\w+_branch\.\d\.2/', op.get_friendly_name())]
    assert len(last) == 9 and all(op.input_value(0).get_node().get_type_name() == 'FakeQuantize' for op in last)


def test_onnxruntime_int8_graph_keeps_postprocessing_fp32(quantized):
    import onnx

    from yolopose_mm.deploy.export_metadata import read_onnx_metadata
    from yolopose_mm.deploy.quantize import POSTPROCESS, fp32_nodes
    path = quantized['files']['ort'][0]
    graph = onnx.load(path).graph
    producers = {o: n for n in graph.node for o in n.output}
    keep = fp32_nodes([(n.name, n.op_type) for n in graph.node if n.op_type not in ('QuantizeLinear',
                                                                                    'DequantizeLinear')],
                      POSTPROCESS, ())
    nodes = {n.name: n for n in graph.node}
    weights = {init.name for init in graph.initializer}
    # the decode / NMS read no quantized activation; the head's last convolutions run in fp32 (their input is the
    # previous layer's quantized activation, as for every convolution) and their outputs are never quantized
    fed = [name for name in keep if nodes[name].op_type != 'Conv' for i in nodes[name].input
           if i in producers and producers[i].op_type == 'DequantizeLinear' and producers[i].input[0] not in weights]
    assert not fed, f'fp32 nodes reading quantized activations: {fed[:5]}'
    convs = [nodes[name] for name in keep if nodes[name].op_type == 'Conv']
    assert len(convs) == 9, [c.name for c in convs]  # box, cls, kpt x 3 levels
    quantized_out = [c.name for c in convs for n in graph.node if n.op_type == 'QuantizeLinear' and
                     n.input[0] in c.output]
    assert not quantized_out, f'raw head outputs quantized: {quantized_out[:5]}'
    assert sum(n.op_type == 'QuantizeLinear' for n in graph.node) > 50
    meta = read_onnx_metadata(path)
    assert meta['precision'] == 'int8' and json.loads(meta['post_processing'])['score_threshold'] == 0.001


# Bounds that catch a broken quantization (AP near 0), not a measurement: on 4 images one person's keypoints move AP
# by ~0.05. Measured on this machine (2026-12-01): ORT QDQ (MinMax, 4 calibration images) keypoint AP 0.2976 vs fp32
# 0.3543; the README's table (benchmark_formats.py) gives the drops on more calibration images.
@pytest.mark.parametrize('which, bound', [('ov', 0.05), ('ort', 0.08)])
def test_int8_ap_near_fp32(quantized, which, bound):
    fp32, int8 = quantized['fp32'], quantized[which]
    assert fp32['coco/AP'] > 0.3
    for key in ('coco/AP', 'coco/bbox_AP'):
        assert abs(int8[key] - fp32[key]) <= bound, f'{which} INT8 {key} {int8[key]:.4f} vs fp32 {fp32[key]:.4f}'
