# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert a COCO keypoint json into a YOLO pose dataset (images/, labels/, data.yaml) and print what was kept.

Example:
    python tools/dataset_converters/coco2yolo.py ann.json IMG_DIR OUT_DIR --split val --sigmas-from coco
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from yolopose_mm.datasets.coco_yolo_convert import coco_to_yolo, format_counts  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('ann_file', help='COCO keypoint annotation json')
    p.add_argument('img_dir', help='folder with the images named in the json')
    p.add_argument('out_dir', help='output dataset root')
    p.add_argument('--split', default='train', help='split folder name (images/<split>, labels/<split>)')
    p.add_argument('--drop-empty', action='store_true', help='drop people without labelled keypoints')
    p.add_argument('--copy', action='store_true', help='copy images instead of symlinking them')
    p.add_argument('--sigmas-from', default=None,
                   help="take kpt_oks_sigmas, flip_idx and skeleton from an mmpose dataset metainfo ('coco', "
                        "'crowdpose', ...)")
    args = p.parse_args(argv)
    sigmas = flip = skeleton = None
    if args.sigmas_from:
        from mmpose.datasets.datasets.utils import parse_pose_metainfo

        from yolopose_mm.datasets.yolo_metainfo import mmpose_dataset_config
        meta = parse_pose_metainfo(dict(from_file=mmpose_dataset_config(f'{args.sigmas_from}.py')))
        sigmas, flip = meta['sigmas'].tolist(), list(meta['flip_indices'])
        skeleton = [list(map(int, link)) for link in meta['skeleton_links']]
    try:
        counts = coco_to_yolo(args.ann_file, args.img_dir, args.out_dir, args.split, args.drop_empty, args.copy,
                              sigmas, flip, skeleton)
    except (OSError, ValueError, KeyError) as e:
        print(f'coco2yolo: error: {e}', file=sys.stderr)
        return 1
    print(f'coco2yolo: wrote {args.out_dir}/data.yaml\n{format_counts(counts)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
