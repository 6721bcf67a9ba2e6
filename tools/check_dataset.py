# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Check a pose dataset: every problem with file and line, a count per kind, exit code 1 when there are errors.

Accepts an Ultralytics dataset yaml (YOLO format), a COCO keypoint json (``--img-dir``, default its folder) or a
config (every dataset of its train/val/test dataloaders). Errors make an image (YOLO) or a person (COCO) unusable
for training; warnings are rows dropped or notes (background images, EXIF rotation applied, stray label files).

Example:
    python tools/check_dataset.py ../shared/data/coco8-pose/coco8-pose.yaml
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yolopose_mm.datasets.dataset_check import check_path  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('target', help='dataset .yaml, COCO .json or config .py')
    p.add_argument('--split', nargs='*', default=None, help='YOLO splits to check (default: all that are set)')
    p.add_argument('--img-dir', default=None, help='image folder of a COCO json (default: the json\'s folder)')
    p.add_argument('--max-lines', type=int, default=0, help='print at most this many problems (0: all)')
    args = p.parse_args(argv)
    try:
        report = check_path(args.target, args.split, args.img_dir)
    except (OSError, ValueError) as e:
        print(f'check_dataset: error: {e}', file=sys.stderr)
        return 2
    shown = report.problems[:args.max_lines] if args.max_lines else report.problems
    for problem in shown:
        print(f'{problem.severity}: {problem}')
    if len(shown) < len(report.problems):
        print(f'... {len(report.problems) - len(shown)} more')
    print(f'summary for {args.target}:\n{report.summary()}')
    print(f'{report.num_errors} errors, {len(report.problems) - report.num_errors} warnings')
    return 1 if report.num_errors else 0


if __name__ == '__main__':
    sys.exit(main())
