# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A grid of images with their people drawn (boxes, class names, keypoints, skeleton) by mmpose's visualizer."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample



@dataclass
class TileInstances:
    """The people of one image, in that image's pixels.

    Attributes:
        bboxes: (N, 4) xyxy.
        labels: (N,) class indices.
        keypoints: (N, K, 2).
        keypoint_scores: (N, K) visibility (labels: 1 labelled, 0 not) or predicted scores.
        scores: (N,) detection scores for predictions, None for labels.
    """

    bboxes: np.ndarray
    labels: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    scores: Optional[np.ndarray] = None

    def scaled(self, factor: float) -> 'TileInstances':
        return TileInstances(self.bboxes * factor, self.labels, self.keypoints * factor, self.keypoint_scores,
                             self.scores)

    def above(self, score_thr: float) -> 'TileInstances':
        if self.scores is None:
            return self
        keep = self.scores >= score_thr
        return TileInstances(self.bboxes[keep], self.labels[keep], self.keypoints[keep], self.keypoint_scores[keep],
                             self.scores[keep])


def _draw_one(image: np.ndarray, inst: TileInstances, dataset_meta: dict, kpt_thr: float, radius: int,
              line_width: int) -> np.ndarray:
    """``image`` (BGR) with ``inst`` drawn; returns BGR."""
    sample = PoseDataSample()
    pred = InstanceData()
    pred.bboxes = inst.bboxes.astype(np.float32).reshape(-1, 4)
    pred.labels = inst.labels.astype(np.int64).reshape(-1)
    pred.keypoints = inst.keypoints.astype(np.float32)
    pred.keypoint_scores = inst.keypoint_scores.astype(np.float32)
    pred.keypoints_visible = inst.keypoint_scores.astype(np.float32)
    sample.pred_instances = pred
    from ..visualization import _visualizer  # mmpose's visualizer imports torchvision: only when drawing
    vis = _visualizer(dataset_meta, radius, line_width)
    rgb = np.ascontiguousarray(image[..., ::-1])
    if len(pred.bboxes):
        vis.add_datasample('tile', rgb, sample, draw_gt=False, draw_bbox=True, draw_heatmap=False, kpt_thr=kpt_thr,
                           show=False)
        rgb = vis.get_image()
    out = np.ascontiguousarray(rgb[..., ::-1])
    if inst.scores is not None:  # the visualizer writes the class name; add the score under the box corner
        for (x1, y1, x2, y2), s in zip(inst.bboxes, inst.scores):
            org = (int(x1) + 2, int(min(y2, out.shape[0] - 4)) - 3)
            cv2.putText(out, f'{s:.2f}', org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_tiles(images: Sequence[np.ndarray], instances: Sequence[TileInstances], dataset_meta: dict,
               out_file: Optional[str] = None, titles: Optional[Sequence[str]] = None, max_size: int = 1920,
               score_thr: float = 0.25, kpt_thr: float = 0.5) -> np.ndarray:
    """Draw up to 16 images and their people into one grid (Ultralytics' ``train_batch*.jpg`` layout).

    Args:
        images: BGR uint8 images (any sizes).
        instances: the people of each image, in its pixels.
        dataset_meta: mmpose metainfo (keypoint colours, skeleton, ``classes`` for the names).
        out_file: where to write the grid (JPEG / PNG by extension).
        titles: text written at each tile's top left (e.g. the file name).
        max_size: side of the whole grid at most.
        score_thr: predictions below it are not drawn.
        kpt_thr: keypoints whose score (or visibility) is below it are not drawn.

    Returns:
        The grid, BGR (H, W, 3).
    """
    images = list(images)[:16]
    if not images:
        raise ValueError('draw_tiles: no images')
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    side = max(max(img.shape[:2]) for img in images)
    tile = int(min(side, max_size // cols))
    grid = np.full((rows * tile, cols * tile, 3), 255, np.uint8)
    radius, line_width = max(3, tile // 90), max(1, tile // 240)
    for i, (img, inst) in enumerate(zip(images, instances)):
        factor = tile / max(img.shape[:2])
        small = cv2.resize(img, (max(1, round(img.shape[1] * factor)), max(1, round(img.shape[0] * factor))),
                           interpolation=cv2.INTER_AREA) if factor != 1 else img.copy()
        drawn = _draw_one(small, inst.above(score_thr).scaled(factor), dataset_meta, kpt_thr, radius, line_width)
        r, c = divmod(i, cols)
        grid[r * tile:r * tile + drawn.shape[0], c * tile:c * tile + drawn.shape[1]] = drawn
        cv2.rectangle(grid, (c * tile, r * tile), ((c + 1) * tile - 1, (r + 1) * tile - 1), (255, 255, 255), 2)
        if titles:
            cv2.putText(grid, str(titles[i])[:40], (c * tile + 5, r * tile + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (220, 220, 220), 1, cv2.LINE_AA)
    if out_file:
        os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
        cv2.imwrite(out_file, grid)
    return grid


def tile_meta(dataset_meta: Optional[dict], num_classes: int) -> dict:
    """A metainfo copy with ``classes`` (the visualizer's label names) always set."""
    meta = dict(dataset_meta or {})
    if not meta.get('classes'):
        names: List[str] = [c['name'] for c in meta.get('CLASSES', []) if isinstance(c, dict)]
        meta['classes'] = names if len(names) >= num_classes else (['person'] if num_classes == 1 else
                                                                   [f'class {i}' for i in range(num_classes)])
    return meta


__all__ = ['TileInstances', 'draw_tiles', 'tile_meta']
