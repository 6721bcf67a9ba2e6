# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Samples with nobody in them (background images, people without keypoints, mosaics and warps that crop everyone
out) go through every training pipeline and train, over a real dataset where most images are background."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets import SampleKey

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / 'tests' / 'configs' / 'coco8_tiny.py'
# regions of bus.jpg (810 x 1080) without a person: facade, bus body, pavement
BACKGROUND_CROPS = {'facade': (0, 0, 810, 220), 'bus': (380, 250, 740, 560), 'street': (150, 920, 650, 1080)}


def background_majority_dataset(root: Path, data_dir: Path, k: int = 17, dim: int = 3) -> Path:
    """A YOLO pose dataset of real images: the 4 coco8-pose train images (one with its people's keypoints removed)
    and 6 background images (3 crops of bus.jpg, also flipped), half with an empty label file, half with none.

    ``k`` < 17 keeps the first k keypoints, ``dim`` 2 drops visibility (keypoints with v = 0 are kept, at 0, 0).
    """
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    src = data_dir / 'coco8-pose'
    for n, img in enumerate(sorted((src / 'images' / 'train').glob('*.jpg'))):
        (root / 'images' / img.name).write_bytes(img.read_bytes())
        rows = []
        for line in (src / 'labels' / 'train' / f'{img.stem}.txt').read_text().split('\n'):
            if not line.strip():
                continue
            v = [float(x) for x in line.split()]
            kpts = np.array(v[5:], np.float64).reshape(17, 3)[:k]
            if n == 0:
                kpts[:] = 0.0  # people labelled with boxes only
            kpts = kpts[:, :dim]
            rows.append(' '.join(f'{x:g}' for x in v[:5] + kpts.reshape(-1).tolist()))
        (root / 'labels' / f'{img.stem}.txt').write_text('\n'.join(rows) + '\n')
    bus = cv2.imread(str(data_dir / 'images' / 'bus.jpg'))
    for i, (name, (x1, y1, x2, y2)) in enumerate(BACKGROUND_CROPS.items()):
        crop = bus[y1:y2, x1:x2]
        for j, img in enumerate((crop, cv2.flip(crop, 1))):
            cv2.imwrite(str(root / 'images' / f'bg_{name}_{j}.jpg'), img)
            if j == 0:
                (root / 'labels' / f'bg_{name}_{j}.txt').write_text('')
    flip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15] if k == 17 else list(range(k))
    yaml = root / 'data.yaml'
    yaml.write_text(f'path: {root}\ntrain: images\nval: images\nkpt_shape: [{k}, {dim}]\nflip_idx: {flip}\n'
                    'names:\n  0: person\n')
    return yaml


def _head_for(k: int, dim: int):
    cfg = Config.fromfile(str(TINY))
    cfg.model.head.update(num_keypoints=k, keypoint_dim=dim)
    model = MODELS.build(cfg.model)
    model.head.set_sigmas([0.05] * k)
    return model


@pytest.mark.parametrize('k, dim', [(17, 3), (17, 2), (5, 3)], ids=['coco17', 'dim2', 'k5'])
def test_every_sample_goes_through_every_pipeline(tmp_path, data_dir, k, dim):
    init_default_scope('mmpose')
    yaml = background_majority_dataset(tmp_path / 'data', data_dir, k, dim)
    cfg = Config.fromfile(str(TINY))
    empty = 0
    for pipeline in (cfg.train_pipeline, cfg.no_mosaic_pipeline):
        ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(yaml), split='train', pipeline=pipeline,
                                 cache_dir=str(tmp_path / 'labels')))
        assert len(ds) == 10
        pool = tuple(range(len(ds)))
        for epoch in range(2):
            for i in range(len(ds)):
                out = ds[SampleKey(i, 0, epoch, pool)]
                inst = out['data_samples'].gt_instance_labels
                assert out['inputs'].shape == (3, 160, 160)
                assert inst.keypoints.shape[1:] == (k, 2) and inst.keypoints_visible.shape[1:] == (k,)
                empty += len(inst.bboxes) == 0
    assert empty > 10  # most samples have nobody left

    # a mosaic made only of background images, as a batch of its own, through the loss
    bg = [i for i in range(len(ds)) if Path(ds.get_data_info(i)['img_path']).name.startswith('bg_')]
    ds = DATASETS.build(dict(type='YOLOPoseDataset', data_yaml=str(yaml), split='train', pipeline=cfg.train_pipeline,
                             cache_dir=str(tmp_path / 'labels')))
    batch = pseudo_collate([ds[SampleKey(i, 0, 0, tuple(bg))] for i in bg[:2]])
    assert all(len(s.gt_instance_labels.bboxes) == 0 for s in batch['data_samples'])
    model = _head_for(k, dim)
    data = model.data_preprocessor(batch, training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_cls'] > 0 and losses['loss_box'] == 0 and losses['loss_pose'] == 0


@pytest.mark.slow
def test_background_majority_trains_and_is_evaluated(tmp_path, data_dir):
    """tools/train.py: 2 mosaic epochs + 1 without mosaic, one image per batch (so batches without anybody, and
    mosaics of background images only, reach the loss), then validation on the same images."""
    yaml = background_majority_dataset(tmp_path / 'data', data_dir)
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(TINY), '--work-dir', str(tmp_path / 'work'),
           '--cfg-options', 'train_cfg.max_epochs=3', 'train_cfg.val_interval=3', 'train_dataloader.batch_size=1',
           f'train_dataloader.dataset.data_yaml={yaml}', f'val_dataloader.dataset.data_yaml={yaml}',
           'default_hooks.logger.interval=5']
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'YOLOPoseDataset[train]: 10 images, 3 without labels (background)' in log
    assert 'CloseMosaicHook: epoch 3' in log
    assert log.count('Epoch(train) [3][10/10]') == 1  # every sample of every epoch was trained on
    assert re.search(r'Epoch\(val\) \[3\]\[(\d+)/\1\]', log) and 'coco/AP' in log  # (rect batches of 32)
    assert (tmp_path / 'work' / 'epoch_3.pth').exists()
