# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLO26-pose (n-x) against Ultralytics 8.4.190 models built from yolo26-pose.yaml with random weights and random
BatchNorm statistics: parameters, FLOPs, raw outputs of both branch sets, decoded predictions of both inference
paths, the converter (training and fused inference checkpoints) and predictions from a converted checkpoint."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ultralytics_reference import (build_ultralytics_pose, random_yolo26n_pair, randomize_batchnorm,
                                   save_ultralytics_checkpoint)
from yolopose_mm.analysis import PoseNetworkForFlops, count_flops, count_parameters
from yolopose_mm.converters import DetectedArch, build_pose_network, convert_ultralytics_checkpoint
from yolopose_mm.models.utils import topk_select

SCALES = ('n', 's', 'm', 'l', 'x')
PARAMS = {'n': 3_679_464, 'x': 62_731_860}  # the figures for nc=1
# 640x640 and 384x640 for n (the acceptance sizes); the other scales' weight mapping at small inputs (the suite's
# time on 2 cores): every convolution and attention block runs at any size
SIZES = {'n': [(640, 640), (384, 640)], **{s: [(128, 128), (96, 160)] for s in 'smlx'}}  # >= 300 priors (top-k)
FLOP_SIZE = {'n': 640}  # the ratio does not depend on the size (every layer's count scales with H x W)


def _close(ours: torch.Tensor, ref: torch.Tensor, rel: float = 1e-4) -> float:
    scale = max(1e-6, ref.abs().max().item())
    err = (ours - ref).abs().max().item() / scale
    assert err <= rel, f'max relative difference {err:.2e} > {rel:.0e}'
    return err


def _pair(scale, tmp_path, nc=1, kpt_shape=(17, 3), seed=0, fuse=None):
    """(Ultralytics model, our converted network). ``fuse``: None (training checkpoint with every branch), or
    the ``end2end`` value of a fused inference checkpoint (one branch set left, no sigma / flow, BN folded)."""
    ref = randomize_batchnorm(build_ultralytics_pose('26', scale, nc, kpt_shape), seed)
    if fuse is not None:
        ref.end2end = fuse
        ref = ref.fuse()
    path = save_ultralytics_checkpoint(ref, tmp_path / f'26{scale}.pt')
    converted, arch = convert_ultralytics_checkpoint(str(path))
    assert (arch.version, arch.scale, arch.num_classes, arch.num_keypoints, arch.keypoint_dim) == \
        ('26', scale, nc, kpt_shape[0], kpt_shape[1])
    ours = build_pose_network(arch).eval()
    ours.load_state_dict(converted['state_dict'], strict=True)
    return ref.eval(), ours, arch


def _compare_outputs(ref, ours, x):
    head = ref.model[-1]
    with torch.no_grad():
        y, preds = ref(x)
        raw = ours.head(ours.neck(ours.backbone(x)))
        head.end2end = True
        try:
            e2e, _ = ref(x)
        finally:
            head.end2end = False
    for name in ('one2many', 'one2one'):
        for a, key in (('box_logits', 'boxes'), ('cls_logits', 'scores'), ('kpt_raw', 'kpts')):
            _close(getattr(getattr(raw, name), a), preds[name][key])
    k = ours.head.num_keypoints
    b = x.shape[0]
    dec = ours.head.decode(raw.one2many)  # the default (NMS) path: Ultralytics' (B, 4 + 1 + K * 3, N)
    cx, cy, bw, bh = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
    _close(dec.bboxes, torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), -1))
    _close(dec.scores[..., 0], y[:, 4])
    ref_k = y[:, 5:].view(b, k, 3, -1).permute(0, 3, 1, 2)
    _close(dec.keypoints, ref_k[..., :2])
    _close(dec.keypoint_scores, ref_k[..., 2])
    dec = ours.head.decode(raw.one2one)  # the NMS-free path: top 300, (B, 300, 6 + K * 3)
    sel = topk_select(dec.scores, 300)
    rows = torch.arange(b)[:, None]
    _close(dec.bboxes[rows, sel.indices], e2e[..., :4])
    _close(sel.scores, e2e[..., 4])
    kpts = e2e[..., 6:].view(b, -1, k, 3)
    _close(dec.keypoints[rows, sel.indices], kpts[..., :2])
    _close(dec.keypoint_scores[rows, sel.indices], kpts[..., 2])


class _Decoded(torch.nn.Module):
    """Ultralytics' inference forward (both branch sets run, one decoded), returning a tensor for the counter."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


@pytest.mark.parametrize('scale', SCALES)
def test_parameters_flops_and_outputs_match(scale, tmp_path, ultralytics):
    """One model pair per scale (the suite's time): parameter count of the training model, FLOPs within 1% with
    the same counter, raw outputs of both branch sets and decoded predictions of both inference paths."""
    ref, ours, _ = _pair(scale, tmp_path)
    total = sum(p.numel() for p in ref.parameters())
    assert count_parameters(ours) == total
    assert count_parameters(ours, trainable_only=True) == total  # no frozen DFL projection in YOLO26
    if scale in PARAMS:
        assert total == PARAMS[scale]
    size = FLOP_SIZE.get(scale, 128)
    ref_flops = count_flops(_Decoded(ref).eval(), (size, size))  # (it restores the wrapper's mode)
    our_flops = count_flops(PoseNetworkForFlops(ours).eval(), (size, size))
    assert abs(our_flops - ref_flops) / ref_flops < 0.01, (our_flops, ref_flops)
    torch.manual_seed(1)
    for h, w in SIZES[scale]:
        _compare_outputs(ref, ours, torch.rand(1, 3, h, w))


def test_inference_optimized_outputs_match(tmp_path, ultralytics):
    """BatchNorm folded and channels-last (the lean conv forward, token-major attention: what
    ``init_model(optimize=True)`` runs) against Ultralytics' unfused model at 640."""
    from yolopose_mm.apis.optimize import optimize_for_inference
    ref, ours, _ = _pair('n', tmp_path)
    optimize_for_inference(ours)
    x = torch.rand(1, 3, 640, 640, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y, preds = ref(x)
        raw = ours.head(ours.neck(ours.backbone(x)))
    for name in ('one2many', 'one2one'):  # (not the top 300: folding reorders near-equal random-weight scores)
        for a, key in (('box_logits', 'boxes'), ('cls_logits', 'scores'), ('kpt_raw', 'kpts')):
            _close(getattr(getattr(raw, name), a), preds[name][key])
    dec = ours.head.decode(raw.one2many)
    cx, cy, bw, bh = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
    _close(dec.bboxes, torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), -1))
    _close(dec.keypoints, y[:, 5:].view(1, 17, 3, -1).permute(0, 3, 1, 2)[..., :2])


@pytest.mark.parametrize('end2end', [True, False])
def test_fused_inference_checkpoints_convert(end2end, tmp_path, ultralytics):
    """A fused checkpoint (BN folded, one branch set, no sigma outputs or flow) converts to a model with only that
    branch set, which predicts what Ultralytics' fused model predicts."""
    ref, ours, arch = _pair('n', tmp_path, seed=5, fuse=end2end)
    branch = 'one2one' if end2end else 'one2many'
    assert arch.branches == (branch,) and not arch.with_rle
    assert ours.head.branches == (branch,) and ours.head.flow is None
    x = torch.rand(1, 3, 256, 320)
    with torch.no_grad():
        y, preds = ref(x)
        raw = getattr(ours.head(ours.neck(ours.backbone(x))), branch)
    _close(raw.kpt_raw, (preds[branch] if branch in preds else preds)['kpts'])
    dec = ours.head.decode(raw)
    if end2end:
        # BatchNorm folded on one side only: near-equal scores may swap places in the top 300, so match each of our
        # rows to the nearest Ultralytics row (boxes, scores, keypoints)
        sel = topk_select(dec.scores, 300)
        i = sel.indices[0]
        ours_rows = torch.cat((dec.bboxes[0, i], sel.scores[0, :, None], dec.keypoints[0, i].flatten(1)), 1)
        ref_rows = torch.cat((y[0, :, :5], y[0, :, 6:].view(-1, 17, 3)[..., :2].flatten(1)), 1)
        clear = sel.scores[0] > y[0, -1, 4] + 1e-6  # rows not tied with the 300th (the cut-off may differ there)
        assert int(clear.sum()) >= 30
        nearest = (ours_rows[clear, None] - ref_rows[None]).abs().amax(-1).min(1).values
        assert nearest.max() < 1e-2, nearest.max()
    else:
        _close(dec.keypoints, y[:, 5:].view(1, 17, 3, -1).permute(0, 3, 1, 2)[..., :2])


def test_k5_dim2_two_classes_match(tmp_path, ultralytics):
    ref, ours, _ = _pair('n', tmp_path, nc=2, kpt_shape=(5, 2), seed=3)
    x = torch.rand(2, 3, 160, 224)
    with torch.no_grad():
        y, preds = ref(x)
        raw = ours.head(ours.neck(ours.backbone(x)))
    _close(raw.one2one.kpt_raw, preds['one2one']['kpts'])
    dec = ours.head.decode(raw.one2many)
    _close(dec.scores.transpose(1, 2), y[:, 4:6])
    _close(dec.keypoints, y[:, 6:].view(2, 5, 2, -1).permute(0, 3, 1, 2))
    assert torch.equal(dec.keypoint_scores, torch.ones_like(dec.keypoint_scores))


@pytest.fixture(scope='module')
def converted_pair(tmp_path_factory, ultralytics):
    """A random-weight yolo26n-pose.pt (He-init convolutions: scores that depend on the image) and its
    conversion."""
    return random_yolo26n_pair(tmp_path_factory.mktemp('y26'))


def _rows(boxes, scores, kpts):
    return torch.cat((torch.as_tensor(boxes), torch.as_tensor(scores)[:, None] * 100,
                      torch.as_tensor(kpts).flatten(1)), 1).double()


@pytest.mark.parametrize('end2end', [False, True])
def test_converted_checkpoint_predicts_what_ultralytics_predicts(converted_pair, end2end, data_dir):
    """`YOLO(pt).predict` (nms=None: one-to-many + NMS, 8.4.190's default; nms=False: one-to-one top-k) and
    `inference` on the converted checkpoint give the same people on real images (matched row by row: equal
    scores from identical image patches may come in either order)."""
    from ultralytics import YOLO

    from yolopose_mm.apis import inference, init_model
    pt, dst = converted_pair
    ref = YOLO(str(pt))
    ours = init_model(str(dst))
    assert type(ours.head).__name__ == 'YOLO26PoseHead' and ours.test_cfg['end2end'] is False
    extra = {'nms': False} if end2end else {}
    images = [data_dir / 'images' / 'bus.jpg', *sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))]
    total = 0
    for path in images:
        everything = ref.predict(str(path), conf=0.001, iou=0.7, verbose=False, **extra)[0].boxes.conf
        levels = everything.unique().flip(0)  # distinct scores, highest first
        if len(levels) < 2:
            continue
        conf = float((levels[min(20, len(levels) - 1)] + levels[min(21, len(levels) - 1)]) / 2)
        r = ref.predict(str(path), conf=conf, iou=0.7, verbose=False, **extra)[0]
        o = inference(ours, str(path), score_thr=conf, end2end=end2end).pred_instances
        assert len(o.bboxes) == len(r.boxes) > 0, f'{path.name}: {len(o.bboxes)} vs Ultralytics {len(r.boxes)}'
        total += len(o.bboxes)
        a = _rows(o.bboxes, o.bbox_scores, np.concatenate((o.keypoints, o.keypoint_scores[..., None]), -1))
        b = _rows(r.boxes.xyxy, r.boxes.conf, torch.cat((r.keypoints.xy, r.keypoints.conf[..., None]), -1))
        nearest = (a[:, None] - b[None]).abs().amax(-1).min(1).values
        assert nearest.max() < 1e-2, f'{path.name}: a person differs by {nearest.max():.3g} (px / 100 x score)'
    assert total >= 20


def test_training_checkpoint_keeps_every_branch(tmp_path, ultralytics):
    ref = randomize_batchnorm(build_ultralytics_pose('26', 'n'), seed=1)
    path = save_ultralytics_checkpoint(copy.deepcopy(ref), tmp_path / 'train.pt')
    converted, arch = convert_ultralytics_checkpoint(str(path))
    assert arch.branches == ('one2many', 'one2one') and arch.with_rle
    assert arch.config_name == 'configs/yolo26_pose/yolo26-pose-n_8xb16-600e_coco-640x640.py'
    assert any(k.startswith('head.flow.') for k in converted['state_dict'])
    assert 'YOLO26PoseHead' in converted['meta']['cfg']
