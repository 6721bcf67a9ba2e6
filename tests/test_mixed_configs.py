# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Mixed OpenMMLab configs (configs/mixed/): build, train a few iterations with tools/train.py on coco8-pose,
evaluate with tools/test.py; and the channel contract errors a user meets when wiring parts together."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmpose.structures import PoseDataSample

import yolopose_mm  # noqa: F401  (registers our modules)
from tool_runner import run_tool

REPO = Path(__file__).resolve().parents[1]
MIXED = REPO / 'configs' / 'mixed'
# config -> metric keys its evaluator must report (ours: YOLOPoseMetric; mmpose's: CocoMetric)
CONFIGS = {
    'cspnext-pafpn_yolo-pose-head_coco8.py': ('coco/AP', 'yolo/mAP50-95(P)'),
    'yolo11-n-pafpn_yoloxpose-head_coco8.py': ('coco/AP', 'yolo/mAP50-95(P)'),
    'yoloxpose-tiny_coco8.py': ('coco/AP', 'yolo/mAP50-95(P)'),
    'yolo11-pose-n_coco8_cocometric.py': ('coco/AP', 'coco/AR'),
}
# one epoch of 2 iterations; no validation inside training (tools/test.py evaluates afterwards)
FAST = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def _run(tool: str, *args: str, data_dir: Path) -> str:
    return run_tool(tool, *args, data_dir=data_dir, timeout=900, cwd=REPO, OMP_NUM_THREADS='2')


def _build(config: Path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    cfg = Config.fromfile(str(config))
    init_default_scope('mmpose')
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_mixed_config_builds_and_predicts(name):
    cfg, model = _build(MIXED / name)
    assert cfg.default_scope == 'mmpose'
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.rand(1, 3, 128, 128))
    assert len(feats) == 3 and [f.shape[-1] for f in feats] == [16, 8, 4]  # strides 8, 16, 32
    sample = PoseDataSample()
    sample.set_metainfo(dict(input_size=(128, 128), input_center=np.array([64.0, 64.0]),
                             input_scale=np.array([128.0, 128.0]), ori_shape=(128, 128), img_shape=(128, 128)))
    with torch.no_grad():
        out = model.test_step(dict(inputs=[torch.randint(0, 255, (3, 128, 128), dtype=torch.uint8)],
                                   data_samples=[sample]))
    pred = out[0].pred_instances
    assert pred.keypoints.shape[1:] == (17, 2) and pred.keypoint_scores.shape[1:] == (17,)
    assert len(pred.bboxes) == len(pred.bbox_scores) == len(pred.keypoints)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_mixed_config_trains_and_tests(name, tmp_path, data_dir):
    config = str(MIXED / name)
    log = _run('train.py', config, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *FAST, data_dir=data_dir)
    losses = [float(line.split(' loss: ')[1].split()[0]) for line in log.splitlines() if 'Epoch(train)' in line]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses))), losses  # 4 images / batch 2
    ckpt = tmp_path / 'train' / 'epoch_1.pth'
    assert ckpt.is_file()
    _run('test.py', config, str(ckpt), '--work-dir', str(tmp_path / 'test'), data_dir=data_dir)
    metrics = json.loads((tmp_path / 'test' / 'metrics.json').read_text())
    for key in CONFIGS[name]:
        assert key in metrics and 0.0 <= metrics[key] <= 1.0, (key, metrics)


def test_neck_common_width_feeds_a_single_width_head():
    from yolopose_mm.models.necks import YOLOPAFPN
    neck = YOLOPAFPN('11', 'n', out_channels=96)
    outs = neck([torch.rand(1, c, 32 // 2 ** i, 32 // 2 ** i) for i, c in enumerate(neck.in_channels)])
    assert neck.out_channels == (96, 96, 96) and [o.shape[1] for o in outs] == [96, 96, 96]
    assert YOLOPAFPN('11', 'n').out_channels == (64, 128, 256)  # default layout unchanged (converter keys)
    with pytest.raises(ValueError, match='out_channels must be one positive int'):
        YOLOPAFPN('11', 'n', out_channels=[96, 96, 96])


def test_head_reports_a_channel_mismatch_with_the_fix(tmp_path):
    cfg, _ = _build(MIXED / 'cspnext-pafpn_yolo-pose-head_coco8.py')
    from mmpose.registry import MODELS
    cfg.model.head.in_channels = [64, 64, 64]  # wrong: CSPNeXtPAFPN(out_channels=None) keeps 64, 128, 256
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad(), pytest.raises(ValueError, match="128 channels, expected 64; set the head's in_channels"):
        model.head.forward(model.extract_feat(torch.rand(1, 3, 64, 64)))


@pytest.mark.slow
def test_mmpose_cocometric_equals_our_metric_on_the_real_model(tmp_path, data_dir, converted_yolo11n):
    """mmpose's CocoMetric (GT from our dataset's raw_ann_info and CLASSES) scores our predictions exactly as
    YOLOPoseMetric's COCO-official family does."""
    aps = []
    for config in (MIXED / 'yolo11-pose-n_coco8_cocometric.py', REPO / 'configs' / 'yolopose_n_coco8.py'):
        work = tmp_path / config.stem
        _run('test.py', str(config), str(converted_yolo11n), '--work-dir', str(work), data_dir=data_dir)
        aps.append(json.loads((work / 'metrics.json').read_text())['coco/AP'])
    assert aps[0] > 0.3 and aps[0] == pytest.approx(aps[1], abs=1e-9), aps


def test_head_reports_a_stride_mismatch_with_the_fix():
    """CSPNeXt stages 1-3 have strides 4, 8, 16, the head is told 8, 16, 32: refused, not decoded wrongly."""
    cfg, _ = _build(MIXED / 'cspnext-pafpn_yolo-pose-head_coco8.py')
    from mmpose.registry import MODELS
    cfg.model.backbone.out_indices = (1, 2, 3)
    cfg.model.neck.in_channels = [32, 64, 128]
    cfg.model.head.in_channels = [32, 64, 128]
    model = MODELS.build(cfg.model).eval()
    sample = PoseDataSample()
    sample.set_metainfo(dict(input_size=(64, 64), input_center=np.array([32.0, 32.0]),
                             input_scale=np.array([64.0, 64.0]), ori_shape=(64, 64), img_shape=(64, 64)))
    batch = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)], data_samples=[sample])
    with torch.no_grad(), pytest.raises(ValueError, match=r'level 0 is 16x16 for a 64x64 input \(stride 4\), '
                                                          r'but featmap_strides says 8; set head.featmap_strides'):
        model.test_step(batch)
