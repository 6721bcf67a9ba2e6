# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics' multi-GPU and nominal-batch semantics: loss x world size, accumulation to 64 images with the warmup
ramp, weight-decay scaling, warmup length; checked in real Runner runs, in 2-process gloo DDP and against
Ultralytics 8.4.190's own trainer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from toy_schedule import recorder, toy_runner
from yolopose_mm.engine import YOLOOptimWrapper, plan_nominal_batch, warmup_iterations

REPO = Path(__file__).resolve().parents[1]

# Ultralytics 8.4.190's trainer (BaseTrainer._do_train), run by tests/ultralytics_schedule.py on 64 images (the 4
# coco8-pose train images x 16), warmup_epochs=1, nbs=64, SGD with weight_decay=5e-4, CPU: the iterations at which
# it called optimizer_step, and the weight decay of its 'weight' parameter group, keyed by (batch, epochs).
#     python tests/ultralytics_schedule.py OUT_DIR --images 64 --batch B --epochs E
ULTRALYTICS = {
    (8, 4): dict(steps=[0, 4, 12, 20, 28], weight_decay=5e-4),  # 8 iterations / epoch; accumulate 1, 4, 8, 8, 8
    (16, 4): dict(steps=[0, 2, 6, 10, 14], weight_decay=5e-4),  # 4 iterations / epoch; accumulate 1, 2, 4, 4, 4
    (8, 3): dict(steps=[0, 4, 12, 20], weight_decay=5e-4),
    (16, 3): dict(steps=[0, 2, 6, 10], weight_decay=5e-4),
    (24, 3): dict(steps=[0, 2, 5, 8], weight_decay=5.625e-4),  # 3 iterations / epoch, accumulate 3, wd x 24 x 3 / 64
}
# the same on the 4 coco8-pose train images x 2 at batch 8: 1 iteration / epoch, accumulate 8 capped at the run's 3
ULTRALYTICS_TINY = dict(images=8, batch=8, steps=[0], weight_decay=5e-4)


def _plan(world, batch, images=64, epochs=3, warmup_epochs=1.0):
    iters = -(-images // (batch * world))
    return plan_nominal_batch(world, batch, iters, epochs, warmup_iterations(warmup_epochs, epochs, iters), 64)


def test_plan_formulas():
    p8, p16 = _plan(1, 8), _plan(1, 16)
    assert (p8.accumulate, p8.weight_decay_scale, p8.warmup_iters) == (8, 1.0, 8)
    assert (p16.accumulate, p16.weight_decay_scale, p16.warmup_iters) == (4, 1.0, 4)
    two = _plan(2, 8)
    assert (two.total_batch, two.accumulate, two.weight_decay_scale, two.warmup_iters) == (16, 4, 1.0, 4)
    assert two.step_iterations() == p16.step_iterations()
    big = plan_nominal_batch(8, 16, 1000, 10, 3000, 64)  # 8 GPUs x 16: 128 > 64, round(0.5) = 0 -> 1, wd x 2
    assert (big.accumulate, big.weight_decay_scale) == (1, 2.0)
    odd = plan_nominal_batch(1, 24, 10, 3, 0, 64)  # round(2.67) = 3, wd x 24 * 3 / 64
    assert (odd.accumulate, odd.weight_decay_scale) == (3, 1.125)
    tiny = _plan(1, 8, images=8)  # 8 images, batch 8: accumulate capped at the run's 3 iterations
    assert (tiny.accumulate, tiny.weight_decay_scale, tiny.warmup_iters) == (3, 1.0, 1)
    assert tiny.step_iterations() == ULTRALYTICS_TINY['steps']
    off = plan_nominal_batch(4, 16, 10, 3, 5, None)
    assert (off.accumulate, off.weight_decay_scale) == (1, 1.0) and off.step_iterations() == list(range(30))
    # warmup: round(min(warmup_epochs, epochs - 1) x iterations), 0 for 1-epoch runs; the optional floor of 8.0-8.3
    assert warmup_iterations(3.0, 600, 7330) == 21990 and warmup_iterations(3.0, 2, 10) == 10
    assert warmup_iterations(3.0, 1, 10) == 0 and warmup_iterations(0.5, 10, 5, min_iters=100) == 100
    with pytest.raises(ValueError, match='nominal_batch'):
        plan_nominal_batch(1, 8, 1, 1, 0, 0)
    assert 'accumulate 4' in two.describe(5e-4) and 'weight decay 0.0005 x 1 = 0.0005' in two.describe(5e-4)


@pytest.mark.parametrize('batch, epochs', sorted(ULTRALYTICS))
def test_plan_matches_ultralytics_cited_values(batch, epochs):
    plan = _plan(1, batch, epochs=epochs)
    assert plan.step_iterations() == ULTRALYTICS[batch, epochs]['steps']
    assert 5e-4 * plan.weight_decay_scale == pytest.approx(ULTRALYTICS[batch, epochs]['weight_decay'])


@pytest.mark.slow
def test_ultralytics_trainer_gives_the_cited_schedule(tmp_path, data_dir, ultralytics):
    """Re-run Ultralytics' trainer for the batch-8, 4-epoch row of the citation (the others: same script)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', YOLOPOSE_DATA=str(data_dir))
    proc = subprocess.run([sys.executable, str(REPO / 'tests' / 'ultralytics_schedule.py'), str(tmp_path),
                           '--batch', '8', '--epochs', '4'], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record['steps'] == ULTRALYTICS[8, 4]['steps'] and record['accumulate'] == [1, 4, 8, 8, 8]
    assert record['weight_decay'][0] == pytest.approx(ULTRALYTICS[8, 4]['weight_decay'])


@pytest.mark.parametrize('batch', [8, 16])
def test_one_process_run_steps_like_ultralytics(tmp_path, batch):
    """A real Runner run (64 images, 4 epochs, 1 warmup epoch) steps the optimizer at Ultralytics' iterations:
    at batch 8 every 8 iterations after the warmup ramp (0, 4, then 12, 20, 28), at 16 every 4 (0, 2, then 6, 10,
    14), with weight decay x 1."""
    runner = toy_runner(str(tmp_path), batch, epochs=4)
    runner.train()
    rec = recorder(runner)
    assert rec.steps == ULTRALYTICS[batch, 4]['steps']
    assert rec.weight_decays[1] == pytest.approx(ULTRALYTICS[batch, 4]['weight_decay'])  # the decayed group, x 1
    assert rec.weight_decays[0] == rec.weight_decays[2] == 0.0  # biases, norms
    assert runner.optim_wrapper.plan.accumulate == 64 // batch


def _torchrun(args, port, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES='')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(port),
           str(REPO / 'tests' / 'ddp_workers.py'), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


@pytest.mark.slow
def test_two_ranks_of_8_schedule_like_one_process_of_16(tmp_path):
    _torchrun(['schedule', tmp_path, 8], 29541)
    two = json.loads((tmp_path / 'schedule.json').read_text())
    assert two['world_size'] == 2 and two['iters'] == 12  # 3 epochs x 4 iterations per rank
    assert 'world size 2, per-GPU batch 8, total batch 16, nominal batch 64 -> accumulate 4' in two['plan']
    single = toy_runner(str(tmp_path / 'single'), 16)
    single.train()
    assert two['steps'] == recorder(single).steps == ULTRALYTICS[16, 3]['steps']
    assert two['weight_decays'] == recorder(single).weight_decays


def test_resume_in_the_middle_of_an_accumulation_continues_exactly(tmp_path):
    """Gradients summed since the last step travel in the checkpoint: stopping and resuming at an iteration that
    is not a step boundary ends with the weights of the uninterrupted run."""
    full = toy_runner(str(tmp_path / 'full'), 8)
    full.train()
    ckpt = torch.load(tmp_path / 'full' / 'epoch_2.pth', map_location='cpu')  # iteration 16: inside 12..20
    state = ckpt['optimizer']['yolo_accumulation']
    assert state['last_step_iter'] == 12 and state['pending_grads'] is not None
    cont = toy_runner(str(tmp_path / 'cont'), 8, resume_from=str(tmp_path / 'full' / 'epoch_2.pth'))
    cont.train()
    assert recorder(cont).steps == [20]
    for a, b in zip(full.model.parameters(), cont.model.parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-7), (a, b)


def test_wrapper_refuses_mmengine_accumulation_and_needs_the_hook():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match='nominal_batch'):
        YOLOOptimWrapper(opt, accumulative_counts=4)
    with pytest.raises(ValueError, match='nominal_batch'):
        YOLOOptimWrapper(opt, nominal_batch=0)
    wrapper = YOLOOptimWrapper(opt, nominal_batch=64)
    with pytest.raises(RuntimeError, match='YOLOLrMomentumHook'):
        wrapper.update_params(model(torch.ones(1, 2)).sum())


@pytest.fixture(scope='module')
def yolo_grads(data_dir, tmp_path_factory):
    """Single-process gradients of each half of the 4 coco8-pose train images, and the weights used."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    sys.path.insert(0, str(REPO / 'tests'))
    from ddp_workers import half_batch
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(REPO / 'tests/configs/coco8_tiny_plain.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    tmp = tmp_path_factory.mktemp('ddp')
    torch.save(model.state_dict(), tmp / 'weights.pth')
    model.train()
    yaml = str(data_dir / 'coco8-pose' / 'coco8-pose.yaml')
    total = {}
    for rank in (0, 1):
        batch, sigmas = half_batch(yaml, rank, cfg)
        model.head.set_sigmas(sigmas)
        model.zero_grad()
        data = model.data_preprocessor(batch, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                total[n] = total.get(n, 0) + p.grad.detach().clone()
    return tmp, yaml, total


@pytest.mark.slow
def test_ddp_gradient_is_the_sum_of_the_halves(yolo_grads):
    """2 gloo ranks, each with half of the batch, through the Runner's MMDistributedDataParallel and
    YOLOOptimWrapper: the gradient equals the sum of the single-process gradients of the halves (Ultralytics'
    loss x world size), not their mean."""
    tmp, yaml, ref = yolo_grads
    _torchrun(['grad', tmp, tmp / 'weights.pth', yaml], 29543)
    ddp = torch.load(tmp / 'ddp_grads.pth')
    assert ddp.keys() == ref.keys() and len(ref) > 100
    worst, mean_gap = 0.0, 1.0
    # Gradients that are zero up to float rounding (the BatchNorm biases of the attention block measure ~1e-7,
    # against ~1e-1 for typical tensors) are compared absolutely: their relative difference is rounding noise
    # that depends on the thread count (1.76 was measured for one of them, 8e-8 vs 1.1e-7).
    floor = 1e-5 * max(g.norm().item() for g in ref.values())
    for name, g in ref.items():
        norm = g.norm().item()
        if norm <= floor:
            assert ddp[name].norm().item() <= 2 * floor, name
            continue
        worst = max(worst, (ddp[name] - g).norm().item() / norm)
        mean_gap = min(mean_gap, (ddp[name] - g / 2).norm().item() / norm)  # what DDP's plain average would give
    print(f'DDP gradient vs sum of the halves: largest relative difference {worst:.2e} over {len(ref)} tensors')
    assert worst <= 1e-3, f'largest relative difference {worst:.2e}'
    assert mean_gap > 0.4  # the mean of the halves (mmengine's DDP without the world-size factor) is 0.5 away
