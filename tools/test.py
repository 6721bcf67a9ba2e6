#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Test (evaluate) a pose model on a config's test set, in mmpose's style.

    python tools/test.py configs/yolopose_n_coco8.py work_dirs/yolo11n-pose.pth
    python tools/test.py configs/yolopose_n_coco.py yolo11n-pose.pt --out results.json --show-dir vis \\
        --cfg-options data_root=/data/coco/
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [options]
    python tools/test.py CONFIG work_dirs/ort/end2end.onnx --deploy-cfg configs/deploy/DEPLOY_CFG.py   # exported

CHECKPOINT may be an Ultralytics ``.pt`` (converted safely into the work dir first). With ``--deploy-cfg`` it is
the exported model (``.onnx``, OpenVINO ``.xml``, ncnn ``.param``, TensorRT ``.engine``, or their folder), run
through mmdeploy's backend model, or a checkpoint that is first exported with that deploy config (NMS at the
config's test_cfg) into ``{work_dir}/export``. ``--out x.json`` writes the predictions as COCO results
(YOLOPoseMetric); ``--out x.pkl`` dumps the raw predictions (mmengine DumpResults). The metrics are written to
``{work_dir}/metrics.json`` too. Exit status: 0 done; 2 config or checkpoint not found (or a bad option, or an
exported model that does not fit the config); 3 checkpoint refused as unsafe (nothing from it was run); 4
checkpoint unreadable or unsupported.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import numpy as np


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    import yolopose_mm  # noqa: F401  (first: its warning filters apply to the OpenMMLab imports)
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint (.pth from yolopose_mm / mmengine, or an Ultralytics .pt)')
    parser.add_argument('--work-dir', help='where logs and metrics go (default: work_dirs/<config name>)')
    parser.add_argument('--out', help='predictions: .json = COCO results (YOLOPoseMetric), .pkl = raw dump')
    parser.add_argument('--show-dir', help='write each test image with its predictions drawn into this folder')
    parser.add_argument('--show-score-thr', type=float, default=0.25,
                        help='people drawn in --show-dir: score >= this (default 0.25, the predict default)')
    parser.add_argument('--interval', type=int, default=1, help='draw every n-th image with --show-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help="config overrides, e.g. 'data_root=/data/coco/ test_dataloader.batch_size=8'")
    parser.add_argument('--deploy-cfg', help='evaluate an exported model: mmdeploy deploy config it was exported '
                        'with (configs/deploy/...); CHECKPOINT is then the backend model file')
    parser.add_argument('--square', type=int, nargs='?', const=0, default=None, metavar='SIZE',
                        help='evaluate with the square letterbox protocol (every image letterboxed to SIZE x SIZE, '
                        'default the config\'s size; no rectangular batches): what a fixed-size export takes')
    parser.add_argument('--device', default='cpu', help='device of the exported model with --deploy-cfg (cuda:0 '
                        'for TensorRT)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (dist_test.sh uses pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.out and not args.out.endswith(('.json', '.pkl', '.pickle')):
        parser.error(f'--out must end with .json (COCO results) or .pkl (raw predictions), got {args.out}')
    if args.interval < 1:
        parser.error(f'--interval must be >= 1, got {args.interval}')
    return args


def _evaluators(cfg) -> list:
    ev = cfg.test_evaluator
    return list(ev) if isinstance(ev, (list, tuple)) else [ev]


def merge_args(cfg, args: argparse.Namespace):
    """Apply the command line to the config (returns the same Config object)."""
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        import torch
        if not torch.cuda.is_available():
            cfg.env_cfg.dist_cfg = dict(backend='gloo')  # NCCL needs GPUs
            # mmengine's default wrapper passes device_ids=[LOCAL_RANK], which DDP rejects for CPU modules
            if cfg.get('model_wrapper_cfg') is None:
                cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                             broadcast_buffers=False)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out and args.out.endswith('.json'):
        ours = [e for e in _evaluators(cfg) if e.get('type') == 'YOLOPoseMetric']
        if not ours:
            raise ValueError(f'--out {args.out}: COCO results need test_evaluator type YOLOPoseMetric (the config '
                             f'has {[e.get("type") for e in _evaluators(cfg)]}); use --out results.pkl instead')
        ours[0]['results_json'] = osp.abspath(args.out)
    elif args.out:
        cfg.test_evaluator = [*_evaluators(cfg), dict(type='DumpResults', out_file_path=args.out)]
    return cfg


def _show_hook(out_dir: str, score_thr: float, interval: int):
    """A hook that draws each test image's confident predictions (yolopose_mm.visualization.draw_pose)."""
    from mmengine.hooks import Hook

    from yolopose_mm.visualization import draw_pose

    class ShowPredictions(Hook):
        priority = 'LOW'

        def __init__(self) -> None:
            self.count = 0

        def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            meta = runner.test_evaluator.dataset_meta
            for sample in outputs or []:
                self.count += 1
                if (self.count - 1) % interval:
                    continue
                keep = np.asarray(sample.pred_instances.bbox_scores) >= score_thr
                shown = sample.clone()
                shown.pred_instances = sample.pred_instances[keep]
                stem, ext = osp.splitext(osp.basename(sample.img_path))
                out_file = osp.join(out_dir, f'{stem}_{self.count - 1}{ext or ".jpg"}')
                draw_pose(sample.img_path, shown, meta, out_file=out_file)

    os.makedirs(out_dir, exist_ok=True)
    return ShowPredictions()


def _init_cpu_process_group(launcher: str) -> None:
    """gloo on machines without a GPU, started here: mmengine's init_dist calls torch.cuda.set_device, which fails
    there (the Runner then finds the process group initialised and uses it)."""
    import torch
    import torch.distributed as dist
    if launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def _test_exported(cfg, args: argparse.Namespace) -> int:
    """--deploy-cfg: evaluate the exported model through mmdeploy's backend model (yolopose_mm.deploy.evaluate)."""
    from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error
    try:
        from yolopose_mm.deploy.evaluate import test_exported
        hooks = [_show_hook(args.show_dir, args.show_score_thr, args.interval)] if args.show_dir else []
        metrics = test_exported(cfg, args.deploy_cfg, args.checkpoint, cfg.work_dir, args.device, hooks,
                                config_name=args.config)
    except checkpoint_errors() as e:
        return report_checkpoint_error(e, args.checkpoint)
    except (FileNotFoundError, ValueError, ImportError, RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    _write_metrics(metrics, cfg.work_dir)
    return 0


def _write_metrics(metrics, work_dir: str) -> None:
    if metrics is not None:
        path = osp.join(work_dir, 'metrics.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=1)
        print(f'metrics written to {path}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.runner import Runner

    if not osp.isfile(args.config):
        print(f'error: config not found: {args.config}', file=sys.stderr)
        return 2
    try:
        cfg = merge_args(Config.fromfile(args.config), args)
        if args.square is not None:
            from yolopose_mm.deploy.evaluate import square_test_protocol
            square_test_protocol(cfg, args.square or None)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.deploy_cfg:
        return _test_exported(cfg, args)
    from yolopose_mm.apis.checkpoints import prepare_checkpoint
    from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error
    try:  # a checkpoint that is missing (2), refused as unsafe (3) or unreadable (4): one line
        cfg.load_from = prepare_checkpoint(args.checkpoint, cfg.work_dir)
        _init_cpu_process_group(args.launcher)
        runner = Runner.from_cfg(cfg)
        if args.show_dir:
            runner.register_hook(_show_hook(args.show_dir, args.show_score_thr, args.interval), 'LOW')
        metrics = runner.test()
    except checkpoint_errors() as e:
        return report_checkpoint_error(e, args.checkpoint)
    if metrics is not None and runner.rank == 0:
        path = osp.join(cfg.work_dir, 'metrics.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=1)
        print(f'metrics written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
