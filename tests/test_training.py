# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""End-to-end training with tools/train.py: checkpoints, exact resume, two-process DDP on CPU, learning."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import yolopose_mm  # noqa: F401  (safe globals for loading runner checkpoints)

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / 'tests' / 'configs' / 'coco8_tiny.py'
PLAIN = REPO / 'tests' / 'configs' / 'coco8_tiny_plain.py'


def _train(work_dir: Path, *extra: str, data_dir: Path, timeout: int = 600, config: Path = TINY) -> str:
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--work-dir',
                           str(work_dir), *extra], capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _losses(log: str):
    return [float(line.split(' loss: ')[1].split()[0]) for line in log.splitlines() if 'Epoch(train)' in line]


@pytest.mark.slow
def test_train_and_resume_exactly(tmp_path, data_dir):
    full = tmp_path / 'full'
    log = _train(full, '--cfg-options', 'train_cfg.max_epochs=3', data_dir=data_dir)
    assert (full / 'epoch_3.pth').exists() and len(_losses(log)) == 6
    # an interrupted run left epoch_2.pth behind: resume from it in a fresh work dir and finish
    part = tmp_path / 'part'
    part.mkdir()
    shutil.copy(full / 'epoch_2.pth', tmp_path / 'resume_from.pth')
    log = _train(part, '--resume', str(tmp_path / 'resume_from.pth'), '--cfg-options', 'train_cfg.max_epochs=3',
                 data_dir=data_dir)
    assert 'resumed epoch: 2, iter: 4' in log
    assert len(_losses(log)) == 2  # only epoch 3 ran
    a = torch.load(full / 'epoch_3.pth', map_location='cpu')
    b = torch.load(part / 'epoch_3.pth', map_location='cpu')
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f'{key}.{name} differs after resume'
    opt_a, opt_b = a['optimizer'], b['optimizer']
    for ga, gb in zip(opt_a['param_groups'], opt_b['param_groups']):
        assert {k: v for k, v in ga.items() if k != 'params'} == {k: v for k, v in gb.items() if k != 'params'}
    for sid in opt_a['state']:
        for k, v in opt_a['state'][sid].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(opt_b['state'][sid][k])), f'optimizer {sid}.{k}'


def _tiny_dataset_with_background(tmp_path: Path, data_dir: Path) -> Path:
    root = tmp_path / 'bg_data'
    for sub in ('images/train', 'labels/train'):
        (root / sub).mkdir(parents=True)
    src = data_dir / 'coco8-pose'
    shutil.copy(src / 'images/train/000000000036.jpg', root / 'images/train/a.jpg')
    shutil.copy(src / 'labels/train/000000000036.txt', root / 'labels/train/a.txt')
    shutil.copy(src / 'images/train/000000000049.jpg', root / 'images/train/b.jpg')  # no label: nobody
    (root / 'data.yaml').write_text('path: .\ntrain: images/train\nval: images/train\nkpt_shape: [17, 3]\n'
                                    'flip_idx: [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]\n'
                                    'names:\n  0: person\n')
    return root / 'data.yaml'


@pytest.mark.slow
def test_two_process_ddp_on_cpu_with_an_empty_rank(tmp_path, data_dir):
    yaml_path = _tiny_dataset_with_background(tmp_path, data_dir)
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO), PYTHON=sys.executable,
               PORT='29533', OMP_NUM_THREADS='1')
    # one image with people, one without: with one image per rank, every step has a rank without people
    cmd = ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(PLAIN), '2', '--work-dir', str(tmp_path / 'ddp'),
           '--cfg-options', 'train_cfg.max_epochs=2', f'train_dataloader.dataset.data_yaml={yaml_path}',
           'train_dataloader.batch_size=1']
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    # DDP (find_unused_parameters=False) raises if a rank leaves a parameter without gradient
    assert proc.returncode == 0, out[-4000:]
    assert 'Distributed training: True' in out
    assert out.count('Epoch(train) [2][1/1]') >= 1
    assert (tmp_path / 'ddp' / 'epoch_2.pth').exists()


@pytest.mark.slow
def test_loss_halves_when_learning_a_few_images(tmp_path, data_dir):
    log = _train(tmp_path / 'learn', '--cfg-options', 'train_cfg.max_epochs=60', 'train_dataloader.batch_size=4',
                 'optim_wrapper.optimizer.lr=0.01', 'default_hooks.checkpoint.interval=60', data_dir=data_dir,
                 timeout=1200, config=PLAIN)
    losses = _losses(log)
    assert len(losses) == 60
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.5 * first, (first, last)


def _train_ap(config: Path, ckpt: Path, work_dir: Path, data_dir: Path) -> float:
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), str(config), str(ckpt), '--work-dir',
                           str(work_dir)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    import json
    return json.loads((work_dir / 'metrics.json').read_text())['coco/AP']


@pytest.mark.slow
def test_finetuning_the_coco_model_keeps_train_ap(tmp_path, data_dir, converted_yolo11n):
    config = REPO / 'tests' / 'configs' / 'coco8_finetune.py'
    before = _train_ap(config, converted_yolo11n, tmp_path / 'before', data_dir)
    _train(tmp_path / 'ft', '--load-from', str(converted_yolo11n), data_dir=data_dir, config=config)
    after = _train_ap(config, tmp_path / 'ft' / 'epoch_4.pth', tmp_path / 'after', data_dir)
    assert before > 0.3  # the COCO model already knows these people
    assert after >= before, (before, after)
