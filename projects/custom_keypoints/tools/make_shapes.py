# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Generate the 'shapes' dataset: a non-human keypoint set (K=5 corners, a flip map, two classes).

Each image holds 1-3 pentagons of two classes that share one keypoint layout: ``house`` (apex up) and ``arrow``
(apex down). Keypoints: apex, then the corners next to it (left, right), then the far corners (left, right), so a
horizontal flip swaps 1<->2 and 3<->4 (``flip_idx: [0, 2, 1, 4, 3]``). A corner hidden under a later shape gets
visibility 1 (labelled, occluded); every other corner 2.

Example:
    python projects/custom_keypoints/tools/make_shapes.py projects/custom_keypoints/data/shapes
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
import yaml

KPT_NAMES = ['apex', 'left_near', 'right_near', 'left_far', 'right_far']
FLIP_IDX = [0, 2, 1, 4, 3]
SKELETON = [[0, 1], [0, 2], [1, 3], [2, 4], [3, 4]]
CLASSES = {0: 'house', 1: 'arrow'}


def _pentagon(rng: np.random.Generator, size: int, cls: int) -> np.ndarray:
    """Corners (5, 2) in the keypoint order, for a shape of class ``cls`` somewhere in the image."""
    w = rng.uniform(0.15, 0.35) * size
    h = w * rng.uniform(0.9, 1.4)
    cx, cy = rng.uniform(w / 2 + 2, size - w / 2 - 2), rng.uniform(h / 2 + 2, size - h / 2 - 2)
    roof = rng.uniform(0.3, 0.5)
    sign = -1 if cls == 0 else 1  # house: apex up; arrow: apex down
    pts = np.array([[0, sign * 0.5], [-0.5, sign * (0.5 - roof)], [0.5, sign * (0.5 - roof)],
                    [-0.5, -sign * 0.5], [0.5, -sign * 0.5]]) * [w, h]
    return (pts + [cx, cy]).astype(np.float32)


def make_image(rng: np.random.Generator, size: int) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    img = np.full((size, size, 3), rng.integers(0, 80), np.uint8)
    img += rng.integers(0, 30, img.shape, dtype=np.uint8)  # texture
    shapes = []
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.integers(0, 2))
        pts = _pentagon(rng, size, cls)
        outline = pts[[0, 2, 4, 3, 1]].round().astype(np.int32)
        color = [int(c) for c in rng.integers(100, 256, 3)]
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [outline], 1)
        for _, prev in shapes:  # corners covered by this shape are now occluded
            ij = prev[:, :2].round().astype(int).clip(0, size - 1)
            prev[mask[ij[:, 1], ij[:, 0]] > 0, 2] = 1
        cv2.fillPoly(img, [outline], color)
        shapes.append((cls, np.concatenate([pts, np.full((5, 1), 2.0, np.float32)], 1)))
    return img, shapes


def write_dataset(out: str, num_train: int = 64, num_val: int = 16, size: int = 320, dim: int = 3,
                  seed: int = 0) -> Path:
    """Write images/, labels/ and shapes.yaml under ``out``; returns the yaml path."""
    if dim not in (2, 3):
        raise ValueError(f'dim must be 2 (x y) or 3 (x y visibility), got {dim}')
    rng = np.random.default_rng(seed)
    root = Path(out)
    for split, count in (('train', num_train), ('val', num_val)):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'labels' / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img, shapes = make_image(rng, size)
            cv2.imwrite(str(root / 'images' / split / f'{i:05d}.jpg'), img)
            rows = []
            for cls, kpts in shapes:
                x0, y0 = kpts[:, :2].min(0)
                x1, y1 = kpts[:, :2].max(0)
                values = [(x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / size, (y1 - y0) / size]
                for x, y, v in kpts:
                    values += [x / size, y / size] + ([int(v)] if dim == 3 else [])
                rows.append(' '.join([str(cls)] + [f'{v:.6f}' if isinstance(v, float) or
                                                   isinstance(v, np.floating) else str(v) for v in values]))
            (root / 'labels' / split / f'{i:05d}.txt').write_text('\n'.join(rows) + '\n')
    data = dict(path='.', train='images/train', val='images/val', kpt_shape=[5, dim], names=CLASSES,
                flip_idx=FLIP_IDX, kpt_names=KPT_NAMES, skeleton=SKELETON,
                kpt_oks_sigmas=[0.05] * 5)
    with open(root / 'shapes.yaml', 'w', encoding='utf-8') as f:
        yaml.safe_dump(data, f, sort_keys=False, default_flow_style=None)
    return root / 'shapes.yaml'


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', help='dataset root to write')
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--num-val', type=int, default=16)
    p.add_argument('--size', type=int, default=320, help='square image size in pixels')
    p.add_argument('--dim', type=int, default=3, choices=[2, 3], help='keypoint values: 2 (x y) or 3 (x y v)')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    print(f'wrote {write_dataset(args.out, args.num_train, args.num_val, args.size, args.dim, args.seed)}')


if __name__ == '__main__':
    main()
