# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert one split of a YOLO pose dataset (data yaml) into a COCO keypoint json and print the counts.

Example:
    python tools/dataset_converters/yolo2coco.py data.yaml --split val --out val.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from yolopose_mm.datasets.coco_yolo_convert import format_counts, yolo_to_coco  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('data_yaml', help='Ultralytics pose dataset yaml')
    p.add_argument('--split', default='val', choices=['train', 'val', 'test'])
    p.add_argument('--out', required=True, help='output COCO json')
    p.add_argument('--area-factor', type=float, default=0.53,
                   help='COCO area = box area x this (YOLO has no segmentation; 0.53 as in YOLO pose validation)')
    args = p.parse_args(argv)
    try:
        counts = yolo_to_coco(args.data_yaml, args.split, args.out, args.area_factor)
    except (OSError, ValueError) as e:
        print(f'yolo2coco: error: {e}', file=sys.stderr)
        return 1
    print(f'yolo2coco: wrote {args.out}\n{format_counts(counts)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
