# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLOv8-pose-p6 (four levels, strides 8-64) and YOLO12-pose (area attention) against Ultralytics 8.4.190.

Random weights with randomised BatchNorm statistics, converted from an Ultralytics checkpoint by our converter:
parameter counts, FLOPs, raw and decoded outputs, loss terms and head gradients on coco8-pose, and the whole
predict path of a converted checkpoint.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from test_loss_parity import _batch, _compare, _people_from_coco8
from test_params_flops import _UltralyticsDecoded
from test_parity_random_init import _close, _forward, _network
from ultralytics_reference import (build_ultralytics_pose, randomize_batchnorm, save_ultralytics_checkpoint,
                                   ultralytics_raw)
from yolopose_mm.analysis import PoseNetworkForFlops, count_flops, count_parameters
from yolopose_mm.converters import build_pose_network, convert_ultralytics_checkpoint

CASES = [(v, s) for v in ('v8-p6', '12') for s in ('n', 's', 'm', 'l', 'x')]
# Ultralytics' PoseModel(yaml, nc=1) totals as the issue states them; the others are compared with a fresh build
STATED = {('v8-p6', 'n'): 5_182_152, ('v8-p6', 'x'): 99_182_640, ('12', 'n'): 2_852_670, ('12', 'x'): 61_043_244}
# The sizes for n; one smaller input for the larger scales (every level still at least 3 cells wide).
SIZES = {
    ('v8-p6', 'n'): [(1280, 1280), (768, 1280)], ('v8-p6', 's'): [(384, 640)], ('v8-p6', 'm'): [(256, 384)],
    ('v8-p6', 'l'): [(192, 320)], ('v8-p6', 'x'): [(192, 320)],
    ('12', 'n'): [(640, 640), (384, 640)], ('12', 's'): [(384, 640)], ('12', 'm'): [(256, 384)],
    ('12', 'l'): [(192, 320)], ('12', 'x'): [(192, 320)],
}
FLOPS_SIZE = 320  # the FLOP ratio does not depend on the size; tracing costs the same at any size


@pytest.mark.parametrize('version,scale', CASES)
def test_params_outputs_and_flops_match(version, scale, tmp_path, ultralytics):
    ref, ours = _network(version, scale, tmp_path)  # asserts the converter detects the family and scale
    total = sum(p.numel() for p in ref.parameters())
    assert count_parameters(ours) == total == STATED.get((version, scale), total)
    assert count_parameters(ours, trainable_only=True) == total - 16  # the frozen DFL projection
    levels = 4 if version == 'v8-p6' else 3
    torch.manual_seed(1)
    for h, w in SIZES[version, scale]:
        x = torch.rand(1, 3, h, w)
        y, preds = ultralytics_raw(ref, x)
        raw, dec = _forward(ours, x)
        assert len(raw.featmap_sizes) == levels and raw.featmap_sizes[-1] == (h // 8 // 2 ** (levels - 1),
                                                                             w // 8 // 2 ** (levels - 1))
        _close(raw.box_logits, preds['boxes'])
        _close(raw.cls_logits, preds['scores'])
        _close(raw.kpt_raw, preds['kpts'])
        cx, cy, bw, bh = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
        _close(dec.bboxes, torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), -1))
        _close(dec.scores[..., 0], y[:, 4])
        ref_k = y[:, 5:].view(1, 17, 3, -1).permute(0, 3, 1, 2)
        _close(dec.keypoints, ref_k[..., :2])
        _close(dec.keypoint_scores, ref_k[..., 2])
    # every scale (measured ratios ours/theirs - 1: -1e-5 to -3e-5); 2-5 s of tracing each, whatever the size
    ref_flops = count_flops(_UltralyticsDecoded(ref), (FLOPS_SIZE, FLOPS_SIZE))
    our_flops = count_flops(PoseNetworkForFlops(ours), (FLOPS_SIZE, FLOPS_SIZE))
    assert abs(our_flops - ref_flops) / ref_flops < 0.01, (our_flops, ref_flops)


def test_inference_optimized_yolo12_matches(tmp_path, ultralytics):
    """YOLO12-n BatchNorm folded and channels-last (lean conv forward, token-major area attention: what
    ``init_model(optimize=True)`` runs) against Ultralytics' unfused model at 640."""
    from yolopose_mm.apis.optimize import optimize_for_inference
    ref, ours = _network('12', 'n', tmp_path)
    optimize_for_inference(ours)
    x = torch.rand(1, 3, 640, 640, generator=torch.Generator().manual_seed(2))
    y, preds = ultralytics_raw(ref, x)
    raw, dec = _forward(ours, x)
    _close(raw.box_logits, preds['boxes'])
    _close(raw.cls_logits, preds['scores'])
    _close(raw.kpt_raw, preds['kpts'])
    _close(dec.scores[..., 0], y[:, 4])


@pytest.mark.parametrize('version,size', [('v8-p6', 384), ('12', 320)])
def test_loss_terms_and_head_gradients_on_coco8(version, size, tmp_path, data_dir, ultralytics):
    """v8PoseLoss vs our head loss on the four coco8-pose train images (four levels for P6), plus an image with
    nobody and a person without labelled keypoints."""
    ref = randomize_batchnorm(build_ultralytics_pose(version, 'n'), seed=2).eval()
    for p in ref.parameters():
        p.requires_grad_(True)
    ref.model[-1].dfl.conv.weight.requires_grad_(False)
    path = save_ultralytics_checkpoint(ref, tmp_path / 'ref.pt')
    converted, arch = convert_ultralytics_checkpoint(str(path))
    ours = build_pose_network(arch)
    ours.load_state_dict(converted['state_dict'])
    ours.eval()
    assert len(ours.head.featmap_strides) == (4 if version == 'v8-p6' else 3)
    x, people, sigmas = _people_from_coco8(data_dir, size)
    people[1] = []
    box, kp = people[2][0]
    people[2][0] = (box, np.zeros_like(kp))
    batch, samples = _batch(people, size, 17, 3)
    losses = _compare(ref, ours, x, batch, samples, sigmas)
    assert all(v.item() > 0 for v in losses.values())


def _calibrated_reference(version: str, images, shift: float) -> torch.nn.Module:
    """A random-weight Ultralytics model whose BatchNorm statistics are measured on real images.

    With the default statistics the features of a random network hardly vary across the image and every box gets
    the same score; measured statistics give input-dependent features and distinct scores. The class bias is then
    raised by ``shift`` so that a few dozen boxes pass the 0.25 threshold.
    """
    torch.manual_seed(0)  # the weights: PyTorch's default init draws from the global generator
    ref = randomize_batchnorm(build_ultralytics_pose(version, 'n'), seed=5)
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
    ref.train()
    with torch.no_grad():
        ref(images)
        for branch in ref.model[-1].cv3:
            branch[-1].bias.add_(shift)
    return ref.eval()


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of (N, 4) and (M, 4) xyxy boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter + 1e-9)


def _borderline_extras(ours, theirs, name: str, conf: float = 0.25, iou: float = 0.7) -> tuple:
    """Indices (ours, theirs) of the detections both sides agree on.

    A random-weight model puts many boxes next to the score and NMS thresholds, where the last float bit (thread
    count, kernel order) decides; a detection only one side keeps must be such a borderline case: its score within
    0.01 of ``conf``, or an IoU within 0.05 of ``iou`` with a detection both keep. At most two per image.
    """
    from scipy.optimize import linear_sum_assignment
    ref_boxes = theirs.boxes.xyxy.numpy()
    dist = np.abs(ours.bboxes[:, None] - ref_boxes[None]).max(-1)
    rows, cols = linear_sum_assignment(dist)
    keep = dist[rows, cols] <= 0.5
    rows, cols = rows[keep], cols[keep]
    extras = [(ours.bboxes, ours.bbox_scores, set(range(len(ours.bboxes))) - set(rows), ours.bboxes[rows]),
              (ref_boxes, theirs.boxes.conf.numpy(), set(range(len(ref_boxes))) - set(cols), ref_boxes[cols])]
    assert sum(len(e[2]) for e in extras) <= 2, f'{name}: {len(ours.bboxes)} detections, Ultralytics has ' \
        f'{len(ref_boxes)}, {len(rows)} in common'
    for boxes, scores, idx, kept in extras:
        for i in idx:
            near_iou = len(kept) and np.abs(_iou(boxes[i:i + 1], kept) - iou).min() <= 0.05
            assert abs(scores[i] - conf) <= 0.01 or near_iou, (
                f'{name}: a detection only one side keeps is not borderline (score {scores[i]:.4f})')
    return rows, cols


def _match(ours, theirs, name: str) -> None:
    """One-to-one assignment of detections by box distance; then boxes, keypoints and scores must agree."""
    from scipy.optimize import linear_sum_assignment
    ref_boxes = theirs.boxes.xyxy.numpy()
    dist = np.abs(ours.bboxes[:, None] - ref_boxes[None]).max(-1)
    rows, cols = linear_sum_assignment(dist)
    assert dist[rows, cols].max() <= 0.5, f'{name}: a box differs by {dist[rows, cols].max():.3f} px'
    np.testing.assert_allclose(ours.bbox_scores[rows], theirs.boxes.conf.numpy()[cols], atol=1e-3, err_msg=name)
    np.testing.assert_allclose(ours.keypoints[rows], theirs.keypoints.xy.numpy()[cols], atol=0.5, err_msg=name)
    np.testing.assert_allclose(ours.keypoint_scores[rows], theirs.keypoints.conf.numpy()[cols], atol=1e-3,
                               err_msg=name)


@pytest.mark.parametrize('version,size,shift', [('v8-p6', 1280, 1.5), ('12', 640, 2.5)])
def test_converted_checkpoint_predicts_what_ultralytics_predicts(version, size, shift, tmp_path, data_dir,
                                                                 ultralytics):
    """The whole predict path (letterbox, network, decode, NMS, mapping back) of a converted random-weight model
    (Ultralytics' .pt given to our init_model, converted on the fly) against Ultralytics' predictor."""
    import copy

    from ultralytics import YOLO
    from yolopose_mm.apis import inference, init_model
    calib, _, _ = _people_from_coco8(data_dir, 640)
    ref = _calibrated_reference(version, calib, shift)
    pt = tmp_path / f'{version}.pt'
    torch.save({'model': copy.deepcopy(ref), 'ema': None, 'epoch': -1, 'version': 'test',
                'train_args': {'task': 'pose'}}, pt)
    ours = init_model(str(pt))
    assert ours.cfg.model.backbone.version == version
    reference = YOLO(str(pt), task='pose')
    total = 0
    for name in ('bus.jpg', 'zidane.jpg'):
        img = str(data_dir / 'images' / name)
        expected = reference.predict(img, imgsz=size, conf=0.25, iou=0.7, verbose=False)[0]
        got = inference(ours, img, input_size=size).pred_instances
        rows, cols = _borderline_extras(got, expected, name)
        total += len(rows)
        if len(rows):
            _match(got[rows], expected[cols], name)
    assert total >= 10, total  # not vacuous


def test_p6_config_evaluates_on_the_batches_of_yolo_val(coco8_copy, tmp_path, ultralytics):
    """The P6 config's val dataloader and data preprocessor (rect protocol at 1280, stride 64) give the model the
    batches ``yolo val`` gives a P6 model."""
    from pathlib import Path

    from mmengine import Config
    from mmengine.dataset import DefaultSampler, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATA_SAMPLERS, DATASETS, MODELS
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    init_default_scope('mmpose')
    root = Path(__file__).resolve().parents[1]
    cfg = Config.fromfile(str(root / 'configs' / 'yolov8_pose' / 'yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py'))
    loader, preprocessor = cfg.val_dataloader, MODELS.build(cfg.model.data_preprocessor)
    yaml = tmp_path / 'data.yaml'
    yaml.write_text(f'path: {coco8_copy}\ntrain: images/train\nval: [images/train, images/val]\n'
                    'kpt_shape: [17, 3]\nnames:\n  0: person\n')
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(yaml), split='val', metainfo='coco',
                             test_mode=True, pipeline=loader.dataset.pipeline, cache_dir=str(tmp_path / 'cache')))
    batch = 3
    sampler = DATA_SAMPLERS.build(dict(loader.batch_sampler, sampler=DefaultSampler(ds, shuffle=False),
                                       batch_size=batch))
    data = check_det_dataset(str(yaml))
    ref = build_yolo_dataset(get_cfg(overrides=dict(task='pose', imgsz=1280, mode='val')), data['val'], batch=batch,
                             data=data, mode='val', rect=True, stride=64)  # a P6 model's stride
    assert len(ds) == len(ref) == 8
    shapes = set()
    for k, indices in enumerate(sampler):
        ours = preprocessor(pseudo_collate([ds[i] for i in indices]), False)['inputs']
        theirs = ref.collate_fn([ref[i] for i in range(k * batch, min((k + 1) * batch, len(ref)))])
        ref_img = theirs['img'].float() / 255  # what Ultralytics' validator feeds the model
        assert ours.shape == ref_img.shape and torch.equal(ours, ref_img), k
        assert ours.shape[2] % 64 == 0 and ours.shape[3] % 64 == 0
        shapes.add(tuple(ours.shape[2:]))
    assert len(shapes) >= 2, shapes
