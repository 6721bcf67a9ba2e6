#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Train a pose model with an mmengine Runner (mmpose style).

    python tools/train.py configs/yolopose_n_coco8.py [--work-dir DIR] [--resume [CKPT]] [--amp [fp16|bf16]]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm]
    python tools/train.py --data my.yaml --weights yolo11n-pose.pt --epochs 100 --imgsz 640   # Ultralytics-style

Distributed: tools/dist_train.sh CONFIG GPUS [args] (torchrun; NCCL on GPU, gloo on CPU).
--load-from takes an mmengine .pth or an Ultralytics .pt (converted safely into the work dir). Exit status: 0 done;
1 bad arguments; 2 checkpoint not found; 3 checkpoint refused as unsafe (nothing from it was run); 4 checkpoint
unreadable, truncated or unsupported (a corrupt auto-resume checkpoint falls back to the newest good one).
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    import yolopose_mm  # noqa: F401  (first: its warning filters apply to the OpenMMLab imports)
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?', help='train config file path (optional with --data / --weights)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no path is given')
    parser.add_argument('--amp', nargs='?', const='fp16', choices=['fp16', 'bf16'],
                        help='mixed precision: fp16 (the default when given without a value; with loss scaling) or '
                             'bf16 (no scaling). The loss always computes in fp32. CPU too with the YOLO wrapper')
    parser.add_argument('--load-from', help='initialise weights from this checkpoint (fine-tuning)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, e.g. train_cfg.max_epochs=3 train_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    from yolopose_mm.engine.run_builder import add_run_arguments
    add_run_arguments(parser)  # --data --weights --epochs --batch --imgsz --device --workers --patience ...
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def set_amp(cfg, amp: str) -> None:
    """Switch the config's optimizer wrapper to its mixed-precision variant (fp16 with dynamic loss scaling, or
    bf16). Our YOLO wrappers run on CUDA and CPU; mmengine's ``AmpOptimWrapper`` (for other wrappers) needs a GPU."""
    import torch
    dtype = {'fp16': 'float16', 'bf16': 'bfloat16'}[amp]
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind in ('YOLOOptimWrapper', 'YOLOAmpOptimWrapper'):
        wrapper.type = 'YOLOAmpOptimWrapper'
    elif kind in ('OptimWrapper', 'AmpOptimWrapper'):
        if not torch.cuda.is_available():
            sys.exit(f"error: --amp with optim_wrapper.type='{kind}' uses mmengine's AmpOptimWrapper, which needs a "
                     "CUDA GPU; set optim_wrapper.type='YOLOAmpOptimWrapper' (runs on CPU too) or train without --amp")
        wrapper.type = 'AmpOptimWrapper'
    else:
        sys.exit(f"error: --amp does not know how to add mixed precision to optim_wrapper.type='{kind}'; use "
                 "'YOLOOptimWrapper' or 'OptimWrapper'")
    wrapper.dtype = dtype
    if dtype == 'float16':
        wrapper.setdefault('loss_scale', 'dynamic')


def build_cfg(args):
    import torch
    from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error
    from yolopose_mm.engine.run_builder import build_run_config
    try:
        cfg = build_run_config(args)  # the config, or the --weights family, with the Ultralytics-style options
    except checkpoint_errors() as e:  # --weights missing (2), refused (3), unreadable (4)
        sys.exit(report_checkpoint_error(e))
    except ValueError as e:
        sys.exit(f'error: {e}')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        set_amp(cfg, args.amp)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            sys.exit(f'error: checkpoint to resume from not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    if args.load_from:
        cfg.load_from = args.load_from
    if torch.cuda.is_available():
        # page-locked batches copy to the GPU asynchronously; on CPU-only machines torch would only warn about it
        for name in ('train_dataloader', 'val_dataloader'):
            if isinstance(cfg.get(name), dict):
                cfg[name].setdefault('pin_memory', True)
    if args.launcher != 'none' and not torch.cuda.is_available():
        cfg.env_cfg.dist_cfg = dict(backend='gloo')  # NCCL needs GPUs
        # mmengine's default wrapper passes device_ids=[LOCAL_RANK], which DDP rejects for CPU modules.
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                         find_unused_parameters=False)
    return cfg


def init_cpu_process_group(launcher: str) -> None:
    """Start torch.distributed with gloo ourselves on machines without a GPU: mmengine's init_dist calls
    torch.cuda.set_device, which fails there. The Runner then finds the group initialised and uses it."""
    import torch
    import torch.distributed as dist
    if launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def main(argv=None) -> int:
    args = parse_args(argv)
    from yolopose_mm.engine.run_builder import select_device
    try:
        select_device(args.device)
    except ValueError as e:
        sys.exit(f'error: {e}')
    import yolopose_mm  # noqa: F401  (registers components, torch 2.14 fixes)
    from mmengine.runner import Runner

    from yolopose_mm.apis.checkpoints import prepare_checkpoint
    from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error
    cfg = build_cfg(args)
    try:  # --load-from / --resume: missing (2), refused as unsafe (3), unreadable (4): one line on stderr
        if cfg.get('load_from') and not cfg.get('resume'):
            cfg.load_from = prepare_checkpoint(cfg.load_from, cfg.work_dir)  # an Ultralytics .pt is converted
        init_cpu_process_group(args.launcher)
        runner = Runner.from_cfg(cfg)
        runner.train()
    except checkpoint_errors() as e:
        return report_checkpoint_error(e)
    return 0


if __name__ == '__main__':
    sys.exit(main())
