# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLOPoseHead / YOLOPoseHeadModule: init, forward shapes, predict, errors, state dict, mmpose estimator."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

import yolopose_mm  # noqa: F401
from yolopose_mm.models import YOLOPoseHead, YOLOPoseHeadModule
from yolopose_mm.models.utils import filter_and_nms, make_priors

FEATS = (torch.rand(2, 64, 8, 10), torch.rand(2, 128, 4, 5), torch.rand(2, 256, 2, 3))


def _samples(n=2, hw=(64, 80)):
    out = []
    for _ in range(n):
        s = PoseDataSample()
        s.set_metainfo(dict(input_size=(hw[1], hw[0]), input_center=np.array([hw[1] / 2, hw[0] / 2]),
                            input_scale=np.array([hw[1], hw[0]], dtype=np.float64), ori_shape=hw))
        out.append(s)
    return out


def test_init_branch_widths():
    m = YOLOPoseHeadModule((64, 128, 256), 1, 17, 3, cls_branch='depthwise')
    assert m.box_branch[0][0].conv.out_channels == 64  # max(16, 64 // 4, 64)
    assert m.cls_branch[0][0][0].conv.groups == 64  # depthwise
    assert m.kpt_branch[0][0].conv.out_channels == 51  # max(16, 51)
    plain = YOLOPoseHeadModule((64, 128, 256), 1, 17, 3, cls_branch='plain')
    assert plain.cls_branch[0][0].conv.kernel_size == (3, 3)


def test_forward_shapes():
    head = YOLOPoseHead('11', 'n').eval()
    raw = head(FEATS)
    n = 8 * 10 + 4 * 5 + 2 * 3
    assert raw.box_logits.shape == (2, 64, n) and raw.cls_logits.shape == (2, 1, n)
    assert raw.kpt_raw.shape == (2, 51, n) and raw.featmap_sizes == ((8, 10), (4, 5), (2, 3))
    dec = head.decode(raw)
    assert dec.bboxes.shape == (2, n, 4) and dec.keypoints.shape == (2, n, 17, 2)


def test_predict_empty_and_nonempty():
    head = YOLOPoseHead('11', 'n').eval()
    none = head.predict(FEATS, _samples(), dict(score_thr=1.0))
    assert none[0].bboxes.shape == (0, 4) and none[0].keypoints.shape == (0, 17, 2)
    some = head.predict(FEATS, _samples(), dict(score_thr=0.0, max_per_img=5))
    assert 0 < len(some[0].bboxes) <= 5
    assert np.all(some[0].bboxes >= 0) and np.all(some[0].bboxes[:, 2] <= 80)  # clipped to the image
    assert np.all(np.diff(some[0].bbox_scores) <= 0)


def test_predict_any_k_and_classes():
    head = YOLOPoseHead('v8', 'n', num_classes=3, num_keypoints=5, keypoint_dim=2).eval()
    res = head.predict(FEATS, _samples(), dict(score_thr=0.0))[0]
    assert res.keypoints.shape[1:] == (5, 2) and np.all(res.keypoint_scores == 1.0)
    assert set(np.unique(res.labels)).issubset({0, 1, 2})


@pytest.mark.parametrize('kwargs,match', [
    (dict(keypoint_dim=4), 'keypoint_dim'),
    (dict(num_keypoints=0), 'num_keypoints'),
    (dict(num_classes=0), 'num_classes'),
    (dict(cls_branch='fancy'), 'cls_branch'),
    (dict(featmap_strides=(8, 16)), 'featmap_strides'),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        YOLOPoseHead('11', 'n', **kwargs)


def test_channel_mismatch_and_flip_test_errors():
    head = YOLOPoseHead('11', 'n')
    with pytest.raises(ValueError, match="head's in_channels"):
        head((torch.rand(1, 32, 8, 8), torch.rand(1, 128, 4, 4), torch.rand(1, 256, 2, 2)))
    with pytest.raises(ValueError, match='flip_test'):
        head.predict(FEATS, _samples(), dict(flip_test=True))


def test_state_dict_and_bias_init():
    a = YOLOPoseHead('11', 'n')
    a.init_weights()
    assert torch.allclose(a.head_module.box_branch[0][-1].bias, torch.full((64,), 2.0))
    b = MODELS.build(dict(type='YOLOPoseHead', version='11', scale='n'))
    b.load_state_dict(a.state_dict(), strict=True)
    x = tuple(f[:1] for f in FEATS)
    assert torch.equal(a.eval()(x).kpt_raw, b.eval()(x).kpt_raw)


def test_nms_is_class_aware():
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.], [0., 0., 10., 10.]])
    scores = torch.tensor([[0.9, 0.0], [0.8, 0.0], [0.0, 0.7]])
    kept = filter_and_nms(boxes, scores, 0.25, 0.7, 300)
    assert kept.indices.tolist() == [0, 2] and kept.labels.tolist() == [0, 1]
    with pytest.raises(ValueError, match='iou_thr'):
        filter_and_nms(boxes, scores, 0.25, 1.5, 300)


def test_nms_keeps_what_torchvision_keeps():
    """mmcv's NMS (used to avoid importing torchvision) keeps the same boxes as torchvision's, per class."""
    from torchvision.ops import batched_nms
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        n = int(torch.randint(1, 200, (1,), generator=g))
        xy = torch.rand(n, 2, generator=g) * 300
        boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 100 + 1], 1)
        scores = torch.rand(n, 3, generator=g)
        if _ % 2:
            scores = (scores * 4).round() / 4  # many equal scores: ranked by index, as torchvision does
        thr = float(torch.rand(1, generator=g))
        kept = filter_and_nms(boxes, scores, 0.1, thr, 300)
        best, labels = scores.max(1)
        keep = (best > 0.1).nonzero().view(-1)
        ref = keep[batched_nms(boxes[keep], best[keep], labels[keep], thr)][:300]
        assert kept.indices.tolist() == ref.tolist()
    empty = filter_and_nms(boxes, torch.zeros_like(scores), 0.25, 0.7, 300)
    assert empty.indices.numel() == 0


def test_priors_order():
    p = make_priors([(2, 3), (1, 1)], [8, 16])
    assert p.points[:4].tolist() == [[0.5, 0.5], [1.5, 0.5], [2.5, 0.5], [0.5, 1.5]]
    assert p.strides.view(-1).tolist() == [8.0] * 6 + [16.0]


def _gt_samples(people_per_image, k=17):
    out = []
    for n in people_per_image:
        s = PoseDataSample()
        boxes = torch.tensor([[10.0, 10.0, 40.0, 50.0]]).repeat(n, 1)
        s.gt_instance_labels = InstanceData(bboxes=boxes, labels=torch.zeros(n, dtype=torch.long),
                                            keypoints=torch.rand(n, k, 2) * 30 + 10,
                                            keypoints_visible=torch.ones(n, k))
        out.append(s)
    return out


def test_loss_with_ground_truth():
    head = YOLOPoseHead('11', 'n', sigmas=[0.05] * 17)
    losses = head.loss(FEATS, _gt_samples([2, 1]))
    assert set(losses) == {'loss_box', 'loss_cls', 'loss_dfl', 'loss_pose', 'loss_kobj'}
    assert all(v.item() > 0 for v in losses.values())


def test_loss_without_ground_truth():
    head = YOLOPoseHead('11', 'n', sigmas=[0.05] * 17)
    losses = head.loss(FEATS, _gt_samples([0, 0]))
    assert losses['loss_cls'].item() > 0
    assert losses['loss_box'].item() == 0 and losses['loss_dfl'].item() == 0 and losses['loss_pose'].item() == 0
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters() if p.requires_grad)  # no unused params under DDP


def test_loss_errors():
    head = YOLOPoseHead('11', 'n', num_keypoints=5)
    with pytest.raises(ValueError, match='head.num_keypoints'):
        head.loss(FEATS, _gt_samples([1], k=17))
    with pytest.raises(ValueError, match='5 positive values'):
        head.set_sigmas([0.1] * 4)
    with pytest.raises(ValueError, match='loss_cfg'):
        YOLOPoseHead('11', 'n', loss_cfg=dict(boxx=1.0))
