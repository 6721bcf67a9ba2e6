# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Loss parity with Ultralytics' v8PoseLoss (8.4.190): same weights, same batch, same terms and head gradients."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from ultralytics_reference import build_ultralytics_pose, randomize_batchnorm, save_ultralytics_checkpoint
from yolopose_mm.converters import build_pose_network, convert_ultralytics_checkpoint

TERMS = (('loss_box', 0), ('loss_pose', 1), ('loss_kobj', 2), ('loss_cls', 3), ('loss_dfl', 4))


def _ultralytics_criterion(model):
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.loss import v8PoseLoss
    model.args = get_cfg()  # default gains: box 7.5, cls 0.5, dfl 1.5, pose 12, kobj 1
    return v8PoseLoss(model)


def _pair(tmp_path, ref):
    path = save_ultralytics_checkpoint(ref, tmp_path / 'ref.pt')
    converted, arch = convert_ultralytics_checkpoint(str(path))
    ours = build_pose_network(arch)
    ours.load_state_dict(converted['state_dict'])
    return ours.eval()


def _batch(images_people, size, k, dim):
    """Ultralytics batch dict and our data samples from the same people (input pixels)."""
    batch_idx, cls, boxes, kpts, samples = [], [], [], [], []
    for i, people in enumerate(images_people):
        sample = PoseDataSample()
        n = len(people)
        b = np.array([p[0] for p in people], np.float32).reshape(n, 4)
        kp = np.array([p[1] for p in people], np.float32).reshape(n, k, dim)
        sample.gt_instance_labels = InstanceData(
            bboxes=torch.from_numpy(b), labels=torch.zeros(n, dtype=torch.long),
            keypoints=torch.from_numpy(kp[..., :2].copy()),
            keypoints_visible=torch.from_numpy((kp[..., 2] > 0).astype(np.float32) if dim == 3
                                               else np.ones((n, k), np.float32)))
        samples.append(sample)
        for j in range(n):
            x1, y1, x2, y2 = b[j]
            batch_idx.append(i)
            cls.append(0)
            boxes.append([(x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size])
            norm = kp[j].copy()
            norm[:, :2] /= size
            kpts.append(norm)
    batch = dict(batch_idx=torch.tensor(batch_idx, dtype=torch.float32), cls=torch.tensor(cls, dtype=torch.float32),
                 bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                 keypoints=torch.from_numpy(np.array(kpts, np.float32).reshape(-1, k, dim)))
    return batch, samples


def _compare(ref, ours, x, batch, samples, sigmas):
    criterion = _ultralytics_criterion(ref)
    ref.zero_grad()
    _, preds = ref(x)
    ref_loss, _ = criterion.loss(preds, batch)
    ref_loss.sum().backward()

    ours.zero_grad()
    ours.head.set_sigmas(sigmas)
    losses = ours.head.loss(ours.neck(ours.backbone(x)), samples)
    sum(losses.values()).backward()
    for name, idx in TERMS:
        a, b = losses[name].item(), ref_loss[idx].item()
        assert abs(a - b) <= 1e-4 * max(abs(b), 1e-6) + 1e-7, f'{name}: ours {a:.8f} vs ultralytics {b:.8f}'
    head_ref = dict(ref.model[-1].named_parameters())
    checked = 0
    for name, p in ours.head.head_module.named_parameters():
        if not p.requires_grad:  # the frozen DFL projection
            continue
        ul = name.replace('box_branch', 'cv2').replace('cls_branch', 'cv3').replace('kpt_branch', 'cv4')
        g_ref = head_ref[ul].grad
        if g_ref is None:
            assert p.grad is None or p.grad.abs().max() == 0
            continue
        scale = g_ref.abs().max().item()
        if scale == 0:
            continue
        err = (p.grad - g_ref).abs().max().item() / scale
        assert err <= 1e-3, f'gradient of {name}: relative difference {err:.2e}'
        checked += 1
    assert checked > 20
    return losses


def _people_from_coco8(data_dir, size):
    """coco8-pose train images letterboxed to size x size, and their people in input pixels."""
    import cv2
    from yolopose_mm.datasets import YOLOPoseDataset
    from yolopose_mm.datasets.transforms import LetterBox
    ds = YOLOPoseDataset(str(data_dir / 'coco8-pose' / 'coco8-pose.yaml'), 'train', metainfo='coco')
    imgs, people = [], []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out = LetterBox(size, auto=False)(dict(img=cv2.imread(info['img_path']), keypoints=info['keypoints'].copy(),
                                               bbox=info['bbox'].copy()))
        imgs.append(torch.from_numpy(out['img'][..., ::-1].copy()).permute(2, 0, 1).float() / 255)
        vis = info['keypoints_visible']
        kp = np.concatenate([out['keypoints'] * vis[..., None], vis[..., None] * 2], -1)
        people.append([(out['bbox'][j], kp[j]) for j in range(len(vis))])
    return torch.stack(imgs), people, ds.metainfo['sigmas']


@pytest.fixture(scope='module')
def real_pair(yolo11n_pose_pt, tmp_path_factory, ultralytics):
    from ultralytics import YOLO
    ref = YOLO(str(yolo11n_pose_pt)).model.float().eval()
    for p in ref.parameters():
        p.requires_grad_(True)
    ref.model[-1].dfl.conv.weight.requires_grad_(False)
    ours = _pair(tmp_path_factory.mktemp('loss'), ref)
    return ref, ours


def test_real_images_match(real_pair, data_dir):
    ref, ours = real_pair
    x, people, sigmas = _people_from_coco8(data_dir, 320)
    batch, samples = _batch(people, 320, 17, 3)
    losses = _compare(ref, ours, x, batch, samples, sigmas)
    assert all(v.item() > 0 for v in losses.values())


def test_image_without_people_and_invisible_keypoints(real_pair, data_dir):
    ref, ours = real_pair
    x, people, sigmas = _people_from_coco8(data_dir, 320)
    people = copy.deepcopy(people[:3])
    people[1] = []  # an image with nobody
    box, kp = people[2][0]
    people[2][0] = (box, np.zeros_like(kp))  # a person with every keypoint unlabelled
    batch, samples = _batch(people, 320, 17, 3)
    _compare(ref, ours, x[:3], batch, samples, sigmas)


def test_batch_without_people_keeps_every_branch_in_the_graph(real_pair):
    ref, ours = real_pair
    x = torch.rand(2, 3, 160, 160)
    batch, samples = _batch([[], []], 160, 17, 3)
    losses = _compare(ref, ours, x, batch, samples, np.full(17, 0.05))
    assert losses['loss_box'].item() == 0 and losses['loss_pose'].item() == 0 and losses['loss_cls'].item() > 0
    assert all(p.grad is not None for p in ours.head.head_module.parameters() if p.requires_grad)


def test_k5_dim2_dataset(tmp_path, ultralytics):
    ref = randomize_batchnorm(build_ultralytics_pose('11', 'n', 1, (5, 2)), seed=4).eval()
    ours = _pair(tmp_path, ref)
    rng = np.random.default_rng(0)
    people = []
    for _ in range(2):
        img = []
        for _ in range(3):
            x1, y1 = rng.uniform(0, 100, 2)
            w, h = rng.uniform(20, 60, 2)
            kp = np.stack([rng.uniform(x1, x1 + w, 5), rng.uniform(y1, y1 + h, 5)], -1)
            img.append((np.array([x1, y1, x1 + w, y1 + h]), kp))
        people.append(img)
    people[0][0] = (np.array([50.0, 60.0, 56.0, 70.0]), np.array([[51.0, 61.0]] * 5))  # smaller than a stride
    batch, samples = _batch(people, 160, 5, 2)
    _compare(ref, ours, torch.rand(2, 3, 160, 160), batch, samples, np.full(5, 0.2))
