# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Record when Ultralytics' own trainer steps its optimizer (the reference for tests/test_nominal_batch.py).

    python tests/ultralytics_schedule.py OUT_DIR [--images 64] [--batch 8] [--epochs 3] [--data DATA_DIR]

Trains a randomly initialised yolo11n-pose (Ultralytics 8.4.190, CPU, 32 px, SGD lr 0.01, weight decay 5e-4, nbs 64,
warmup_epochs 1, no validation, no plots) on IMAGES images made of the coco8-pose train images repeated, and prints
one JSON line: the iterations at which ``BaseTrainer.optimizer_step`` ran, the accumulation in force at each, and
the weight decay of every parameter group at the end. Instrumentation only: the trainer itself is untouched.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, data_dir: Path, images: int) -> Path:
    src = data_dir / 'coco8-pose'
    train = sorted((src / 'images' / 'train').glob('*.jpg'))
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'labels').mkdir(parents=True, exist_ok=True)
    for i in range(images):
        img = train[i % len(train)]
        dst = root / 'images' / f'{i:03d}.jpg'
        if not dst.exists():
            os.symlink(img, dst)
        (root / 'labels' / f'{i:03d}.txt').write_text((src / 'labels' / 'train' / f'{img.stem}.txt').read_text())
    yaml = root / 'data.yaml'
    yaml.write_text(f'path: {root}\ntrain: images\nval: images\nkpt_shape: [17, 3]\nnames:\n  0: person\n')
    return yaml


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir')
    parser.add_argument('--images', type=int, default=64)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    os.environ.setdefault('YOLO_OFFLINE', '1')
    os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='yolo_cfg_'))
    yaml = make_dataset(out / 'data', Path(args.data), args.images)
    from ultralytics import YOLO

    record = dict(steps=[], accumulate=[], weight_decay=None)
    iteration = {'ni': -1}

    def on_pretrain_routine_end(trainer):
        step = trainer.optimizer_step

        def recorded_step():
            record['steps'].append(iteration['ni'])
            record['accumulate'].append(trainer.accumulate)
            step()
        trainer.optimizer_step = recorded_step

    def on_train_batch_start(trainer):
        iteration['ni'] += 1

    def on_train_end(trainer):
        record['weight_decay'] = [g['weight_decay'] for g in trainer.optimizer.param_groups]

    model = YOLO('yolo11n-pose.yaml')
    model.add_callback('on_pretrain_routine_end', on_pretrain_routine_end)
    model.add_callback('on_train_batch_start', on_train_batch_start)
    model.add_callback('on_train_end', on_train_end)
    model.train(data=str(yaml), epochs=args.epochs, batch=args.batch, imgsz=32, workers=0, val=False, plots=False,
                amp=False, device='cpu', close_mosaic=0, optimizer='SGD', lr0=0.01, momentum=0.937,
                weight_decay=5e-4, warmup_epochs=1.0, nbs=64, project=str(out / 'runs'), name='run', exist_ok=True,
                verbose=False, pretrained=False)
    print(json.dumps(record))
    return 0


if __name__ == '__main__':
    sys.exit(main())
