# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ground truth for evaluation: a COCO index built from data samples, and per-image arrays for YOLO-style metrics."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from xtcocotools.coco import COCO

# Ultralytics' pose validator takes a person's OKS area from its box: box area x 0.53.
BOX_AREA_TO_OKS_AREA = 0.53


@dataclass(frozen=True)
class ImageGroundTruth:
    """Non-crowd people of one image as arrays (YOLO-style metrics have no crowd regions).

    Attributes:
        labels: (G,) category ids.
        bboxes: (G, 4) xyxy pixels.
        keypoints: (G, K, 2) pixels.
        visible: (G, K) 1 where the keypoint is labelled (v > 0).
        areas: (G,) box area x 0.53 (the OKS scale Ultralytics uses).
    """

    labels: np.ndarray
    bboxes: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    areas: np.ndarray


def _where(ann: dict) -> str:
    return f"annotation id={ann.get('id')} of image {ann.get('image_id')}"


def image_ground_truth(anns: Iterable[dict], num_keypoints: int) -> ImageGroundTruth:
    """Arrays of the non-crowd annotations in ``anns`` (COCO annotation dicts, ``bbox`` in xywh).

    Raises:
        ValueError: an annotation lacks ``bbox`` or its ``keypoints`` are not K x 3 numbers.
    """
    rows = [a for a in anns if a is not None and not a.get('iscrowd', 0)]
    k = num_keypoints
    labels = np.zeros(len(rows), np.int64)
    boxes = np.zeros((len(rows), 4), np.float64)
    kpts = np.zeros((len(rows), k, 3), np.float64)
    for i, ann in enumerate(rows):
        if 'bbox' not in ann or len(ann['bbox']) != 4:
            raise ValueError(f'ground truth {_where(ann)}: needs bbox [x, y, w, h], got {ann.get("bbox")!r}')
        flat = np.asarray(ann.get('keypoints') or np.zeros(k * 3), np.float64)
        if flat.size != k * 3:
            raise ValueError(f'ground truth {_where(ann)}: keypoints hold {flat.size} numbers, expected {k} x 3 '
                             '(x, y, v) for the dataset metainfo')
        labels[i] = int(ann.get('category_id', 1))
        x, y, w, h = (float(v) for v in ann['bbox'])
        boxes[i] = (x, y, x + w, y + h)
        kpts[i] = flat.reshape(k, 3)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) * BOX_AREA_TO_OKS_AREA
    return ImageGroundTruth(labels, boxes, kpts[..., :2], (kpts[..., 2] > 0).astype(np.float64), areas)


def coco_from_samples(images: Sequence[dict], anns_per_image: Dict[int, List[dict]],
                      categories: Optional[Sequence[dict]] = None) -> COCO:
    """An in-memory COCO index (xtcocotools) of the ground truth carried by data samples.

    Args:
        images: ``dict(id, width, height)`` per image (duplicates, e.g. from padded distributed sampling, are
            merged).
        anns_per_image: image id -> COCO annotation dicts (``raw_ann_info`` of the samples).
        categories: COCO categories; default: one per category id found, named by its id.

    Raises:
        ValueError: an annotation id repeats across images, or an annotation lacks a required key.
    """
    seen_images: Dict[int, dict] = {}
    for img in images:
        seen_images.setdefault(int(img['id']), dict(id=int(img['id']), width=int(img['width']),
                                                     height=int(img['height'])))
    annotations, owner = [], {}
    for img_id in seen_images:
        for ann in anns_per_image.get(img_id, []):
            if ann is None:
                continue
            missing = [key for key in ('id', 'bbox', 'keypoints') if key not in ann]
            if missing:
                raise ValueError(f'ground truth {_where(ann)}: missing {missing} (raw_ann_info must hold COCO '
                                 'annotations)')
            if ann['id'] in owner and owner[ann['id']] != img_id:
                raise ValueError(f"ground truth annotation id {ann['id']} appears in images {owner[ann['id']]} "
                                 f'and {img_id}; annotation ids must be unique')
            owner[ann['id']] = img_id
            box = [float(v) for v in ann['bbox']]
            entry = dict(id=ann['id'], image_id=img_id, category_id=int(ann.get('category_id', 1)), bbox=box,
                         keypoints=[float(v) for v in ann['keypoints']], iscrowd=int(ann.get('iscrowd', 0)),
                         area=float(ann['area']) if 'area' in ann else box[2] * box[3] * BOX_AREA_TO_OKS_AREA)
            entry['num_keypoints'] = int(ann.get('num_keypoints', int((np.asarray(entry['keypoints'])[2::3] > 0).sum())))
            annotations.append(entry)
    if categories is None:
        ids = sorted({a['category_id'] for a in annotations} or {1})
        categories = [dict(id=i, name=str(i)) for i in ids]
    coco = COCO()
    coco.dataset = dict(images=list(seen_images.values()), annotations=annotations,
                        categories=[dict(c) for c in categories])
    with contextlib.redirect_stdout(io.StringIO()):  # cocoapi prints progress
        coco.createIndex()
    return coco
