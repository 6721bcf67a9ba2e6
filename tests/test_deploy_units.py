# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Fast unit tests of yolopose_mm.deploy: torch 2.14 export fixes, graph NMS, layouts, comparison, errors."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

pytest.importorskip('mmdeploy', reason='mmdeploy is not installed')

import yolopose_mm.deploy  # noqa: E402,F401  (registers the rewriters)
from yolopose_mm.deploy.compare import compare_instances, format_side_by_side  # noqa: E402
from yolopose_mm.deploy.graph_nms import best_class_scores, onnx_graph_nms  # noqa: E402
from yolopose_mm.deploy.layouts import (from_ultralytics, get_layout, get_nms_params,  # noqa: E402
                                        to_ultralytics)
from yolopose_mm.models.utils.decode import DecodedPose  # noqa: E402
from yolopose_mm.models.utils.nms import filter_and_nms  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _deploy_cfg(**codebase) -> Config:
    return Config(dict(onnx_config=dict(type='onnx', opset_version=13, input_names=['input'],
                                        output_names=['out'], input_shape=None),
                       codebase_config=dict(type='mmpose', task='PoseDetection', **codebase),
                       backend_config=dict(type='onnxruntime')))


def _export_tiny(tmp_path, context_info=None) -> str:
    from mmdeploy.apis.onnx import export
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    prefix = str(tmp_path / 'tiny')
    export(model, torch.rand(1, 3, 8, 8), prefix, backend='onnxruntime',
           context_info={'cfg': _deploy_cfg(), **(context_info or {})}, input_names=['input'],
           output_names=['out'], opset_version=13)
    return prefix + '.onnx'


def test_export_uses_torchscript_exporter(tmp_path):
    """Fix 1: without `dynamo=False` torch 2.14's export fails inside mmdeploy ("No module named 'onnxscript'")."""
    import onnx
    import onnxruntime as ort
    path = _export_tiny(tmp_path)
    onnx.checker.check_model(onnx.load(path))
    x = np.random.rand(1, 3, 8, 8).astype(np.float32)
    out = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(None, {'input': x})[0]
    assert out.shape == (1, 4, 6, 6)


def test_mmdeploy_model_to_graph_hook_fires(tmp_path):
    """mmdeploy's rewrite of torch.onnx.utils._model_to_graph (its ONNX passes) still runs once per export.

    torch 2.14 moved the function to torch.onnx._internal.torchscript_exporter.utils; the rewrite reaches it because
    both names are one object (see yolopose_mm/deploy/torch_compat.py). Fails if a torch update breaks that.
    """
    from torch.onnx import utils as public_utils
    from torch.onnx._internal.torchscript_exporter import utils as exporter_utils
    assert public_utils._model_to_graph is exporter_utils._model_to_graph
    calls = []

    def recording_pass(ctx, graph, params_dict, torch_out):
        calls.append(sum(1 for _ in graph.nodes()))
        return graph, params_dict, torch_out

    _export_tiny(tmp_path, {'onnx_custom_passes': recording_pass})
    assert len(calls) == 1 and calls[0] > 0


def test_export_outside_mmdeploy_untouched():
    """The fixes are mmdeploy rewriters: outside its RewriterContext torch.onnx.export is torch's own."""
    from yolopose_mm.deploy.torch_compat import onnx_export__torchscript
    assert torch.onnx.export is not onnx_export__torchscript
    assert torch.onnx.export.__module__ == 'torch.onnx'


def test_graph_nms_matches_eager_filter_and_nms():
    """The in-graph NMS (run eagerly through mmdeploy's ONNXNMSop) keeps exactly what eager predict keeps."""
    g = torch.Generator().manual_seed(0)
    b, n, c = 2, 200, 3
    xy = torch.rand(b, n, 2, generator=g) * 100
    bboxes = torch.cat((xy, xy + 5 + torch.rand(b, n, 2, generator=g) * 30), -1)
    scores = torch.rand(b, n, c, generator=g)
    kept = onnx_graph_nms(bboxes, scores, 0.3, 0.5, 20)
    for i in range(b):
        ref = filter_and_nms(bboxes[i], scores[i], 0.3, 0.5, 20)
        valid = kept.scores[i] > 0
        assert int(valid.sum()) == len(ref.indices)
        assert torch.equal(kept.indices[i][valid], ref.indices)
        assert torch.allclose(kept.scores[i][valid], ref.scores)


def test_graph_nms_no_detections_gives_padding_row():
    bboxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0]]])
    kept = onnx_graph_nms(bboxes, torch.tensor([[[0.1]]]), 0.5, 0.5, 10)
    assert kept.indices.shape == (1, 1) and float(kept.scores[0, 0]) == 0.0


def test_best_class_scores_masks_other_classes():
    scores = torch.tensor([[[0.2, 0.7, 0.1], [0.9, 0.3, 0.95]]])
    assert torch.equal(best_class_scores(scores), torch.tensor([[[0.0, 0.7, 0.0], [0.0, 0.0, 0.95]]]))


@pytest.mark.parametrize('dim', [2, 3])
def test_ultralytics_layout_roundtrip(dim):
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(2, 7, 2, generator=g) * 50
    decoded = DecodedPose(torch.cat((xy, xy + 10), -1), torch.rand(2, 7, 2, generator=g),
                          torch.rand(2, 7, 5, 2, generator=g) * 60,
                          torch.rand(2, 7, 5, generator=g) if dim == 3 else torch.ones(2, 7, 5))
    raw = to_ultralytics(decoded, dim)
    assert raw.shape == (2, 4 + 2 + 5 * dim, 7)
    assert torch.allclose(raw[:, 2], decoded.bboxes[..., 2] - decoded.bboxes[..., 0])  # width row
    back = from_ultralytics(raw, 2, 5, dim)
    for a, b in zip(back, decoded):
        assert torch.allclose(a, b, atol=1e-5)


def test_layout_and_nms_errors():
    with pytest.raises(ValueError, match='output_layout'):
        get_layout(_deploy_cfg(output_layout='yolo'))
    with pytest.raises(ValueError, match='iou_threshold'):
        get_nms_params(_deploy_cfg(post_processing=dict(iou_threshold=1.5)))
    with pytest.raises(ValueError, match=r'expected \(B, 57, N\)'):
        from_ultralytics(torch.zeros(1, 56, 10), 2, 17, 3)
    assert get_nms_params(_deploy_cfg()).score_thr == 0.25


def test_compare_instances_matches_by_iou_and_measures():
    def inst(boxes, scores, offset=0.0):
        boxes = np.asarray(boxes, np.float32)
        kpts = np.stack([boxes[:, :2] + offset] * 3, 1)
        return InstanceData(bboxes=boxes + offset, bbox_scores=np.asarray(scores, np.float32), keypoints=kpts,
                            keypoint_scores=np.full((len(boxes), 3), 0.5, np.float32))

    a = inst([[0, 0, 10, 10], [50, 50, 80, 90]], [0.9, 0.8])
    b = inst([[50, 50, 80, 90], [0, 0, 10, 10]], [0.8, 0.9], offset=0.25)
    diff = compare_instances(a, b)
    assert diff.same_people and diff.pairs == ((0, 1), (1, 0))
    assert diff.box_px == pytest.approx(0.25) and diff.kpt_px == pytest.approx(0.25) and diff.score == 0
    assert diff.within(px=0.5) and not diff.within(px=0.1)
    assert 'largest differences' in format_side_by_side(a, b, diff)
    missing = compare_instances(a, inst([[0, 0, 10, 10]], [0.9]))
    assert not missing.same_people and not missing.within()


def test_deploy_configs_load_and_name_their_outputs():
    from mmdeploy.utils import get_backend, get_ir_config
    from yolopose_mm.deploy.layouts import OUTPUT_NAMES
    cfg_dir = os.path.join(REPO, 'configs', 'deploy')
    names = sorted(f for f in os.listdir(cfg_dir) if f.endswith('.py'))
    backends = set()
    for name in names:
        cfg = Config.fromfile(os.path.join(cfg_dir, name))
        assert tuple(get_ir_config(cfg)['output_names']) == OUTPUT_NAMES[get_layout(cfg)], name
        assert cfg.codebase_config.model_type == 'yolopose_end2end', name
        backends.add(get_backend(cfg).value)
    assert backends == {'onnxruntime', 'openvino', 'ncnn', 'tensorrt'}


def test_backend_model_rejects_mismatched_output_names(tmp_path):
    from mmdeploy.utils import Backend
    from yolopose_mm.deploy.backend_model import YOLOPoseEnd2EndModel
    model_cfg = Config.fromfile(os.path.join(REPO, 'configs', 'yolopose_n_coco.py'))
    deploy_cfg = _deploy_cfg(output_layout='dets_keypoints')  # output_names=['out'] does not fit the layout
    with pytest.raises(ValueError, match=r"output_names must be \['dets', 'keypoints'\]"):
        YOLOPoseEnd2EndModel(Backend.ONNXRUNTIME, [str(tmp_path / 'x.onnx')], 'cpu', deploy_cfg, model_cfg)


def test_deploy_tool_reports_missing_file(capsys):
    import sys
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    from deploy import main
    assert main(['nope.py', 'configs/yolopose_n_coco.py', 'x.pth', 'bus.jpg']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: file not found: nope.py']
