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
    # zero-area boxes (clipped at the border) have no IoU: coinciding ones still pair, distant ones do not
    flat = inst([[0, 5, 0, 40], [100, 20, 140, 20]], [0.7, 0.6])
    diff = compare_instances(flat, inst([[100, 20, 140, 20], [0, 5, 0, 40]], [0.6, 0.7], offset=0.25))
    assert diff.same_people and diff.pairs == ((0, 1), (1, 0)) and diff.box_px == pytest.approx(0.25)
    assert not compare_instances(flat, inst([[0, 50, 0, 90], [100, 20, 140, 20]], [0.7, 0.6])).same_people


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


# --- exported models as first-class: files, shapes, export records, INT8 settings (yolopose_mm.deploy.*) ------

def test_backend_files_finds_companions_and_refuses_others(tmp_path):
    from yolopose_mm.deploy.model_files import backend_files
    ov_cfg = Config(dict(backend_config=dict(type='openvino'), onnx_config=dict(type='onnx')))
    (tmp_path / 'm.xml').write_text('<net/>')
    with pytest.raises(FileNotFoundError, match=r'its \.bin file is missing'):
        backend_files(ov_cfg, str(tmp_path / 'm.xml'))
    (tmp_path / 'm.bin').write_bytes(b'')
    assert backend_files(ov_cfg, str(tmp_path)) == [str(tmp_path / 'm.xml'), str(tmp_path / 'm.bin')]
    (tmp_path / 'm.onnx').write_bytes(b'')
    with pytest.raises(ValueError, match=r'the deploy config is for openvino, whose model file ends with \.xml'):
        backend_files(ov_cfg, str(tmp_path / 'm.onnx'))
    with pytest.raises(FileNotFoundError, match='exported model not found'):
        backend_files(_deploy_cfg(), str(tmp_path / 'nope.onnx'))


@pytest.mark.parametrize('letterbox, sampler, ok', [(dict(input_size=(640, 640)), False, True),
                                                    (dict(input_size=(640, 640), rect=True), True, False),
                                                    (dict(input_size=640, auto=True), False, False),
                                                    (dict(input_size=(320, 320)), False, False)])
def test_check_test_shapes_and_square_protocol(letterbox, sampler, ok):
    from yolopose_mm.deploy.evaluate import check_test_shapes, square_test_protocol
    loader = dict(dataset=dict(pipeline=[dict(type='LoadImage'), dict(type='LetterBox', **letterbox)]))
    if sampler:
        loader.update(batch_sampler=dict(type='YOLORectBatchSampler'))
    cfg = Config(dict(test_dataloader=loader))
    check_test_shapes(cfg, (1, 3, None, None))  # a dynamic export takes anything
    if ok:
        check_test_shapes(cfg, (1, 3, 640, 640))
    else:
        with pytest.raises(ValueError, match=r'takes only 1x3x640x640 inputs.*tools/test\.py --square'):
            check_test_shapes(cfg, (1, 3, 640, 640))
    square_test_protocol(cfg, 640)
    check_test_shapes(cfg, (1, 3, 640, 640))
    assert 'batch_sampler' not in cfg.test_dataloader and not cfg.test_dataloader.dataset.pipeline[1].rect


@pytest.mark.parametrize('shape, expect', [([640, 640], (640, 640)), ([1280, 1280], (1280, 1280)),
                                           ([640, 384], (384, 640)), (None, (512, 672))])
def test_task_processor_feeds_static_exports_their_shape(shape, expect):
    """mmdeploy's create_input (export sample, inference_model) letterboxes to a static export's input shape, though
    the model config evaluates with the rectangular protocol (rect=True: a 480x640 image -> 512x672)."""
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import load_config
    from yolopose_mm.deploy.task_processor import YOLOPoseDetection, export_model_cfg
    model_cfg = load_config(os.path.join(REPO, 'configs', 'yolopose_n_coco8.py'))[0]
    assert model_cfg.test_dataloader.dataset.pipeline[1].rect
    deploy_cfg = Config.fromfile(os.path.join(REPO, 'configs', 'deploy', '_base_', 'pose-detection_yolopose.py'))
    deploy_cfg.backend_config = dict(type='onnxruntime')
    deploy_cfg.onnx_config.input_shape = shape
    if shape is None:
        deploy_cfg.onnx_config.dynamic_axes = dict(input={0: 'batch', 2: 'height', 3: 'width'})
    task = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    assert isinstance(task, YOLOPoseDetection)
    _, inputs = task.create_input(np.full((480, 640, 3), 114, np.uint8))
    assert tuple(inputs[0].shape[-2:]) == expect
    assert model_cfg.test_dataloader.dataset.pipeline[1].rect  # the caller's config is not changed
    other = Config(deploy_cfg.to_dict())  # another mmpose model's deploy config: mmdeploy's behaviour
    other.codebase_config.model_type = 'end2end'
    named_meta = export_model_cfg(model_cfg, None)  # (mmdeploy's own path cannot read metainfo='coco')
    _, inputs = build_task_processor(named_meta, other, 'cpu').create_input(np.full((480, 640, 3), 114, np.uint8))
    assert tuple(inputs[0].shape[-2:]) == (512, 672)


def test_export_metadata_roundtrip(tmp_path):
    from yolopose_mm.deploy.export_metadata import (export_metadata, graph_nms, read_onnx_metadata,
                                                    write_onnx_metadata)
    path = _export_tiny(tmp_path)
    model_cfg = Config(dict(model=dict(head=dict(num_keypoints=5, keypoint_dim=2, num_classes=2))))
    meta = export_metadata(_deploy_cfg(post_processing=dict(score_threshold=0.001)), model_cfg)
    write_onnx_metadata(path, meta)
    write_onnx_metadata(path, meta)  # replaces, does not repeat
    back = read_onnx_metadata(path)
    assert back == meta and back['num_keypoints'] == '5' and back['output_layout'] == 'dets_keypoints'
    assert graph_nms(back).score_thr == 0.001 and graph_nms(back).max_per_img == 300


def test_quantization_config_checks_and_fp32_nodes():
    from yolopose_mm.deploy.quantize import DECODE, POSTPROCESS, fp32_nodes, get_quantization_config
    assert get_quantization_config(Config(dict())) == {}
    assert get_quantization_config(Config(dict(quantization_config=dict(type='nncf'))))['keep_fp32'] == DECODE
    assert get_quantization_config(Config(dict(quantization_config=dict(type='onnxruntime'))))['keep_fp32'] == \
        POSTPROCESS
    with pytest.raises(ValueError, match='quantization_config.type must be one of'):
        get_quantization_config(Config(dict(quantization_config=dict(type='tflite'))))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['subset'\]"):
        get_quantization_config(Config(dict(quantization_config=dict(type='nncf', subset=3))))
    with pytest.raises(ValueError, match='not a regular expression'):
        get_quantization_config(Config(dict(quantization_config=dict(type='nncf', keep_fp32=['(']))))
    nodes = [('/backbone/stem/conv/Conv', 'Conv'), ('/head_module/kpt_branch.0/kpt_branch.0.2/Conv', 'Conv'),
             ('/head_module/kpt_branch.1/kpt_branch.1.1/conv/Conv', 'Conv'),
             ('/head_module/cls_branch.2/cls_branch.2.0/cls_branch.2.0.1/act/Sigmoid', 'Sigmoid'),
             ('/head_module/Concat_9', 'Concat'), ('/Softmax', 'Softmax'), ('/MatMul', 'MatMul'),
             ('NonMaxSuppression_12', 'NonMaxSuppression'), ('/neck/Concat', 'Concat')]
    assert fp32_nodes(nodes, POSTPROCESS, ()) == ['/head_module/kpt_branch.0/kpt_branch.0.2/Conv',
                                                  '/head_module/Concat_9', '/Softmax', '/MatMul',
                                                  'NonMaxSuppression_12']
    assert fp32_nodes(nodes, DECODE, ()) == ['/head_module/Concat_9', '/Softmax', '/MatMul', 'NonMaxSuppression_12']
    assert fp32_nodes(nodes, (), ('Concat',)) == ['/head_module/Concat_9', '/neck/Concat']


def test_calibration_images_from_config_and_lists(tmp_path):
    data = os.environ.get('YOLOPOSE_DATA', os.path.join(REPO, '..', 'shared', 'data'))
    if not os.path.isdir(os.path.join(data, 'coco8-pose')):
        pytest.skip(f'real test data not found at {data}')
    from yolopose_mm.deploy.calibration import CalibrationInputs, calibration_images
    cfg = Config.fromfile(os.path.join(REPO, 'configs', 'yolopose_n_coco8.py'))
    val = calibration_images(cfg, dict(split='val'))
    assert len(val) == 4 and all('/val/' in p for p in val)
    both = calibration_images(cfg, dict(images=[os.path.join(data, 'coco8-pose', 'images'),
                                                os.path.join(data, 'images', '*.jpg')], num_images=5))
    assert len(both) == 5 and both[0].endswith('.jpg') and both[-1].endswith('zidane.jpg')
    with pytest.raises(FileNotFoundError, match='calibration image not found'):
        calibration_images(cfg, dict(images=[str(tmp_path / 'none.jpg')]))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['subset_size'\]"):
        calibration_images(cfg, dict(subset_size=3))
    inputs = list(CalibrationInputs(cfg, val[:2], (320, 320)))
    assert len(inputs) == 2 and inputs[0].shape == (1, 3, 320, 320) and inputs[0].dtype == np.float32
    assert 0.0 <= inputs[0].min() and inputs[0].max() <= 1.0


def test_backend_device_defaults():
    """tools/demo.py passes --device None (= the default device): the CPU runtimes stay on the CPU, TensorRT cuda:0."""
    from yolopose_mm.deploy.evaluate import backend_device
    assert backend_device(_deploy_cfg(), None) == 'cpu'
    assert backend_device(_deploy_cfg(), 'cuda:1') == 'cuda:1'
    trt = _deploy_cfg()
    trt.backend_config = dict(type='tensorrt')
    assert backend_device(trt, None) == 'cuda:0'


def _rect_batch(data_dir):
    """Two real images through the config's rect val pipeline (LetterBox rect=True, marked samples)."""
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile('configs/yolopose_n_coco_sample.py')
    init_default_scope('mmpose')
    pipe = Compose(cfg.test_dataloader.dataset.pipeline)
    imgs = [data_dir / 'images' / 'bus.jpg', data_dir / 'images' / 'zidane.jpg']
    return cfg, pseudo_collate([pipe(dict(img_path=str(p), id=i, img_id=i)) for i, p in enumerate(imgs)])


def test_uint8_preprocessor_batches_like_the_model_preprocessor(data_dir):
    """The folded path's host side: the same batch as YOLOPoseDataPreprocessor's, as uint8 BGR (graph normalises)."""
    import copy

    from mmpose.registry import MODELS

    from yolopose_mm.deploy.folded_input import UInt8InputPreprocessor, foldable_normalization
    cfg, data = _rect_batch(data_dir)
    pre = MODELS.build(copy.deepcopy(cfg.model.data_preprocessor))
    fold = foldable_normalization(pre)
    assert fold == dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True,
                        pad_value=round(pre.pad_value * 255), pad_size_divisor=fold['pad_size_divisor'])
    ref = pre(copy.deepcopy(data), False)
    out = UInt8InputPreprocessor(fold['pad_size_divisor'], fold['pad_value'])(copy.deepcopy(data), False)
    assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape == ref['inputs'].shape
    assert out['inputs'].shape[2:] != data['inputs'][0].shape[1:] or out['inputs'].shape[2:] != \
        data['inputs'][1].shape[1:], 'the batch should need yolo val re-padding; the comparison would be vacuous'
    assert torch.allclose(out['inputs'][:, [2, 1, 0]].float() / 255, ref['inputs'], atol=1e-6)
    for a, b in zip(out['data_samples'], ref['data_samples']):
        assert np.allclose(a.metainfo['input_center'], b.metainfo['input_center'])
    with pytest.raises(ValueError, match='takes uint8 .*fold_preprocessing=False'):
        UInt8InputPreprocessor()(dict(inputs=[torch.zeros(3, 8, 8)], data_samples=None), False)
    # not foldable: a pad value that is no pixel value, batch augments
    odd = MODELS.build({**cfg.model.data_preprocessor, 'pad_value': 0.5 / 255})
    assert foldable_normalization(odd) is None
    odd.batch_augments = [torch.nn.Identity()]
    assert foldable_normalization(odd) is None


def test_openvino_wrapper_folds_normalisation_into_the_graph(tmp_path):
    """uint8 BGR into the folded graph == float RGB / 255 into the plain one; float into the folded one: refused."""
    pytest.importorskip('openvino', reason='openvino is not installed')
    from yolopose_mm.deploy.backends.openvino import OpenVINOWrapper, onnx_to_openvino
    xml = onnx_to_openvino(_export_tiny(tmp_path), str(tmp_path / 'ov'))
    plain = OpenVINOWrapper(xml, ['out'])
    folded = OpenVINOWrapper(xml, ['out'], dict(mean=[0.0] * 3, std=[255.0] * 3, bgr_to_rgb=True))
    assert (plain.input_dtype, folded.input_dtype) == (torch.float32, torch.uint8)
    img = torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8)
    a = plain({'input': img[:, [2, 1, 0]].float() / 255})['out']
    b = folded({'input': img})['out']
    assert a.abs().max() > 0 and torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match='takes uint8 BGR images'):
        folded({'input': img.float()})
    dynamic = tmp_path / 'dyn'
    from mmdeploy.apis.onnx import export
    export(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)).eval(), torch.rand(1, 3, 8, 8), str(dynamic),
           backend='onnxruntime', context_info={'cfg': _deploy_cfg()}, input_names=['input'], output_names=['out'],
           opset_version=13, dynamic_axes={'input': {2: 'h', 3: 'w'}})
    xml = onnx_to_openvino(str(dynamic) + '.onnx', str(tmp_path / 'ov_dyn'))
    assert OpenVINOWrapper(xml, ['out'], dict(mean=[0.0], std=[255.0])).input_dtype == torch.float32


def test_openvino_wrapper_inference_precision(tmp_path):
    """The precision hint reaches the compiled model (f32 by default, the plugin's own choice with None); a bad
    value is one clear error."""
    pytest.importorskip('openvino', reason='openvino is not installed')
    from yolopose_mm.deploy.backends.openvino import OpenVINOWrapper, onnx_to_openvino
    xml = onnx_to_openvino(_export_tiny(tmp_path), str(tmp_path / 'ov'))
    import openvino as ov
    hint = lambda w: w.compiled.get_property('INFERENCE_PRECISION_HINT')  # noqa: E731
    assert hint(OpenVINOWrapper(xml, ['out'])) == ov.Type.f32
    plugin_default = ov.Core().get_property('CPU', 'INFERENCE_PRECISION_HINT')
    assert hint(OpenVINOWrapper(xml, ['out'], inference_precision=None)) == plugin_default
    with pytest.raises(ValueError, match=r"inference_precision must be one of \['f32', 'bf16', 'f16', None\]"):
        OpenVINOWrapper(xml, ['out'], inference_precision='int8')
