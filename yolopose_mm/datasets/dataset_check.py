# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Check a YOLO or COCO pose dataset and list every problem with file and line (tools/check_dataset.py).

The row, image and yaml checks are the ones the training-time dataset runs (:mod:`.yolo_labels`,
:func:`.yolo_metainfo.load_data_yaml`); a COCO annotation is normalised into a YOLO row and parsed by the same
code, so the two formats get one implementation of each check.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .yolo_labels import LabelProblem, image_size, parse_label_text, scan_split
from .yolo_metainfo import DatasetYamlError, load_data_yaml


@dataclass
class CheckReport:
    """Every problem found, and how many images / samples each checked split has usable."""

    problems: List[LabelProblem] = field(default_factory=list)
    usable: Dict[str, int] = field(default_factory=dict)

    @property
    def num_errors(self) -> int:
        return sum(p.severity == 'error' for p in self.problems)

    def summary(self) -> str:
        """One line per problem kind with its count and severity, then the usable images per split."""
        counts = Counter((p.kind, p.severity) for p in self.problems)
        lines = [f'{n:6d} {kind} ({sev})' for (kind, sev), n in sorted(counts.items())]
        lines += [f'{split}: {n} usable images' for split, n in self.usable.items()]
        return '\n'.join(lines) if lines else 'no problems found'


def _yaml_line(path: str, key: str) -> int:
    try:
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, start=1):
                if line.lstrip().startswith(f'{key}:'):
                    return lineno
    except OSError:
        pass
    return 0


def check_yolo(data_yaml: str, splits: Optional[Sequence[str]] = None,
               cache_dir: Optional[str] = None) -> CheckReport:
    """Check a YOLO dataset yaml (keys) and each of its splits (images and label rows)."""
    report = CheckReport()
    yaml_errors: List[str] = []
    try:
        spec = load_data_yaml(data_yaml, problems=yaml_errors)
    except (DatasetYamlError, FileNotFoundError, ValueError, TypeError) as e:
        report.problems.append(LabelProblem(data_yaml, 0, 'yaml', str(e)))
        return report
    for message in yaml_errors:
        key = message[len(f'{data_yaml}:'):].split()[0] if message.startswith(data_yaml) else 'yaml'
        report.problems.append(LabelProblem(data_yaml, _yaml_line(data_yaml, key), key,
                                            message.split(': ', 1)[-1]))
    checked: Dict[tuple, str] = {}
    for split in splits or [s for s in ('train', 'val', 'test') if spec.splits.get(s)]:
        if spec.splits.get(split) and spec.splits[split] in checked:  # e.g. val: same folder as train
            report.usable[split] = report.usable[checked[spec.splits[split]]]
            continue
        checked[spec.splits.get(split)] = split
        if not spec.splits.get(split):
            report.problems.append(LabelProblem(data_yaml, _yaml_line(data_yaml, split), 'split',
                                                f"split '{split}' is not set in the yaml"))
            continue
        try:
            scan = scan_split(spec.root, spec.splits[split], spec.num_keypoints, spec.keypoint_dim,
                              len(spec.names), cache_dir)
        except FileNotFoundError as e:
            report.problems.append(LabelProblem(data_yaml, _yaml_line(data_yaml, split), 'split', str(e)))
            continue
        report.problems += scan.problems
        report.usable[split] = len(scan.records)
    return report


def check_coco(ann_file: str, img_dir: Optional[str] = None) -> CheckReport:
    """Check a COCO keypoint json: each annotation as a normalised row through the YOLO row checks, plus ids,
    image files, readable images and their sizes. ``line`` is the 1-based index in ``annotations`` (or
    ``images`` for image problems)."""
    report = CheckReport()
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except json.JSONDecodeError as e:
        report.problems.append(LabelProblem(ann_file, e.lineno, 'json', f'not valid JSON: {e.msg}'))
        return report
    except OSError as e:
        report.problems.append(LabelProblem(ann_file, 0, 'missing_annotations', f'cannot read the annotation '
                                            f'file: {e.strerror}'))
        return report
    img_dir = img_dir if img_dir is not None else os.path.dirname(ann_file)
    cats = coco.get('categories') or []
    if not cats or not cats[0].get('keypoints'):
        report.problems.append(LabelProblem(ann_file, 0, 'categories', 'no category with a keypoints list'))
        return report
    k = len(cats[0]['keypoints'])
    cat_to_cls = {c['id']: i for i, c in enumerate(cats)}
    images: Dict[int, dict] = {}
    for i, img in enumerate(coco.get('images', []), start=1):
        path = os.path.join(img_dir, img.get('file_name', ''))
        where = f'images[{i - 1}] {img.get("file_name")}'
        if not os.path.isfile(path):
            report.problems.append(LabelProblem(ann_file, i, 'missing_image', f'{where}: no file {path}'))
            continue
        try:
            w, h = image_size(path)
        except Exception as e:  # PIL raises many types for corrupt files
            kind = 'truncated_image' if 'truncated' in str(e) else 'unreadable_image'
            report.problems.append(LabelProblem(ann_file, i, kind, f'{where}: {e}'))
            continue
        if (w, h) != (img.get('width'), img.get('height')):
            report.problems.append(LabelProblem(ann_file, i, 'image_size', f'{where}: json says '
                                                f'{img.get("width")}x{img.get("height")}, the file is {w}x{h}'))
            continue
        images[img['id']] = img
    used = Counter()
    for i, ann in enumerate(coco.get('annotations', []), start=1):
        where = f'annotations[{i - 1}] (id {ann.get("id")})'
        img = images.get(ann.get('image_id'))
        if img is None:
            report.problems.append(LabelProblem(ann_file, i, 'image_id', f'{where}: image_id '
                                                f'{ann.get("image_id")} is not a usable image'))
            continue
        if ann.get('iscrowd', 0):
            continue  # crowd regions are ignore areas, not people
        row = _coco_row(ann, img, cat_to_cls)
        _, found = parse_label_text(row, ann_file, k, 3, len(cats))
        for p in found:
            p.line, p.message = i, f'{where}: {p.message}'
        report.problems += found
        used[ann['image_id']] += not any(p.severity == 'error' for p in found)
    for i, img in enumerate(coco.get('images', []), start=1):
        if img.get('id') in images and not used[img['id']]:
            report.problems.append(LabelProblem(ann_file, i, 'no_people', f'images[{i - 1}] '
                                                f'{img.get("file_name")}: no usable person', 'warning'))
    report.usable[os.path.basename(ann_file)] = len(images)
    return report


def _coco_row(ann: dict, img: dict, cat_to_cls: Dict[int, int]) -> str:
    """The annotation as one YOLO label row (normalised), so the YOLO row checks apply unchanged."""
    w, h = float(img['width']), float(img['height'])
    x, y, bw, bh = (float(v) for v in ann.get('bbox', (0, 0, 0, 0)))
    values = [cat_to_cls.get(ann.get('category_id'), -1), (x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h]
    kpts = np.asarray(ann.get('keypoints') or [], np.float64)
    if len(kpts) % 3 == 0:
        kpts = kpts.reshape(-1, 3) / [w, h, 1.0]
    return ' '.join(repr(float(v)) for v in list(values) + kpts.reshape(-1).tolist())


def check_config(config: str) -> CheckReport:
    """Check every dataset a config's train/val/test dataloaders use (YOLOPoseDataset or a COCO-style one)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    report = CheckReport()
    seen = set()
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = (cfg.get(name) or {}).get('dataset')
        while ds is not None and 'dataset' in ds and 'data_yaml' not in ds and 'ann_file' not in ds:
            ds = ds['dataset']  # wrappers (RepeatDataset, ...)
        if not ds:
            continue
        if 'data_yaml' in ds:
            key = (ds['data_yaml'], ds.get('split', 'train'))
            sub = check_yolo(ds['data_yaml'], [key[1]]) if key not in seen else None
        else:
            root = ds.get('data_root', '')
            ann = os.path.join(root, ds.get('ann_file', ''))
            key = (ann, '')
            img_dir = os.path.join(root, (ds.get('data_prefix') or {}).get('img', ''))
            sub = check_coco(ann, img_dir) if key not in seen else None
        seen.add(key)
        if sub is not None:
            report.problems += sub.problems
            report.usable.update(sub.usable)
    return report


def check_path(path: str, splits: Optional[Sequence[str]] = None, img_dir: Optional[str] = None) -> CheckReport:
    """Dispatch on the file type: ``.yaml``/``.yml`` (YOLO), ``.json`` (COCO) or ``.py`` (a config)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} does not exist; pass a dataset yaml, a COCO json or a config')
    suffix = os.path.splitext(path)[1].lower()
    if suffix in ('.yaml', '.yml'):
        return check_yolo(path, splits)
    if suffix == '.json':
        return check_coco(path, img_dir)
    if suffix == '.py':
        return check_config(path)
    raise ValueError(f'{path}: unknown kind of file; pass a dataset .yaml, a COCO .json or a config .py')
