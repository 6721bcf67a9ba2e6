# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Draw predicted people (boxes, keypoints, skeleton) with mmpose's visualizer."""
from __future__ import annotations

import itertools
from typing import Dict, Optional, Tuple, Union

import mmcv
import numpy as np
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

_COUNTER = itertools.count()
# One visualizer per (radius, line_width): mmengine keeps every named visualizer alive in a global registry, so a
# new one per frame would grow without bound on videos.
_VISUALIZERS: Dict[Tuple[float, float], PoseLocalVisualizer] = {}


def _visualizer(dataset_meta: dict, radius: float, line_width: float) -> PoseLocalVisualizer:
    key = (float(radius), float(line_width))
    if key not in _VISUALIZERS:
        _VISUALIZERS[key] = PoseLocalVisualizer(name=f'yolopose_draw_{next(_COUNTER)}', radius=radius,
                                                line_width=line_width)
    vis = _VISUALIZERS[key]
    vis.set_dataset_meta(dataset_meta)  # cheap; the caller's metainfo may differ from the last call's
    return vis


def draw_pose(image: Union[str, np.ndarray], data_sample: PoseDataSample, dataset_meta: dict,
              out_file: Optional[str] = None, kpt_thr: float = 0.3, draw_bbox: bool = True, radius: int = 4,
              line_width: int = 2) -> np.ndarray:
    """Draw ``data_sample.pred_instances`` on ``image`` (path or BGR array).

    The skeleton and colours come from ``dataset_meta`` (any K; no skeleton is drawn when the metainfo has none).
    Keypoints (and links) whose ``keypoint_scores`` are below ``kpt_thr`` are not drawn (mmpose's visualizer
    reads ``keypoints_visible``; it is filled from ``keypoint_scores`` on a copy when missing).

    Returns:
        The drawn image, RGB (H, W, 3). Written to ``out_file`` (BGR on disk) when given.
    """
    img = mmcv.imread(image, channel_order='rgb') if isinstance(image, str) else mmcv.bgr2rgb(image)
    inst = data_sample.get('pred_instances')
    if inst is not None and 'keypoint_scores' in inst and 'keypoints_visible' not in inst:
        data_sample = data_sample.clone()
        data_sample.pred_instances.keypoints_visible = data_sample.pred_instances.keypoint_scores
    vis = _visualizer(dataset_meta, radius, line_width)
    vis.add_datasample('result', img, data_sample, draw_gt=False, draw_bbox=draw_bbox, draw_heatmap=False,
                       kpt_thr=kpt_thr, show=False, out_file=out_file)
    return vis.get_image()
