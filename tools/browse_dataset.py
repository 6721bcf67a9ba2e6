#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Draw dataset samples as the model sees them, after the data pipeline (mosaic, affine, flip, ...).

    python tools/browse_dataset.py CONFIG [--phase train|val|test] [--mode transformed|original]
        [--max-items 20] [--out-dir browse_out] [--show] [--seed 0] [--kpt-thr 0.5] [--cfg-options k=v ...]

Keypoints are drawn with the dataset's skeleton and colours (left and right limbs have different colours, so a
flip that swaps the pairs correctly keeps the colours on the right side of the body); only visible keypoints are
drawn, boxes are the instances' boxes after the pipeline. ``--mode original`` draws the annotations on the
unaugmented image instead. Images are written as OUT_DIR/<index>_<name>.jpg.

Exit status: 0 done; 1 bad config / dataset / arguments (one line on stderr).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

BASIC_PIPELINE = [dict(type='LoadImage'), dict(type='PackPoseInputs')]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config with a <phase>_dataloader')
    parser.add_argument('--phase', default='train', choices=('train', 'val', 'test'))
    parser.add_argument('--mode', default='transformed', choices=('transformed', 'original'),
                        help='after the whole pipeline (default) or the annotations on the original image')
    parser.add_argument('--max-items', type=int, default=20, help='samples to draw (from the start)')
    parser.add_argument('--out-dir', default='browse_out')
    parser.add_argument('--show', action='store_true', help='also show each sample (needs a display)')
    parser.add_argument('--seed', type=int, default=0, help='random seed of the augmentations')
    parser.add_argument('--kpt-thr', type=float, default=0.5, help='draw keypoints with visibility above this')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if args.max_items < 1:
        parser.error('--max-items must be >= 1')
    return args


def build_dataset(cfg, phase: str, mode: str):
    """Build ``cfg.<phase>_dataloader.dataset`` (with a load-and-pack pipeline for ``mode='original'``)."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    key = f'{phase}_dataloader'
    if key not in cfg or 'dataset' not in cfg[key]:
        raise ValueError(f'the config has no {key}.dataset; choose another --phase or config')
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataset_cfg = cfg[key]['dataset'].copy()
    if mode == 'original':
        dataset_cfg = _with_pipeline(dataset_cfg, BASIC_PIPELINE)
    return DATASETS.build(dataset_cfg)


def _with_pipeline(dataset_cfg, pipeline):
    """A copy of a dataset config whose (innermost) pipeline is ``pipeline``; wrappers keep their inner dataset."""
    cfg = dataset_cfg.copy()
    if 'dataset' in cfg:  # a dataset wrapper (e.g. CombinedDataset keeps 'datasets', RepeatDataset 'dataset')
        cfg['dataset'] = _with_pipeline(cfg['dataset'], pipeline)
    cfg['pipeline'] = list(pipeline)
    return cfg


def samples(dataset, max_items: int) -> Iterator[Tuple[int, np.ndarray, object]]:
    """``(index, image BGR uint8 (H, W, 3), PoseDataSample)`` after the dataset's pipeline."""
    for i in range(min(max_items, len(dataset))):
        item = dataset[i]
        img = item['inputs']
        img = img.permute(1, 2, 0).numpy() if hasattr(img, 'permute') else np.asarray(img)
        yield i, np.ascontiguousarray(img.astype(np.uint8)), item['data_samples']


def as_prediction(data_sample):
    """A copy whose ``pred_instances`` hold the ground truth (keypoints, visibility as score, boxes), to draw.

    Returns:
        ``PoseDataSample`` with ``pred_instances``: ``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K) the
        visibility, ``bboxes`` (N, 4) when the sample has boxes.
    """
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    gt = data_sample.gt_instances
    kpts = gt.transformed_keypoints if 'transformed_keypoints' in gt else gt.keypoints
    kpts = np.asarray(kpts, dtype=np.float32).reshape(len(gt), -1, 2) if len(gt) else np.zeros((0, 0, 2))
    vis = np.asarray(gt.keypoints_visible, dtype=np.float32) if 'keypoints_visible' in gt \
        else np.ones(kpts.shape[:2], np.float32)
    vis = vis[..., 0] if vis.ndim == 3 else vis
    inst = InstanceData(keypoints=kpts, keypoint_scores=vis.reshape(kpts.shape[:2]))
    if 'bboxes' in gt and len(gt):
        inst.bboxes = np.asarray(gt.bboxes, dtype=np.float32).reshape(-1, 4)
    out = PoseDataSample(metainfo=data_sample.metainfo)
    out.pred_instances = inst
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        import cv2
        from mmengine.config import Config

        import yolopose_mm  # noqa: F401  (registers our datasets and transforms)
        from yolopose_mm.visualization import draw_pose
        if not os.path.isfile(args.config):
            raise FileNotFoundError(f'config not found: {args.config}')
        if args.show and sys.platform.startswith('linux') and not os.environ.get('DISPLAY'):
            raise ValueError('--show needs a display (DISPLAY is not set); drop --show, images go to --out-dir')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        random.seed(args.seed)
        np.random.seed(args.seed)
        dataset = build_dataset(cfg, args.phase, args.mode)
        meta = dataset.metainfo
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        n = 0
        for i, img, sample in samples(dataset, args.max_items):
            drawn = draw_pose(img, as_prediction(sample), meta, kpt_thr=args.kpt_thr)
            name = Path(str(sample.metainfo.get('img_path', f'{i}'))).stem
            out = out_dir / f'{i:04d}_{name}.jpg'
            cv2.imwrite(str(out), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
            gt = sample.gt_instances
            n_vis = int((np.asarray(gt.keypoints_visible) > args.kpt_thr).sum()) if 'keypoints_visible' in gt else 0
            print(f'[browse] {out.name}: {img.shape[1]}x{img.shape[0]}, {len(gt)} instance(s), '
                  f'{n_vis} visible keypoint(s)')
            if args.show:
                cv2.imshow('browse_dataset', cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                if cv2.waitKey(0) & 0xFF in (ord('q'), 27):
                    break
            n += 1
        print(f'[browse] {n} sample(s) of {len(dataset)} ({args.phase}, {args.mode}) -> {out_dir}')
    except (FileNotFoundError, ValueError, KeyError, TypeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
