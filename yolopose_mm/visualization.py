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


# 20 well-separated colours (RGB) for track IDs; ID n gets TRACK_COLORS[(n - 1) % 20].
TRACK_COLORS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
                (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180),
                (0, 0, 128), (128, 128, 128))


def track_color(track_id: int) -> Tuple[int, int, int]:
    """The drawing colour (RGB) of a track ID."""
    return TRACK_COLORS[(int(track_id) - 1) % len(TRACK_COLORS)]


def draw_tracks(image: np.ndarray, data_sample: PoseDataSample, dataset_meta: dict, kpt_thr: float = 0.3,
                radius: int = 4, line_width: int = 2) -> np.ndarray:
    """Draw tracked people (``pred_instances.track_ids``, from :func:`yolopose_mm.apis.track`) on a BGR frame:
    each person's box, skeleton links and an ``id N`` tag in the colour of its ID; keypoints in the metainfo's
    colours; keypoints under ``kpt_thr`` are not drawn.

    Returns:
        The drawn image, RGB (H, W, 3).
    """
    img = mmcv.bgr2rgb(image)
    inst = data_sample.pred_instances
    if 'track_ids' not in inst:
        raise ValueError('draw_tracks: pred_instances has no track_ids (use yolopose_mm.apis.track)')
    vis = _visualizer(dataset_meta, radius, line_width)
    n_links = len(dataset_meta.get('skeleton_links') or [])
    saved = (vis.bbox_color, vis.kpt_color, vis.link_color)
    try:
        for i, tid in enumerate(np.asarray(inst.track_ids).tolist()):
            color = track_color(tid)
            person = inst[i:i + 1].clone()
            person.keypoints_visible = person.keypoint_scores
            if 'labels' in person:
                del person.labels  # no class tag: the ID tag is drawn below
            vis.set_dataset_meta({**dataset_meta, 'bbox_color': color,
                                  'skeleton_link_colors': np.array([color] * n_links)})
            vis.add_datasample('result', img, PoseDataSample(pred_instances=person), draw_gt=False, draw_bbox=True,
                               draw_heatmap=False, kpt_thr=kpt_thr, show=False)
            img = vis.get_image()
        vis.set_image(img)
        font = max(16, int(round(min(img.shape[:2]) / 14)))
        for (x1, y1, _, _), tid in zip(np.asarray(inst.bboxes).reshape(-1, 4), np.asarray(inst.track_ids).tolist()):
            # above the box's top-left corner, or just inside it when the box touches the top of the frame
            color = track_color(tid)
            ink = (0, 0, 0) if 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] > 150 else (255, 255, 255)
            vis.draw_texts(f'id {tid}', np.array([max(x1, 0.0), max(y1, font * 0.9)]), font_sizes=font,
                           colors=ink, vertical_alignments='bottom',
                           bboxes=[dict(facecolor=color, alpha=0.8, pad=0.7, edgecolor='none')])
        img = vis.get_image()
    finally:  # the shared visualizer goes back to the metainfo's colours for draw_pose
        vis.set_dataset_meta(dataset_meta)
        vis.bbox_color, vis.kpt_color, vis.link_color = saved
    return img
