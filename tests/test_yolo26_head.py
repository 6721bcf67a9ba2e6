# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLO26PoseHead / YOLO26PoseHeadModule: layers, both inference paths and head-level parity with Ultralytics'
Pose26 (8.4.190) on the same random weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmpose.structures import PoseDataSample

from ultralytics_reference import build_ultralytics_pose, pose26_head_state, randomize_batchnorm
from yolopose_mm.models import YOLO26PoseHead
from yolopose_mm.models.heads import YOLO26PoseHeadModule
from yolopose_mm.models.utils import topk_select

N_CHANNELS = (64, 128, 256)  # YOLO26-n neck widths


def _feats(b, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, h // s, w // s, generator=g) for c, s in zip(N_CHANNELS, (8, 16, 32))]


def _close(ours, ref, rel=1e-4):
    scale = max(1e-6, ref.abs().max().item())
    err = (ours - ref).abs().max().item() / scale
    assert err <= rel, f'max relative difference {err:.2e} > {rel:.0e}'


@pytest.fixture(scope='module')
def pair(ultralytics):
    ref = randomize_batchnorm(build_ultralytics_pose('26', 'n'), seed=2)
    ours = YOLO26PoseHead(in_channels=N_CHANNELS).eval()
    ours.load_state_dict(pose26_head_state(ref.model[-1]), strict=True)
    return ref.model[-1], ours


def test_layers_and_parameters(pair):
    head, ours = pair
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in head.parameters()) == 1416840
    m = ours.head_module.one2many
    assert m.box_branch[0][-1].out_channels == 4  # reg_max 1: direct distances
    assert m.kpt_trunk[0][0].conv.out_channels == 85  # max(64 // 4, 17 * (3 + 2))
    assert m.kpt_pred[0].out_channels == 51 and m.kpt_sigma[0].out_channels == 34
    assert not any('dfl' in k for k in ours.state_dict())


def test_sigma_only_in_training_and_branch_subsets():
    head = YOLO26PoseHead(in_channels=N_CHANNELS, num_keypoints=5, keypoint_dim=2)
    feats = _feats(1, 64, 96)
    raw = head.train()(feats)
    assert raw.one2many.kpt_sigma.shape == (1, 10, 8 * 12 + 4 * 6 + 2 * 3)
    assert raw.one2many.kpt_raw.shape[1] == 10 and raw.one2one.kpt_sigma is not None
    raw = head.eval()(feats)
    assert raw.one2many.kpt_sigma is None and raw.one2one.kpt_sigma is None
    fused = YOLO26PoseHead(in_channels=N_CHANNELS, branches=('one2one',), with_rle=False)
    assert fused.flow is None and fused.head_module.one2many is None
    assert fused.head_module.one2one.kpt_sigma is None
    assert fused.inference_branch(True) == 'one2one'
    with pytest.warns(UserWarning, match='does not have'):
        assert fused.inference_branch(False) == 'one2one'


@pytest.mark.parametrize('size', [(640, 640), (384, 640)])
def test_raw_and_decoded_outputs_match(pair, size):
    head, ours = pair
    feats = _feats(1, *size, seed=size[0])
    head.end2end = False
    with torch.no_grad():
        y, preds = head(feats)
        raw = ours(feats)
    for name in ('one2many', 'one2one'):
        ours_raw, ref_raw = getattr(raw, name), preds[name]
        _close(ours_raw.box_logits, ref_raw['boxes'])
        _close(ours_raw.cls_logits, ref_raw['scores'])
        _close(ours_raw.kpt_raw, ref_raw['kpts'])
    # one-to-many path (8.4.190's default): decoded (B, 4 + 1 + 51, N), boxes as cx, cy, w, h
    dec = ours.decode(raw.one2many)
    cx, cy, bw, bh = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
    _close(dec.bboxes, torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), -1))
    _close(dec.scores[..., 0], y[:, 4])
    ref_k = y[:, 5:].view(1, 17, 3, -1).permute(0, 3, 1, 2)
    _close(dec.keypoints, ref_k[..., :2])
    _close(dec.keypoint_scores, ref_k[..., 2])
    # one-to-one path (nms=False): top 300, (B, 300, 6 + 51) x1 y1 x2 y2 score class keypoints
    head.end2end = True
    try:
        with torch.no_grad():
            e2e, _ = head(feats)
    finally:
        head.end2end = False
    dec = ours.decode(raw.one2one)
    sel = topk_select(dec.scores, 300)
    batch = torch.arange(1)[:, None]
    _close(dec.bboxes[batch, sel.indices], e2e[..., :4])
    _close(sel.scores, e2e[..., 4])
    assert torch.equal(sel.labels.float(), e2e[..., 5])
    kpts = e2e[..., 6:].view(1, 300, 17, 3)
    _close(dec.keypoints[batch, sel.indices], kpts[..., :2])
    _close(dec.keypoint_scores[batch, sel.indices], kpts[..., 2])


def test_predict_both_paths_match_ultralytics_postprocess(pair):
    from ultralytics.utils.nms import non_max_suppression
    head, ours = pair
    feats = _feats(1, 256, 320, seed=5)
    with torch.no_grad():
        y, _ = head(feats)
        thr = y[0, 4].topk(60).values[-1].item()  # random weights: a threshold that keeps a few dozen candidates
        ref = non_max_suppression(y, thr, 0.7, max_det=300, nc=1)[0]
        res = ours.predict(feats, None, dict(score_thr=thr, nms_thr=0.7))[0]
        head.end2end = True
        e2e, _ = head(feats)
        head.end2end = False
        thr = e2e[0, 40, 4].item()
        ref_e2e = non_max_suppression(e2e, thr, 0.7, max_det=300, nc=1, end2end=True)[0]
        res_e2e = ours.predict(feats, None, dict(score_thr=thr, end2end=True))[0]
    for r, p in ((ref, res), (ref_e2e, res_e2e)):
        assert len(r) == len(p) > 0
        np.testing.assert_allclose(p.bboxes, r[:, :4].numpy(), atol=1e-3)
        np.testing.assert_allclose(p.bbox_scores, r[:, 4].numpy(), atol=1e-6)
        np.testing.assert_allclose(p.keypoints, r[:, 6:].view(-1, 17, 3)[..., :2].numpy(), atol=1e-3)


def test_topk_select_matches_ultralytics_multiclass(ultralytics):
    from ultralytics.nn.modules.head import Detect
    scores = torch.rand(2, 500, 3)
    ref_scores, ref_labels, ref_index = Detect(nc=3, ch=(8,)).get_topk_index(scores, 50)
    sel = topk_select(scores, 50)
    assert torch.equal(sel.indices, ref_index) and torch.equal(sel.scores, ref_scores[..., 0])
    assert torch.equal(sel.labels.float(), ref_labels[..., 0])
    assert topk_select(scores, 10_000).indices.shape == (2, 500)


def test_predict_clips_and_metainfo():
    head = YOLO26PoseHead(in_channels=N_CHANNELS).eval()
    s = PoseDataSample()
    s.set_metainfo(dict(input_size=(96, 64), input_center=np.array([48.0, 32.0]), input_scale=np.array([96., 64.]),
                        ori_shape=(64, 96), batch_input_shape=(64, 96)))
    for end2end in (False, True):
        res = head.predict(_feats(1, 64, 96), [s], dict(score_thr=0.0, max_per_img=7, end2end=end2end))[0]
        assert 0 < len(res.bboxes) <= 7 and res.keypoints.shape[1:] == (17, 2)
        assert np.all(res.bboxes >= 0) and np.all(res.bboxes[:, 2] <= 96) and np.all(np.diff(res.bbox_scores) <= 0)


@pytest.mark.parametrize('kwargs,match', [
    (dict(branches=('one2few',)), 'branches'),
    (dict(branches=()), 'branches'),
    (dict(keypoint_dim=4), 'keypoint_dim'),
    (dict(loss_cfg=dict(dfl=1.0)), 'loss_cfg'),
    (dict(joint_weights=[1.0] * 3), 'joint_weights'),
    (dict(featmap_strides=(8, 16)), 'featmap_strides'),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        YOLO26PoseHead(in_channels=N_CHANNELS, **kwargs)


def test_runtime_errors():
    head = YOLO26PoseHead(in_channels=N_CHANNELS).eval()
    with pytest.raises(ValueError, match='flip_test'):
        head.predict(_feats(1, 64, 64), None, dict(flip_test=True))
    with pytest.raises(ValueError, match="head's in_channels"):
        head([torch.rand(1, 32, 8, 8), torch.rand(1, 128, 4, 4), torch.rand(1, 256, 2, 2)])
    with pytest.raises(ValueError, match='set_epoch'):
        head.set_epoch(3, 0)
    with pytest.raises(ValueError, match='max_per_img'):
        head.predict(_feats(1, 64, 64), None, dict(end2end=True, max_per_img=0))


def test_one2many_weight_schedule():
    head = YOLO26PoseHead(in_channels=N_CHANNELS)
    weights = []
    for epoch in (0, 50, 99):
        head.set_epoch(epoch, 100)
        weights.append(head.one2many_weight)
    assert weights[0] == pytest.approx(0.8) and weights[-1] == pytest.approx(0.1)
    assert weights[1] == pytest.approx((1 - 50 / 99) * 0.7 + 0.1)


def test_module_argument_errors():
    with pytest.raises(ValueError, match='in_channels'):
        YOLO26PoseHeadModule(())
    with pytest.raises(ValueError, match='cls_branch'):
        YOLO26PoseHeadModule(N_CHANNELS, cls_branch='fancy')
