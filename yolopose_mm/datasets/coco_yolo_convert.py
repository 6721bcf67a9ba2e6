# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert pose datasets between COCO keypoint json and the YOLO format (labels/*.txt + a dataset yaml).

What the YOLO format cannot hold, and what the converter does with it (each case is counted and printed):

- crowd regions (``iscrowd=1``): YOLO has no ignore regions, so they are dropped;
- boxes with zero width or height: dropped (the YOLO loader would drop them too);
- people without any labelled keypoint: written as a box with all-zero keypoints (``--drop-empty`` drops them);
- skeleton links that index keypoints beyond K (seen in real files): dropped;
- segmentation, ``area`` and annotation ids: not stored; going back, ``area`` is box area x ``area_factor``.

Boxes and keypoints are written as normalised values with 8 decimals, so a COCO -> YOLO -> COCO round trip
reproduces them to well under 1e-3 px.
"""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml

from .yolo_labels import image_size, label_path_for, list_images, parse_label_text
from .yolo_metainfo import load_data_yaml

_DIGITS = 8


def _fmt(value: float) -> str:
    text = f'{value:.{_DIGITS}f}'.rstrip('0').rstrip('.')
    return '0' if text in ('', '-0') else text


def infer_flip_idx(names: Sequence[str]) -> Optional[List[int]]:
    """Pair ``left_x``/``right_x`` (also ``l_``/``r_`` prefixes); None when a left/right name has no partner."""
    index = {n: i for i, n in enumerate(names)}
    flip = list(range(len(names)))
    swaps = (('left', 'right'), ('right', 'left'), ('l_', 'r_'), ('r_', 'l_'))
    for i, name in enumerate(names):
        for a, b in swaps:
            if name.startswith(a):
                partner = index.get(b + name[len(a):])
                if partner is None:
                    return None
                flip[i] = partner
                break
    return flip


def coco_to_yolo(ann_file: str, img_dir: str, out_dir: str, split: str = 'train', drop_empty: bool = False,
                 copy_images: bool = False, kpt_oks_sigmas: Optional[Sequence[float]] = None,
                 flip_idx: Optional[Sequence[int]] = None,
                 skeleton: Optional[Sequence[Sequence[int]]] = None) -> Counter:
    """Write ``out_dir/images/<split>``, ``out_dir/labels/<split>`` and ``out_dir/data.yaml`` from a COCO json.

    Args:
        ann_file: COCO keypoint annotations (one or more categories with the same number of keypoints).
        img_dir: folder holding the images named by ``file_name``.
        out_dir: output dataset root.
        split: split name the images go under.
        drop_empty: drop people without labelled keypoints instead of writing them as box-only rows.
        copy_images: copy images (default: symlink them).
        kpt_oks_sigmas: written to the yaml (COCO json has none).
        flip_idx: written to the yaml; default: inferred from left/right keypoint names.
        skeleton: 0-based links for drawing; default: the json's (1-based) ``skeleton``.

    Returns:
        Counts: images, people written, and each kind of annotation not written.
    """
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    cats = sorted(coco.get('categories', []), key=lambda c: c['id'])
    if not cats or not cats[0].get('keypoints'):
        raise ValueError(f'{ann_file}: no category with a keypoints list; not a COCO keypoint file')
    kpt_names = list(cats[0]['keypoints'])
    k = len(kpt_names)
    if any(len(c.get('keypoints', [])) != k for c in cats):
        raise ValueError(f'{ann_file}: categories have different keypoint counts; YOLO needs one kpt_shape')
    cat_to_cls = {c['id']: i for i, c in enumerate(cats)}
    by_image: Dict[int, list] = {}
    for ann in coco.get('annotations', []):
        by_image.setdefault(ann['image_id'], []).append(ann)
    counts: Counter = Counter()
    out = Path(out_dir)
    (out / 'images' / split).mkdir(parents=True, exist_ok=True)
    for img in coco.get('images', []):
        src = Path(img_dir) / img['file_name']
        dst = out / 'images' / split / Path(img['file_name']).name
        if not dst.exists():
            if copy_images:
                shutil.copy2(src, dst)
            else:
                os.symlink(os.path.abspath(src), dst)
        w, h = float(img['width']), float(img['height'])
        lines = []
        for ann in by_image.get(img['id'], []):
            if ann.get('iscrowd', 0):
                counts['crowd_dropped'] += 1
                continue
            x, y, bw, bh = (float(v) for v in ann['bbox'])
            if bw <= 0 or bh <= 0:
                counts['zero_area_dropped'] += 1
                continue
            kpts = np.asarray(ann.get('keypoints') or [0.0] * 3 * k, np.float64).reshape(k, 3)
            if not (kpts[:, 2] > 0).any():
                if drop_empty:
                    counts['no_keypoints_dropped'] += 1
                    continue
                counts['no_keypoints_kept'] += 1
            values = [(x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h]
            for kx, ky, v in kpts:
                values += [kx / w, ky / h, int(v)] if v > 0 else [0.0, 0.0, 0]
            lines.append(' '.join([str(cat_to_cls[ann['category_id']])] + [_fmt(v) for v in values]))
            counts['people'] += 1
        label = Path(label_path_for(str(dst)))
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(''.join(line + '\n' for line in lines), encoding='utf-8')
        counts['images'] += 1
    links = ([list(map(int, link)) for link in skeleton] if skeleton is not None
             else [[a - 1, b - 1] for a, b in cats[0].get('skeleton', [])])
    kept = [link for link in links if 0 <= min(link) and max(link) < k]
    if len(kept) < len(links):  # e.g. a 14-keypoint file that kept COCO's 17-keypoint skeleton
        counts['skeleton_links_dropped'] = len(links) - len(kept)
    flip = list(flip_idx) if flip_idx is not None else infer_flip_idx(kpt_names)
    data = dict(path='.', train=f'images/{split}', val=f'images/{split}', kpt_shape=[k, 3],
                names={i: c['name'] for i, c in enumerate(cats)}, kpt_names=kpt_names, skeleton=kept)
    if flip is not None:
        data['flip_idx'] = flip
    if kpt_oks_sigmas is not None:
        data['kpt_oks_sigmas'] = [round(float(s), 6) for s in kpt_oks_sigmas]
    with open(out / 'data.yaml', 'w', encoding='utf-8') as f:
        yaml.safe_dump(data, f, sort_keys=False, default_flow_style=None)
    return counts


def yolo_to_coco(data_yaml: str, split: str, out_file: str, area_factor: float = 0.53) -> Counter:
    """Write a COCO keypoint json for one split of a YOLO dataset.

    Image sizes are read from the image headers (EXIF rotation applied). Invalid label files are skipped and
    counted (the same parser the training dataset uses). Dim-2 keypoints get visibility 2. ``area`` is box area x
    ``area_factor`` (YOLO stores no segmentation).

    Returns:
        Counts: images, people, and skipped label files.
    """
    spec = load_data_yaml(data_yaml)
    k, dim = spec.num_keypoints, spec.keypoint_dim
    images, annotations = [], []
    counts: Counter = Counter()
    for img_id, img in enumerate(list_images(spec.root, spec.splits[split]), start=1):
        w, h = image_size(img)
        images.append(dict(id=img_id, file_name=os.path.relpath(img, spec.root), width=w, height=h))
        counts['images'] += 1
        lbl = label_path_for(img)
        if not os.path.isfile(lbl):
            continue
        with open(lbl, encoding='utf-8', errors='replace') as f:
            rows, problems = parse_label_text(f.read(), lbl, k, dim, len(spec.names))
        if any(p.severity == 'error' for p in problems):
            counts['label_files_skipped'] += 1
            continue
        for row in rows.astype(np.float64):
            cx, cy, bw, bh = row[1] * w, row[2] * h, row[3] * w, row[4] * h
            kpts = row[5:].reshape(k, dim)
            vis = kpts[:, 2] if dim == 3 else np.full(k, 2.0)
            xy = kpts[:, :2] * [w, h]
            xy[vis == 0] = 0.0
            flat = np.concatenate([xy, vis[:, None]], 1).reshape(-1)
            annotations.append(dict(id=len(annotations) + 1, image_id=img_id, category_id=int(row[0]) + 1,
                                    bbox=[cx - bw / 2, cy - bh / 2, bw, bh], area=bw * bh * area_factor,
                                    iscrowd=0, keypoints=[float(v) for v in flat],
                                    num_keypoints=int((vis > 0).sum())))
            counts['people'] += 1
    names = list(spec.kpt_names) if spec.kpt_names else [f'kpt_{i}' for i in range(k)]
    cats = [dict(id=i + 1, name=n, supercategory=n, keypoints=names,
                 skeleton=[[a + 1, b + 1] for a, b in spec.skeleton]) for i, n in sorted(spec.names.items())]
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    with open(out_file, 'w', encoding='utf-8') as f:
        json.dump(dict(images=images, annotations=annotations, categories=cats), f)
    return counts


def format_counts(counts: Counter) -> str:
    """One line per count, with what the YOLO format could not hold explained."""
    why = dict(crowd_dropped='crowd regions dropped (YOLO has no ignore regions)',
               zero_area_dropped='zero-area boxes dropped',
               no_keypoints_dropped='people without keypoints dropped (--drop-empty)',
               no_keypoints_kept='people without keypoints written as box-only rows (all-zero keypoints)',
               skeleton_links_dropped='skeleton links dropped (they index keypoints beyond kpt_shape)',
               label_files_skipped='label files skipped for invalid rows (run tools/check_dataset.py)')
    return '\n'.join(f'{n:6d} {why.get(kind, kind)}' for kind, n in counts.items())

