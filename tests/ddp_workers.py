# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Worker processes for tests/test_nominal_batch.py, started by torchrun with the gloo backend (CPU only):

    python -m torch.distributed.run --nproc_per_node 2 tests/ddp_workers.py schedule OUT_DIR BATCH
    python -m torch.distributed.run --nproc_per_node 2 tests/ddp_workers.py grad OUT_DIR WEIGHTS DATA_YAML

``schedule``: the toy Runner of tests/toy_schedule.py at BATCH per rank; rank 0 writes the optimizer-step
iterations and weight decays to OUT_DIR/schedule.json.
``grad``: YOLO11-pose-n built by tools/train.py's config handling and mmengine's Runner (so the model is the
``MMDistributedDataParallel`` the Runner wraps), WEIGHTS loaded, one ``train_step`` on this rank's half of the 4
coco8-pose train images through ``YOLOOptimWrapper`` in the middle of an accumulation (no optimizer step); rank 0
saves the all-reduced gradients to OUT_DIR/ddp_grads.pth.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / 'tests'), str(REPO / 'tools')]
os.environ['CUDA_VISIBLE_DEVICES'] = ''  # gloo on CPU even on a GPU machine


def schedule(out_dir: Path, batch: int) -> None:
    from toy_schedule import recorder, toy_runner
    runner = toy_runner(str(out_dir / 'work'), batch, launcher='pytorch')
    runner.train()
    rec = recorder(runner)
    if dist.get_rank() == 0:
        (out_dir / 'schedule.json').write_text(json.dumps(dict(
            steps=rec.steps, weight_decays=rec.weight_decays, iters=runner.iter,
            world_size=dist.get_world_size(), plan=runner.optim_wrapper.plan.describe())))


def half_batch(data_yaml: str, rank: int, cfg):
    """This rank's half (images 2r, 2r+1) of coco8-pose train through the plain (deterministic) pipeline."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_yaml = data_yaml
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[i] for i in (2 * rank, 2 * rank + 1)]), dataset.metainfo['sigmas']


def grad(out_dir: Path, weights: str, data_yaml: str) -> None:
    import train
    from mmengine.runner import Runner

    from yolopose_mm.engine import plan_nominal_batch
    args = train.parse_args([str(REPO / 'tests/configs/coco8_tiny_plain.py'), '--work-dir', str(out_dir / 'work'),
                             '--launcher', 'pytorch', '--cfg-options', 'optim_wrapper.nominal_batch=64'])
    cfg = train.build_cfg(args)
    runner = Runner.from_cfg(cfg)
    ddp = runner.model
    assert type(ddp).__name__ == 'MMDistributedDataParallel', type(ddp)
    ddp.module.load_state_dict(torch.load(weights, map_location='cpu'))
    ddp.train()
    rank = dist.get_rank()
    batch, sigmas = half_batch(data_yaml, rank, cfg)
    ddp.module.head.set_sigmas(sigmas)
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    # the middle of a 16-iteration accumulation: iteration 1, last step at 0, so no optimizer step now
    wrapper.plan = plan_nominal_batch(dist.get_world_size(), 2, 100, 1, 0, 64)
    wrapper.initialize_count_status(ddp, 1, 100)
    wrapper.last_step_iter = 0
    wrapper.zero_grad()
    ddp.train_step(batch, optim_wrapper=wrapper)
    assert not wrapper.stepped
    if rank == 0:
        torch.save({n: p.grad.detach().clone() for n, p in ddp.module.named_parameters() if p.grad is not None},
                   out_dir / 'ddp_grads.pth')


if __name__ == '__main__':
    mode, out = sys.argv[1], Path(sys.argv[2])
    dist.init_process_group(backend='gloo')  # mmengine's init_dist would call torch.cuda.set_device
    if mode == 'schedule':
        schedule(out, int(sys.argv[3]))
    else:
        grad(out, sys.argv[3], sys.argv[4])
    dist.barrier()
    dist.destroy_process_group()
