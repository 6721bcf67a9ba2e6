#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Training data pipeline throughput per CPU core, ours vs Ultralytics' own (a benchmark, not a test).

    python tools/analysis/benchmark_data.py [--imgsz 640] [--batch 8] [--workers 0 2] [--copies 4] [--rounds 5]
        [--chunks 4] [--samples 800] [--warmup 6]

Both pipelines read the same images (``--copies N`` distinct copies of each of the 8 coco8-pose images; the default
4 gives 32 images, 4 batches: Ultralytics runs a loader of a single batch in-process, whatever ``workers`` says; a
large N, e.g. 40, holds more images than our 128 MiB cache and Ultralytics' buffer of 8 x batch images, so an image
costs a decode once per epoch, as on a large dataset) and apply the
YOLO training augmentation at ``--imgsz``: mosaic, random affine (translate 0.1, scale 0.5), HSV, flip, then pack
the batch. Ours: ``configs/yolopose_n_coco8.py``'s training dataloader (``YOLOPoseDataset``, ``YOLOBatchSampler``).
Ultralytics': ``build_yolo_dataset`` + ``build_dataloader`` (its ``InfiniteDataLoader``).

What is measured, the same way for both sides: each side first runs ``--warmup`` epochs (every worker has started,
decoded the images and filled its cache / buffer: the steady state of a long training run); then ``--rounds``
rounds in one process, each of at least ``--samples`` samples per side, in this process (``--workers 0``) or with
persistent workers, in which the sides take ``--chunks`` turns each (ABBAABBA..., so that a slow spell of the
machine hits both sides alike). A turn is whole epochs; it starts at an epoch boundary with the
workers idle and ends when they are idle again, so the CPU time counted is that of exactly the batches consumed
(our loader starts a new iterator per epoch and prefetches nothing past it; Ultralytics' persistent iterator has
its prefetch queue full at both ends). Samples per CPU second is the throughput per core: user + system CPU time
of this process and of its worker processes (from /proc), page faults included (system time), so other jobs on
the machine inflate wall time but much less the CPU time; wall-clock samples/s, the load average and the page
faults per sample are printed next to it, and the ratio of each round (ours / Ultralytics' in the same round)
with the range. OpenCV and torch run single-threaded on both sides. The decoded-image memory is measured with
``--workers 0``: our per-process cache (the batch's images) and Ultralytics' buffer of recent images
(``dataset.ims``), at their largest.
Needs the Ultralytics reference (requirements/tests.txt).
"""
import argparse
import copy
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FLIP = '[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]'


def coco8_dataset(data: Path, tmp: Path, copies: int) -> Path:
    """A YOLO dataset yaml over ``copies`` hard links of each coco8-pose image and label (train and val), under
    ``tmp``: Ultralytics writes its label cache next to the labels, so never into the shared data folder."""
    src = data / 'coco8-pose'
    for sub in ('images', 'labels'):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    for img in sorted((src / 'images').glob('*/*.jpg')):
        label = src / 'labels' / img.parent.name / f'{img.stem}.txt'
        for c in range(copies):
            for s, dst in ((img, tmp / 'images' / f'{img.stem}_{c}.jpg'), (label, tmp / 'labels' / f'{img.stem}_{c}.txt')):
                if not dst.exists():
                    try:
                        os.link(s, dst)
                    except OSError:
                        dst.write_bytes(s.read_bytes())
    yaml = tmp / 'bench.yaml'
    yaml.write_text(f'path: {tmp}\ntrain: images\nval: images\nkpt_shape: [17, 3]\nflip_idx: {FLIP}\n'
                    'names:\n  0: person\n')
    return yaml


def _sized(obj, n: int):
    """A copy of a pipeline config with every input size set to (n, n)."""
    if isinstance(obj, dict):
        return {k: ((n, n) if k in ('img_scale', 'input_size') else _sized(v, n)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_sized(v, n) for v in obj]
    return obj


def _children_stat(field: int) -> float:
    """Sum of a /proc/PID/stat field over this process' live child processes (the dataloader workers)."""
    me, total = os.getpid(), 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            total += int(fields[field])
    return total


def _cpu_seconds_of_children() -> float:
    """User + system CPU seconds of the live child processes."""
    return (_children_stat(11) + _children_stat(12)) / os.sysconf('SC_CLK_TCK')


def _settle(timeout: float = 30.0) -> None:
    """Wait until the worker processes are idle (they finish the batches they had prefetched), so that CPU time they
    spend for one side is not counted in the next measurement."""
    last, t0 = _cpu_seconds_of_children(), time.time()
    while time.time() - t0 < timeout:
        time.sleep(0.3)
        now = _cpu_seconds_of_children()
        if now - last < 0.02:
            return
        last = now


class Side:
    """One pipeline: a loader, and how many samples a batch holds."""

    def __init__(self, name, loader, batch_size, on_epoch=None, memory=None):
        self.name, self.loader, self.batch_size = name, loader, batch_size
        self.on_epoch, self.memory = on_epoch, memory
        self.epoch = 0
        self._it = None
        self.peak_memory = 0

    def next_batch(self):
        """The next batch (None at the end of an epoch)."""
        if self._it is None:
            if self.on_epoch:
                self.on_epoch(self.epoch)
            self._it = iter(self.loader)
        try:
            batch = next(self._it)
        except StopIteration:
            self._it = None
            self.epoch += 1
            return None
        if self.memory:
            self.peak_memory = max(self.peak_memory, self.memory())
        return batch

    def epochs(self, n: int) -> int:
        """Consume the rest of the current epoch (if one is under way) and then ``n`` whole epochs; the samples of
        the ``n`` epochs."""
        while self._it is not None:
            self.next_batch()
        done = 0
        for _ in range(n):
            while (batch := self.next_batch()) is not None:
                done += len(batch['img']) if isinstance(batch, dict) and 'img' in batch else len(batch['inputs'])
        return done

    def measure(self, epochs: int):
        """CPU and wall time of ``epochs`` whole epochs, counted from an epoch boundary with idle workers."""
        self.epochs(0)
        _settle()
        load = os.getloadavg()[0]
        faults = _children_stat(7) + resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        wall, cpu, kids = time.perf_counter(), time.process_time(), _cpu_seconds_of_children()
        done = self.epochs(epochs)
        wall = time.perf_counter() - wall
        cpu_main = time.process_time() - cpu
        _settle()  # workers refill what they prefetch (Ultralytics' persistent iterator: as much as before)
        cpu = cpu_main + _cpu_seconds_of_children() - kids
        faults = _children_stat(7) + resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        return dict(samples=done, wall=wall, cpu=cpu, cpu_main=cpu_main, faults=faults,
                    load=(load + os.getloadavg()[0]) / 2)


def build_ours(yaml: Path, imgsz: int, batch: int, workers: int) -> Side:
    import yolopose_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from yolopose_mm.datasets.image_cache import process_cache
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco8.py'))
    loader_cfg = copy.deepcopy(cfg.train_dataloader.to_dict())
    loader_cfg['dataset'].update(data_yaml=str(yaml), pipeline=_sized(loader_cfg['dataset']['pipeline'], imgsz),
                                 cache_dir=str(yaml.parent / 'label_cache'))
    loader_cfg.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    return Side('ours', loader, batch, on_epoch=loader.batch_sampler.set_epoch,
                memory=(lambda: process_cache().nbytes) if workers == 0 else None)


def build_ultralytics(yaml: Path, imgsz: int, batch: int, workers: int) -> Side:
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    data = check_det_dataset(str(yaml))
    cfg = get_cfg(overrides=dict(task='pose', imgsz=imgsz, mode='train'))
    ds = build_yolo_dataset(cfg, data['train'], batch=batch, data=data, mode='train')
    loader = build_dataloader(ds, batch, workers, shuffle=True, rank=-1, pin_memory=False, device='cpu')
    return Side('ultralytics', loader, batch,
                memory=(lambda: sum(im.nbytes for im in ds.ims if im is not None)) if workers == 0 else None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    parser.add_argument('--imgsz', type=int, default=640)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument('--copies', type=int, default=4, help='distinct copies of each of the 8 images')
    parser.add_argument('--samples', type=int, default=800,
                        help='samples per measurement at least (rounded up to whole epochs of each side)')
    parser.add_argument('--warmup', type=int, default=6, help='epochs of each side before its first measurement')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--chunks', type=int, default=4, help='turns of each side per round')
    args = parser.parse_args(argv)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_VERBOSE', 'False')
    import cv2
    import torch
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix='bench_data_'))
    os.environ.setdefault('YOLO_CONFIG_DIR', str(tmp / 'ycfg'))
    yaml = coco8_dataset(Path(args.data), tmp / 'data', args.copies)
    n_images = 8 * args.copies
    print(f'{n_images} images ({args.copies} copies of the 8 coco8-pose images), {args.imgsz} px, batch {args.batch}, '
          f'{args.rounds} rounds of >= {args.samples} samples per side in {args.chunks} alternated turns of whole '
          f'epochs, after {args.warmup} warm-up epochs; cv2/torch single-threaded')
    for workers in args.workers:
        sides = [build_ours(yaml, args.imgsz, args.batch, workers),
                 build_ultralytics(yaml, args.imgsz, args.batch, workers)]
        for side in sides:
            if side.loader.num_workers != workers:  # Ultralytics runs a loader of one batch in-process
                print(f'NOTE: {side.name} uses {side.loader.num_workers} workers, not {workers} '
                      f'({n_images} images at batch {args.batch}); use --copies to give it more batches')
        runs = {s.name: [] for s in sides}
        for side in sides:
            side.epochs(args.warmup)  # caches / buffers full in every worker, workers started
        for r in range(args.rounds):
            parts = {s.name: [] for s in sides}
            for c in range(args.chunks):  # the sides take turns within a round, so a slow spell hits both
                for side in (sides if (r + c) % 2 == 0 else sides[::-1]):
                    per_epoch = len(side.loader) * args.batch
                    parts[side.name].append(side.measure(max(1, -(-args.samples // (args.chunks * per_epoch)))))
            for name, ms in parts.items():
                runs[name].append({k: (sum(m[k] for m in ms) if k != 'load' else statistics.mean(m[k] for m in ms))
                                   for k in ms[0]})
        where = 'main process' if workers == 0 else f'{workers} persistent workers'
        print(f'\n{where}:')
        print(f'  {"":<12} {"samples/CPU-s":>14} {"samples/s wall":>15} {"load avg":>9}   per round (samples/CPU-s)')
        per_cpu = {}
        for side in sides:
            rs = runs[side.name]
            per_cpu[side.name] = [x['samples'] / x['cpu'] for x in rs]
            print(f'  {side.name:<12} {statistics.median(per_cpu[side.name]):14.1f} '
                  f'{statistics.median(x["samples"] / x["wall"] for x in rs):15.1f} '
                  f'{statistics.median(x["load"] for x in rs):9.2f}   '
                  + ' '.join(f'{v:.1f}' for v in per_cpu[side.name]))
        for side in sides:
            rs = runs[side.name]
            share = statistics.median(x['cpu_main'] / x['cpu'] for x in rs)
            faults = statistics.median(x['faults'] / x['samples'] for x in rs)
            print(f'  {side.name}: {rs[0]["samples"]} samples per round; '
                  + (f'{share:.0%} of the CPU time in the main process (receiving batches); ' if workers else '')
                  + f'{faults:.0f} page faults per sample')
        ratios = [a / b for a, b in zip(per_cpu['ours'], per_cpu['ultralytics'])]
        print(f'  per-core throughput ours / ultralytics: median {statistics.median(ratios):.3f}, '
              f'range {min(ratios):.3f}-{max(ratios):.3f} (rounds: {" ".join(f"{v:.3f}" for v in ratios)})')
        if workers == 0:
            for side in sides:
                print(f'  decoded images held ({side.name}): peak {side.peak_memory / 2 ** 20:.1f} MiB')
        del sides
    print(f'\ndata: {tmp}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
