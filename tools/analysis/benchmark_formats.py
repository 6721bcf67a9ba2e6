#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Every format of one model: export, keypoint / box AP on the config's test set, latency; ours and Ultralytics'.

    python tools/analysis/benchmark_formats.py CONFIG CHECKPOINT [--pt yolo11n-pose.pt] [--calib IMG_OR_DIR ...]
        [--formats pytorch onnx onnx-int8 openvino openvino-int8 ncnn] [--runs 30] [--json out.json]

Ours: eager PyTorch (BatchNorm folded), ONNX Runtime fp32 / INT8 (QDQ), OpenVINO fp32 / INT8 (NNCF), ncnn; one
static export (NMS in the graph at the config's evaluation settings, score 0.001) feeds ONNX Runtime and OpenVINO,
both INT8 models are calibrated on the same images. Ultralytics (offline, test-only reference), from the same
weights (``--pt``, default CHECKPOINT when it is a ``.pt``): ``export(format=...)`` onnx, openvino, openvino
``int8=True`` with the same calibration images (a temporary YOLO dataset of them), ncnn; its PyTorch model too.

* AP: every model predicts each test image at the square ``--size`` letterbox (what a static export takes) with
  score 0.001, IoU 0.7, 300 per image; the config's evaluator scores all of them (ours through ``test_step`` as in
  ``tools/test.py``, Ultralytics' through its predictor).
* network: one call of the model on the prepared (1, 3, 640, 640) tensor of ``--img`` (ours: through its runtime
  wrapper, NMS included where it is in the graph; theirs: their predictor's AutoBackend, no NMS).
* end to end: image file -> people in image pixels at score 0.25 (read, letterbox, network, NMS, map back): ours
  ``yolopose_mm.apis.inference``, theirs ``YOLO(...).predict``.
Timings are medians over ``--runs`` rounds in which every model runs once in turn (alternated), ``--threads``
threads, with ``--gap-ms`` idle before each call (ONNX Runtime's and OpenMP's worker threads spin-wait after a call:
without the gap our OpenVINO fp32 model, timed right after ONNX Runtime INT8, took 45.6 ms, with it 26.2 ms); the
load average is printed with them. Prints one table and writes it as JSON (``--json``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from format_runners import EVAL_SETS  # noqa: E402  (benchmark helpers next to this file)
DEPLOY = REPO / 'configs' / 'deploy'
DATA = Path(os.environ.get('YOLOPOSE_DATA', REPO.parent / 'shared' / 'data'))
OURS = ('pytorch', 'onnx', 'onnx-int8', 'openvino', 'openvino-int8', 'ncnn')
THEIRS = {'pytorch': None, 'onnx': 'onnx', 'openvino': 'openvino', 'openvino-int8': 'openvino', 'ncnn': 'ncnn'}
DEPLOY_CFGS = {'onnx': 'onnxruntime_static-640x640', 'onnx-int8': 'onnxruntime-int8_static-640x640',
               'openvino': 'openvino_static-640x640', 'openvino-int8': 'openvino-int8_static-640x640',
               'ncnn': 'ncnn_static-640x640'}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint', help='.pth of ours or an Ultralytics .pt (converted)')
    p.add_argument('--pt', help="Ultralytics weights for Ultralytics' rows (default: CHECKPOINT if it is a .pt)")
    p.add_argument('--no-ultralytics', action='store_true', help="only our rows")
    p.add_argument('--calib', nargs='+', default=None,
                   help='calibration images (files, folders, globs) for both INT8 models (default: coco8-pose '
                        'train+val, mmpose_coco_test and images/ of the shared data)')
    p.add_argument('--num-calib', type=int, default=300, help='at most this many calibration images')
    p.add_argument('--formats', nargs='+', default=list(OURS), choices=OURS)
    p.add_argument('--eval-sets', nargs='+', default=['config'], choices=EVAL_SETS,
                   help="test sets scored (keypoint / box AP per set): the config's own, coco8-pose val / train, "
                        "ochuman (COCO-17 data of the shared folder)")
    p.add_argument('--img', default=str(DATA / 'images' / 'bus.jpg'), help='image of the latency runs')
    p.add_argument('--size', type=int, default=640)
    p.add_argument('--runs', type=int, default=30)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--gap-ms', type=float, default=50.0,
                   help='idle ms before each timed call: ONNX Runtime, OpenMP (PyTorch, ncnn) and OpenVINO worker '
                        'threads spin for a while after a call and would slow the next model of the round')
    p.add_argument('--work-dir', default=None, help='keep exports here (default: a temporary folder)')
    p.add_argument('--json', default=None, help='write the table as JSON here')
    return p.parse_args(argv)


def _deploy_cfg(fmt: str, calib: List[str], num_calib: int):
    from mmengine.config import Config

    import yolopose_mm.deploy  # noqa: F401  (registers our rewriters)
    cfg = Config.fromfile(str(DEPLOY / f'pose-detection_yolopose_{DEPLOY_CFGS[fmt]}.py'))
    cfg.codebase_config.post_processing = dict(score_threshold=0.001, iou_threshold=0.7, max_per_img=300)
    if cfg.get('quantization_config'):
        cfg.quantization_config.calibration = dict(images=list(calib), num_images=num_calib)
    return cfg


def export_ours(cfg, checkpoint: str, work: Path, formats: List[str], calib: List[str], num_calib: int) -> Dict:
    """{format: (deploy_cfg, model file, seconds from the checkpoint)} for our exported formats."""
    import numpy as np

    from yolopose_mm.deploy.pipeline import convert_backend, export_ir
    from yolopose_mm.deploy.quantize import quantize_backend
    dummy = np.full((640, 640, 3), 114, np.uint8)
    out: Dict = {}
    onnx_fmts = [f for f in formats if f in ('onnx', 'onnx-int8', 'openvino', 'openvino-int8')]
    if onnx_fmts:
        t = time.perf_counter()
        onnx = export_ir(_deploy_cfg('onnx', calib, num_calib), cfg, checkpoint, dummy, str(work / 'onnx'))
        t_onnx = time.perf_counter() - t
        out['onnx'] = (_deploy_cfg('onnx', calib, num_calib), onnx, t_onnx)
        if 'onnx-int8' in formats:
            d = _deploy_cfg('onnx-int8', calib, num_calib)
            t = time.perf_counter()
            out['onnx-int8'] = (d, quantize_backend(d, cfg, [onnx], str(work / 'onnx'))[0],
                                t_onnx + time.perf_counter() - t)
        if {'openvino', 'openvino-int8'} & set(formats):
            d = _deploy_cfg('openvino', calib, num_calib)
            t = time.perf_counter()
            files = convert_backend(d, onnx, str(work / 'openvino'))
            t_ov = t_onnx + time.perf_counter() - t
            out['openvino'] = (d, files[0], t_ov)
            if 'openvino-int8' in formats:
                d = _deploy_cfg('openvino-int8', calib, num_calib)
                t = time.perf_counter()
                out['openvino-int8'] = (d, quantize_backend(d, cfg, files, str(work / 'openvino'))[0],
                                        t_ov + time.perf_counter() - t)
    if 'ncnn' in formats:
        d = _deploy_cfg('ncnn', calib, num_calib)
        t = time.perf_counter()
        ir = export_ir(d, cfg, checkpoint, dummy, str(work / 'ncnn'))
        out['ncnn'] = (d, convert_backend(d, ir, str(work / 'ncnn'))[0], time.perf_counter() - t)
    return out


def calibration_dataset(images: List[str], work: Path, num_keypoints: int = 17) -> Path:
    """A YOLO dataset yaml over ``images`` (links; labels copied where a coco8-style label exists) for
    Ultralytics' INT8 export, whose calibration reads a dataset's ``val`` split."""
    root = work / 'calib'
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'labels').mkdir(exist_ok=True)
    for i, img in enumerate(images):
        src = Path(img).resolve()
        dst = root / 'images' / f'{i:04d}_{src.name}'
        if not dst.exists():
            os.symlink(src, dst)
        label = Path(str(src.parent).replace(f'{os.sep}images', f'{os.sep}labels', 1)) / (src.stem + '.txt')
        if label.is_file() and label.parent != src.parent:
            shutil.copyfile(label, root / 'labels' / (dst.stem + '.txt'))
    flip = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    yaml = root / 'calib.yaml'
    yaml.write_text(f'path: {root}\ntrain: images\nval: images\nkpt_shape: [{num_keypoints}, 3]\n'
                    f'flip_idx: {flip}\nnames:\n  0: person\n')
    return yaml


def export_theirs(pt: str, work: Path, formats: List[str], calib_yaml: Path, size: int) -> Dict:
    """{format: (path, seconds or None, error or None)} of Ultralytics' exports (offline)."""
    from ultralytics import YOLO
    ref = work / 'ultralytics' / 'model.pt'
    ref.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pt, ref)
    out: Dict = {'pytorch': (str(ref), None, None)}
    for fmt in formats:
        if THEIRS.get(fmt) is None:
            continue
        kwargs = dict(int8=True, data=str(calib_yaml)) if fmt == 'openvino-int8' else {}
        t = time.perf_counter()
        try:
            path = YOLO(str(ref)).export(format=THEIRS[fmt], imgsz=size, **kwargs)
            out[fmt] = (str(path), time.perf_counter() - t, None)
        except Exception as e:  # reported in the table: the reason their format is missing
            out[fmt] = (None, None, f'{type(e).__name__}: {e}'.splitlines()[0][:200])
    return out


def time_round_robin(runners: Dict[str, object], inputs: Dict[str, object], img: str, runs: int,
                     warmup: int, gap_ms: float = 0.0) -> Dict[str, Dict]:
    """Median ms of ``network(inputs[key])`` and ``predict(img, 0.25)`` per runner; every runner once per round,
    in turn, ``gap_ms`` of idle time before each call (the previous runtime's worker threads stop spinning)."""
    times = {k: {'network': [], 'end_to_end': []} for k in runners}
    for r in range(warmup + runs):
        for what in ('network', 'end_to_end'):
            for key, runner in runners.items():
                time.sleep(gap_ms / 1e3)
                t = time.perf_counter()
                runner.network(inputs[key]) if what == 'network' else runner.predict(img, 0.25)
                if r >= warmup:
                    times[key][what].append((time.perf_counter() - t) * 1e3)
    return {k: {w: statistics.median(v) for w, v in d.items()} for k, d in times.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='yolo_cfg_'))
    for path in (args.config, args.checkpoint, args.img):
        if not os.path.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    import torch

    from format_agreement import agreement
    from format_runners import (OursEager, OursExported, Theirs, eval_set_config, eval_set_images, evaluate,
                                square_config)
    from yolopose_mm.deploy.calibration import calibration_images
    torch.set_num_threads(args.threads)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix='bench_formats_'))
    work.mkdir(parents=True, exist_ok=True)
    cfg = square_config(args.config, args.size)
    checkpoint = args.checkpoint
    if checkpoint.endswith('.pt'):
        from yolopose_mm.converters import save_converted
        checkpoint = str(work / 'model.pth')
        save_converted(args.checkpoint, checkpoint)
    pt = args.pt or (args.checkpoint if args.checkpoint.endswith('.pt') else None)
    calib_src = args.calib or [str(DATA / 'coco8-pose' / 'images'), str(DATA / 'mmpose_coco_test'),
                               str(DATA / 'images')]
    calib = calibration_images(cfg, dict(images=calib_src, num_images=args.num_calib))
    print(f'calibration: {len(calib)} images from {calib_src}')

    exported = export_ours(cfg, checkpoint, work, args.formats, calib, args.num_calib)
    runners: Dict[str, object] = {}
    rows: List[Dict] = []
    if 'pytorch' in args.formats:
        runners['ours/pytorch'] = OursEager(cfg, checkpoint, args.size)
        rows.append(dict(key='ours/pytorch', family='yolopose_mm', format='pytorch', export_s=None))
    for fmt, (deploy_cfg, model_file, seconds) in exported.items():
        if fmt in args.formats:
            runners[f'ours/{fmt}'] = OursExported(deploy_cfg, cfg, model_file, args.size, fmt)
            rows.append(dict(key=f'ours/{fmt}', family='yolopose_mm', format=fmt, export_s=seconds, file=model_file))
    if pt and not args.no_ultralytics:
        yaml = calibration_dataset(calib, work)
        for fmt, (path, seconds, error) in export_theirs(pt, work, args.formats, yaml, args.size).items():
            row = dict(key=f'ultralytics/{fmt}', family='ultralytics', format=fmt, export_s=seconds, file=path)
            if error is None:
                runners[row['key']] = Theirs(path, args.size, fmt)
            else:
                row['error'] = error
            rows.append(row)
    sets = {name: eval_set_config(cfg, name, str(DATA)) for name in args.eval_sets}
    for row in rows:
        runner = runners.get(row['key'])
        if runner is None:
            continue
        for name, set_cfg in sets.items():
            metrics = evaluate(set_cfg, lambda p, r=runner: r.predict(p, 0.001),
                               runner.model if row['family'] == 'yolopose_mm' else None)
            row.setdefault('kpt_ap_sets', {})[name] = float(metrics['coco/AP'])
            row.setdefault('box_ap_sets', {})[name] = float(metrics['coco/bbox_AP'])
        row.update(kpt_ap=float(np.mean(list(row['kpt_ap_sets'].values()))),
                   box_ap=float(np.mean(list(row['box_ap_sets'].values()))))
        print(f"{row['key']}: keypoint AP {row['kpt_ap_sets']}, box AP {row['box_ap_sets']}", flush=True)
    # INT8 against the same family's fp32 model of that runtime, on every image of the sets plus --img's folder
    images = list(dict.fromkeys([p for c in sets.values() for p in eval_set_images(c)] +
                                sorted(str(p) for p in Path(args.img).parent.glob('*.jpg'))))
    for row in rows:
        ref = runners.get(row['key'].replace('-int8', ''))
        if row['format'].endswith('-int8') and row['key'] in runners and ref is not None:
            row['vs_fp32'] = agreement(lambda p: ref.predict(p, 0.25), lambda p: runners[row['key']].predict(p, 0.25),
                                       images)
            print(f"{row['key']} vs fp32: {row['vs_fp32']}", flush=True)
    inputs = {k: r.network_input(cfg, args.img, args.size) for k, r in runners.items()}
    load = [os.getloadavg()[0]]
    timing = time_round_robin(runners, inputs, args.img, args.runs, args.warmup, args.gap_ms)
    load.append(os.getloadavg()[0])
    for row in rows:
        row.update({f'{k}_ms': v for k, v in timing.get(row['key'], {}).items()})
    report(rows, args, load, len(calib))
    return 0


def report(rows: List[Dict], args: argparse.Namespace, load: List[float], num_calib: int) -> None:
    """Print the table (AP drops vs the same family's fp32 of that runtime, latency ratios) and write the JSON."""
    by_key = {r['key']: r for r in rows}
    ref = by_key.get('ultralytics/openvino', {}).get('end_to_end_ms')
    for r in rows:
        fp32 = by_key.get(r['key'].replace('-int8', '')) if r['format'].endswith('-int8') else None
        if fp32 and 'kpt_ap' in r and 'kpt_ap' in fp32:
            r['kpt_ap_drop'] = fp32['kpt_ap'] - r['kpt_ap']
            r['box_ap_drop'] = fp32['box_ap'] - r['box_ap']
        same = by_key.get(f"ultralytics/{r['format']}", {}).get('end_to_end_ms')
        if 'end_to_end_ms' in r:
            r['e2e_vs_ultralytics_same_format'] = r['end_to_end_ms'] / same if same else None
            r['e2e_vs_ultralytics_openvino_fp32'] = r['end_to_end_ms'] / ref if ref else None

    def f(v, spec):
        return format(v, spec) if isinstance(v, (int, float)) else '-'

    print(f'\n{args.config}, square {args.size} letterbox; latency on {Path(args.img).name}: median of {args.runs} '
          f'alternated rounds ({args.gap_ms:g} ms idle before each call), {args.threads} threads; load average '
          f'{load[0]:.2f} -> {load[1]:.2f}; INT8 calibrated '
          f'on {num_calib} images')
    head = (f'{"family":<12} {"format":<14} {"export s":>8} {"kpt AP":>7} {"drop":>7} {"box AP":>7} {"drop":>7} '
            f'{"net ms":>8} {"e2e ms":>8} {"/UL same":>8} {"/UL OV fp32":>11} {"match":>6} {"OKS":>6} {"px":>5}')
    print(head + '\n' + '-' * len(head))
    for r in rows:
        print(f"{r['family']:<12} {r['format']:<14} {f(r.get('export_s'), '8.1f')} {f(r.get('kpt_ap'), '7.4f')} "
              f"{f(r.get('kpt_ap_drop'), '7.4f')} {f(r.get('box_ap'), '7.4f')} {f(r.get('box_ap_drop'), '7.4f')} "
              f"{f(r.get('network_ms'), '8.2f')} {f(r.get('end_to_end_ms'), '8.2f')} "
              f"{f(r.get('e2e_vs_ultralytics_same_format'), '8.3f')} "
              f"{f(r.get('e2e_vs_ultralytics_openvino_fp32'), '11.3f')} "
              f"{f(r.get('vs_fp32', {}).get('matched'), '6.3f')} {f(r.get('vs_fp32', {}).get('oks'), '6.4f')} "
              f"{f(r.get('vs_fp32', {}).get('px'), '5.2f')}" + (f"  ({r['error']})" if 'error' in r else ''))
    print(f'AP: mean over the evaluation sets {args.eval_sets} (per set in the JSON); match / OKS / px: INT8 people '
          'vs the same family\'s fp32 people at score 0.25 (share found, mean OKS, mean keypoint displacement)')
    if args.json:
        Path(args.json).write_text(json.dumps(dict(config=args.config, size=args.size, runs=args.runs,
                                                   threads=args.threads, gap_ms=args.gap_ms,
                                                   load_average=load, image=args.img,
                                                   calibration_images=num_calib, rows=rows), indent=1))
        print(f'written: {args.json}')


if __name__ == '__main__':
    sys.exit(main())
