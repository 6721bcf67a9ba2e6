#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""One table to choose between pose models (ours and mmpose's one-stage models) on your own data.

    python tools/analysis/compare_models.py \\
        configs/yolopose_n_coco8.py=work_dirs/yolo11n-pose.pth \\
        mmpose::body_2d_keypoint/yoloxpose/coco/yoloxpose_tiny_4xb64-300e_coco-416.py \\
        --data-config configs/yolopose_n_coco8.py

Each model is ``CONFIG`` (random weights) or ``CONFIG=CHECKPOINT``. Columns: parameters, GFLOPs at ``--flops-size``
(2 x multiply-adds, the Ultralytics convention), CPU latency of the network forward (backbone, neck, head; no
pre/post-processing) in eager PyTorch and in ONNX Runtime (median of ``--runs`` after ``--warmup``, ``--threads``
threads, batch 1), and keypoint AP (``coco/AP``) from mmengine's test loop. ``--data-config`` takes the test
dataloader and evaluator (pipeline included) from one config for every model, so all are scored on the same data
by the same metric; without it each model uses its own config's test settings. ``--no-eval`` skips the AP column.
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch


@dataclass
class ModelSpec:
    """One row of the table: a config and an optional checkpoint."""

    config: str
    checkpoint: Optional[str] = None
    name: str = ''


@dataclass
class Row:
    """Measured values of one model (``None`` = not measured, with the reason in ``notes``)."""

    name: str
    params: Optional[int] = None
    gflops: Optional[float] = None
    eager_ms: Optional[float] = None
    ort_ms: Optional[float] = None
    ap: Optional[float] = None
    notes: List[str] = field(default_factory=list)


def parse_model_arg(text: str) -> ModelSpec:
    """``CONFIG`` or ``CONFIG=CHECKPOINT`` -> :class:`ModelSpec` (files are checked here, with the fix)."""
    config, _, checkpoint = text.partition('=')
    if not osp.isfile(resolve_config_path(config)):
        raise ValueError(f'model {text!r}: config file {config} not found (give CONFIG or CONFIG=CHECKPOINT; '
                         "mmpose's own configs as mmpose::body_2d_keypoint/...)")
    if checkpoint and not osp.isfile(checkpoint):
        raise ValueError(f'model {text!r}: checkpoint {checkpoint} not found')
    name = osp.splitext(osp.basename(config))[0]
    return ModelSpec(config=config, checkpoint=checkpoint or None, name=name)


def load_config(path: str):
    """Read a config (``mmpose::`` paths included) with the registries of mmpose and yolopose_mm ready."""
    import yolopose_mm  # noqa: F401  (registers our modules)
    from mmengine.config import Config
    return Config.fromfile(resolve_config_path(path))


def resolve_config_path(path: str) -> str:
    """``mmpose::REL`` -> the file in mmpose's installed configs (``_base_`` accepts that form, fromfile does not)."""
    if not path.startswith('mmpose::'):
        return path
    from mmengine.utils import get_installed_path
    full = osp.join(get_installed_path('mmpose'), '.mim', 'configs', path[len('mmpose::'):])
    if not osp.isfile(full):
        raise ValueError(f'{path}: no such config in the installed mmpose ({full})')
    return full


def build_model(cfg, checkpoint: Optional[str]) -> torch.nn.Module:
    """The pose estimator of ``cfg`` in eval mode, on CPU, with ``checkpoint``'s weights when given."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model_cfg = copy.deepcopy(cfg.model)
    _drop_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    return model.eval()


def _drop_pretrained(node) -> None:
    """Remove ``init_cfg=Pretrained`` (downloads at build time); speed and size do not depend on it."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and (init.get('type') == 'Pretrained' or 'checkpoint' in init):
            node['init_cfg'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def median_ms(fn: Callable[[], object], runs: int, warmup: int) -> float:
    """Median wall time of ``fn`` in milliseconds over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _flat_outputs(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat_outputs(o)]
    return []


class _Network(torch.nn.Module):
    """Backbone -> neck -> head.forward, outputs flattened into a tuple of tensors (exportable to ONNX)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        feats = self.model.extract_feat(x)
        return tuple(_flat_outputs(self.model.head.forward(feats)))


def measure_latency(model: torch.nn.Module, size: int, runs: int, warmup: int, threads: int,
                    work_dir: str, notes: List[str]) -> Dict[str, Optional[float]]:
    """Eager and ONNX Runtime CPU latency (ms) of the network forward at ``size`` x ``size``."""
    torch.set_num_threads(threads)
    net = _Network(model).eval()
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        eager = median_ms(lambda: net(x), runs, warmup)
    ort_ms = None
    try:
        import onnxruntime as ort
        path = osp.join(work_dir, 'model.onnx')
        with torch.no_grad():
            torch.onnx.export(net, (x,), path, input_names=['input'], opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
        feed = {'input': x.numpy()}
        ort_ms = median_ms(lambda: sess.run(None, feed), runs, warmup)
    except Exception as e:  # report the reason in the table notes, keep the other columns
        notes.append(f'ONNX Runtime: {type(e).__name__}: {str(e).splitlines()[0][:160]}')
    return {'eager_ms': eager, 'ort_ms': ort_ms}


def evaluate_ap(cfg, checkpoint: Optional[str], data_cfg, work_dir: str, notes: List[str]) -> Optional[float]:
    """``coco/AP`` of the model on ``data_cfg``'s test data (or the model config's own) via mmengine's Runner."""
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    if data_cfg is not None:
        cfg.test_dataloader = copy.deepcopy(data_cfg.test_dataloader)
        cfg.test_evaluator = copy.deepcopy(data_cfg.test_evaluator)
    cfg.test_dataloader['num_workers'] = 0
    cfg.test_dataloader['persistent_workers'] = False
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    cfg.experiment_name = f'compare_{osp.basename(work_dir)}_{time.time_ns()}'
    cfg.visualizer = dict(type='PoseLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                          name=cfg.experiment_name)
    _drop_pretrained(cfg.model)
    metrics = Runner.from_cfg(cfg).test()
    for key in ('coco/AP', 'AP'):
        if key in metrics:
            return float(metrics[key])
    notes.append(f'no coco/AP among the metrics {sorted(metrics)}')
    return None


def measure(spec: ModelSpec, args: argparse.Namespace, data_cfg) -> Row:
    """All columns of one model."""
    from yolopose_mm.analysis import model_summary
    row = Row(name=spec.name + ('' if spec.checkpoint else ' (random init)'))
    cfg = load_config(spec.config)
    model = build_model(cfg, spec.checkpoint)
    summary = model_summary(model, (args.flops_size, args.flops_size))
    row.params, row.gflops = int(summary['params']), float(summary['gflops'])
    with tempfile.TemporaryDirectory(prefix='compare_models_') as tmp:
        row.__dict__.update(measure_latency(model, args.latency_size, args.runs, args.warmup, args.threads, tmp,
                                            row.notes))
        if not args.no_eval:
            row.ap = evaluate_ap(cfg, spec.checkpoint, data_cfg, osp.join(tmp, 'eval'), row.notes)
    return row


def format_table(rows: Sequence[Row], args: argparse.Namespace) -> str:
    """A Markdown table of the rows (``-`` where a value was not measured) plus numbered notes."""
    def fmt(v, f):
        return '-' if v is None else format(v, f)

    head = (f'| model | params | GFLOPs@{args.flops_size} | eager CPU ms@{args.latency_size} | '
            f'ORT CPU ms@{args.latency_size} | keypoint AP |')
    lines = [head, '| --- | ---: | ---: | ---: | ---: | ---: |']
    notes = []
    for r in rows:
        lines.append(f'| {r.name} | {fmt(r.params, ",")} | {fmt(r.gflops, ".2f")} | {fmt(r.eager_ms, ".1f")} | '
                     f'{fmt(r.ort_ms, ".1f")} | {fmt(r.ap, ".4f")} |')
        notes += [f'{r.name}: {n}' for n in r.notes]
    lines.append(f'\nlatency: batch 1, network forward only, median of {args.runs} runs after {args.warmup}, '
                 f'{args.threads} thread(s); AP: coco/AP on '
                 f'{args.data_config or "each config own test data"}')
    lines += [f'note: {n}' for n in notes]
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='+', help='CONFIG or CONFIG=CHECKPOINT, one per model')
    parser.add_argument('--data-config', help='take test_dataloader + test_evaluator from this config for all')
    parser.add_argument('--flops-size', type=int, default=640, help='square input side for FLOPs (640)')
    parser.add_argument('--latency-size', type=int, default=640, help='square input side for latency (640)')
    parser.add_argument('--runs', type=int, default=10, help='timed runs per backend (median reported)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs first')
    parser.add_argument('--threads', type=int, default=min(4, os.cpu_count() or 1), help='CPU threads')
    parser.add_argument('--no-eval', action='store_true', help='skip the keypoint AP column')
    args = parser.parse_args(argv)
    for name in ('flops_size', 'latency_size', 'runs', 'threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    for side in (args.flops_size, args.latency_size):
        if side % 32:
            parser.error(f'input sides must be multiples of 32 (the models stride), got {side}')
    try:
        if args.data_config and not osp.isfile(resolve_config_path(args.data_config)):
            raise ValueError(f'--data-config {args.data_config} not found')
        args.specs = [parse_model_arg(m) for m in args.models]
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    data_cfg = load_config(args.data_config) if args.data_config else None
    rows = [measure(spec, args, data_cfg) for spec in args.specs]
    print(format_table(rows, args))
    return 0


if __name__ == '__main__':
    from yolopose_mm.converters import exit_on_checkpoint_error  # a bad checkpoint: one line, exit 2/3/4
    sys.exit(exit_on_checkpoint_error(main)())
