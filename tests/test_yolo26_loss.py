# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLO26 loss parity with Ultralytics 8.4.190's end-to-end pose loss (E2ELoss over PoseLoss26): same head
weights, same neck features of real coco8-pose images, same terms (1e-4) and head gradients (1e-3)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from test_loss_parity import _batch, _people_from_coco8
from ultralytics_reference import build_ultralytics_pose, ours_to_pose26_name, pose26_head_state, randomize_batchnorm
from yolopose_mm.models import PoseTaskAlignedAssigner, YOLO26PoseHead

# Ultralytics' loss vector order: box, pose, kobj, cls, l1 (its 'dfl' slot), rle
TERMS = ('loss_box', 'loss_pose', 'loss_kobj', 'loss_cls', 'loss_l1', 'loss_rle')


def _models(k=17, dim=3, seed=0, epochs=100):
    from ultralytics.cfg import get_cfg
    ref = randomize_batchnorm(build_ultralytics_pose('26', 'n', 1, (k, dim)), seed)
    ref.args = get_cfg()
    ref.args.epochs = epochs
    ours = YOLO26PoseHead(in_channels=(64, 128, 256), num_keypoints=k, keypoint_dim=dim)
    ours.load_state_dict(pose26_head_state(ref.model[-1]), strict=True)
    return ref, ours


def _neck_features(ref, x):
    """Ultralytics' own neck outputs for ``x`` (train mode, as in training), detached: both heads get the same."""
    ref.train()
    with torch.no_grad():
        return [f.detach() for f in ref(x)['one2many']['feats']]


def _compare(ref, ours, feats, batch, samples, sigmas, epoch=0, epochs=100, gradients=True):
    criterion = ref.init_criterion()  # E2ELoss(PoseLoss26): one-to-many top-k 10, one-to-one top-k 7 -> 1
    criterion.updates = epoch - 1
    criterion.update()  # what Ultralytics' trainer does on resume at `epoch`
    s = torch.as_tensor(np.asarray(sigmas, np.float32))
    for part in (criterion.one2many, criterion.one2one):
        part.keypoint_loss.sigmas = s
        part.assigner.sigmas = s
    ours.set_sigmas(sigmas)
    ours.set_joint_weights(criterion.one2many.target_weights.numpy())
    ours.set_epoch(epoch, epochs)
    assert ours.one2many_weight == pytest.approx(criterion.o2m)
    head = ref.model[-1]
    head.train()
    ours.train()
    head.zero_grad()
    ours.zero_grad()
    with torch.set_grad_enabled(gradients):
        ref_loss, _ = criterion(head(feats), batch)
        losses = ours.loss(feats, samples)
    for i, name in enumerate(TERMS):
        a, b = losses[name].item(), ref_loss[i].item()
        assert abs(a - b) <= 1e-4 * max(abs(b), 1e-6) + 1e-7, f'{name}: ours {a:.8f} vs ultralytics {b:.8f}'
    if not gradients:
        return losses
    ref_loss.sum().backward()
    sum(losses.values()).backward()
    ref_params = dict(head.named_parameters())
    checked = 0
    for name, p in ours.named_parameters():
        g = ref_params[ours_to_pose26_name(name)].grad
        if g is None or g.abs().max() == 0:
            assert p.grad is None or p.grad.abs().max() == 0, name
            continue
        err = ((p.grad - g).abs().max() / g.abs().max()).item()
        assert err <= 1e-3, f'gradient of {name}: relative difference {err:.2e}'
        checked += 1
    assert checked > 40
    return losses


@pytest.fixture(scope='module')
def coco8(data_dir, ultralytics):
    """coco8-pose train images at 320, their people, sigmas, a random-weight pair and Ultralytics' neck features."""
    x, people, sigmas = _people_from_coco8(data_dir, 320)
    ref, ours = _models()
    return people, sigmas, ref, ours, _neck_features(ref, x)


def test_real_images_match(coco8):
    people, sigmas, ref, ours, feats = coco8
    losses = _compare(ref, ours, feats, *_batch(people, 320, 17, 3), sigmas)
    assert all(v.item() > 0 for v in losses.values())


def test_nobody_unlabelled_and_progressive_weight(coco8):
    people, sigmas, ref, ours, feats = coco8
    people = copy.deepcopy(people[:3])
    people[1] = []  # an image with nobody
    box, kp = people[2][0]
    people[2][0] = (box, np.zeros_like(kp))  # a person with no labelled keypoint
    batch = _batch(people, 320, 17, 3)
    feats = [f[:3] for f in feats]
    _compare(ref, ours, feats, *batch, sigmas, epoch=40)
    for epoch in (1, 99):  # the one-to-many weight at other epochs (terms only)
        _compare(ref, ours, feats, *batch, sigmas, epoch=epoch, gradients=False)


def test_batch_without_people_keeps_every_branch_in_the_graph(coco8):
    _, _, ref, ours, feats = coco8
    losses = _compare(ref, ours, [f[:2] for f in feats], *_batch([[], []], 320, 17, 3), np.full(17, 0.05))
    assert losses['loss_box'].item() == 0 and losses['loss_rle'].item() == 0 and losses['loss_cls'].item() > 0
    assert all(p.grad is not None for p in ours.parameters())


def test_k5_dim2(ultralytics):
    ref, ours = _models(k=5, dim=2, seed=4)
    rng = np.random.default_rng(0)
    people = []
    for _ in range(2):
        img = []
        for _ in range(3):
            x1, y1 = rng.uniform(0, 100, 2)
            w, h = rng.uniform(20, 60, 2)
            img.append((np.array([x1, y1, x1 + w, y1 + h]),
                        np.stack([rng.uniform(x1, x1 + w, 5), rng.uniform(y1, y1 + h, 5)], -1)))
        people.append(img)
    people[0][0] = (np.array([50.0, 60.0, 56.0, 70.0]), np.array([[51.0, 61.0]] * 5))  # smaller than a stride
    feats = _neck_features(ref, torch.rand(2, 3, 160, 160))
    losses = _compare(ref, ours, feats, *_batch(people, 160, 5, 2), np.full(5, 0.2))
    assert losses['loss_kobj'].item() == 0 and losses['loss_rle'].item() != 0


def test_assigner_matches_ultralytics_one2one(coco8):
    """The one-to-one assignment (top-k 7, then the best one per person) on real people equals Ultralytics'."""
    from ultralytics.utils.tal import PoseTaskAlignedAssigner as Reference
    people, sigmas = coco8[:2]
    torch.manual_seed(0)
    b, n = 4, 2100
    gt = [p for p in people[:b]]
    m = max(len(p) for p in gt)
    boxes, kpts, vis, valid = torch.zeros(b, m, 4), torch.zeros(b, m, 17, 2), torch.zeros(b, m, 17), torch.zeros(b, m)
    for i, img in enumerate(gt):
        for j, (box, kp) in enumerate(img):
            boxes[i, j], kpts[i, j], vis[i, j], valid[i, j] = torch.as_tensor(box), torch.as_tensor(kp[:, :2]), \
                torch.as_tensor(kp[:, 2] > 0).float(), 1
    strides = torch.cat([torch.full((s,), float(st)) for s, st in ((1600, 8), (400, 16), (100, 32))])
    ys, xs = [], []
    for size, st in ((40, 8), (20, 16), (10, 32)):
        gy, gx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing='ij')
        xs.append(gx.flatten() * st)
        ys.append(gy.flatten() * st)
    points = torch.stack((torch.cat(xs), torch.cat(ys)), -1)
    pred_boxes = torch.cat((points - torch.rand(n, 2) * 60, points + torch.rand(n, 2) * 60), -1).expand(b, n, 4)
    pred_kpts = points[None, :, None] + torch.randn(b, n, 17, 2) * 20
    scores = torch.rand(b, n, 1)
    s = torch.as_tensor(np.asarray(sigmas, np.float32))
    ref = Reference(s, topk=7, topk2=1, num_classes=1, alpha=0.5, beta=6.0, stride=[8, 16, 32])
    r = ref(scores, pred_boxes, points, torch.zeros(b, m, 1), boxes, valid[..., None], anc_strides=strides,
            pd_kpts=pred_kpts, gt_kpts=torch.cat((kpts, vis[..., None] * 2), -1))
    ours = PoseTaskAlignedAssigner(topk=7, topk2=1).assign(
        scores, pred_boxes, points, torch.zeros(b, m, dtype=torch.long), boxes, valid.bool(), pred_kpts=pred_kpts,
        gt_kpts=kpts, gt_kpt_labelled=vis.bool(), prior_strides=strides, sigmas=s)
    assert torch.equal(ours.fg_mask, r[3]) and torch.equal(ours.gt_index[ours.fg_mask], r[4][r[3]])
    torch.testing.assert_close(ours.scores, r[2].float(), rtol=1e-5, atol=1e-7)
    per_person = torch.zeros(b, m, dtype=torch.long).index_put_(
        (torch.nonzero(ours.fg_mask)[:, 0], ours.gt_index[ours.fg_mask]), torch.tensor(1), accumulate=True)
    assert int(per_person.max()) == 1 and int(ours.fg_mask.sum()) > 0  # one positive per person at most


def test_assigner_errors():
    with pytest.raises(ValueError, match='topk2'):
        PoseTaskAlignedAssigner(topk=7, topk2=8)
    with pytest.raises(ValueError, match='level_range'):
        PoseTaskAlignedAssigner(level_range=(12, 2))
