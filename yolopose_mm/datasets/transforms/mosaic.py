# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Four-image mosaic with the YOLO training recipe's semantics, partners drawn from the sample's batch."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose
from mmpose.registry import TRANSFORMS

from ..sample_key import SampleKey
from .instances import concat_instances, num_instances, select_instances
from .load import YOLOLoadImage


def mosaic_layout(center: Tuple[int, int], tile_hw: Sequence[Tuple[int, int]],
                  canvas_wh: Tuple[int, int]) -> List[Tuple[Tuple[int, int, int, int], Tuple[int, int, int, int]]]:
    """Where each of four tiles goes on the canvas: [(canvas x1, y1, x2, y2), (tile x1, y1, x2, y2)] for the top-left,
    top-right, bottom-left and bottom-right tile, which meet at ``center`` (x, y) and are cropped at the canvas
    border."""
    xc, yc = center
    cw, ch = canvas_wh
    out = []
    for i, (h, w) in enumerate(tile_hw):
        if i == 0:
            a = (max(xc - w, 0), max(yc - h, 0), xc, yc)
            b = (w - (a[2] - a[0]), h - (a[3] - a[1]), w, h)
        elif i == 1:
            a = (xc, max(yc - h, 0), min(xc + w, cw), yc)
            b = (0, h - (a[3] - a[1]), min(w, a[2] - a[0]), h)
        elif i == 2:
            a = (max(xc - w, 0), yc, xc, min(ch, yc + h))
            b = (w - (a[2] - a[0]), 0, w, min(a[3] - a[1], h))
        else:
            a = (xc, yc, min(xc + w, cw), min(ch, yc + h))
            b = (0, 0, min(w, a[2] - a[0]), min(a[3] - a[1], h))
        out.append((a, b))
    return out


@dataclass
class MosaicLayout:
    """A mosaic canvas not drawn yet: the tiles (cropped image views) and where they go.

    Attributes:
        canvas_wh: canvas (w, h).
        pad_val: colour where no tile is.
        tiles: (image crop (h, w, 3), canvas x, canvas y) of each tile.
    """
    canvas_wh: Tuple[int, int]
    pad_val: int
    tiles: List[Tuple[np.ndarray, int, int]]

    def render(self, region: Optional[Tuple[int, int, int, int]] = None,
               out: Optional[np.ndarray] = None) -> np.ndarray:
        """The canvas, or only its part ``region`` (x1, y1, x2, y2), as an (h, w, 3) uint8 image: a new one, or
        ``out`` (a contiguous uint8 buffer of at least h * w * 3 bytes, whose first bytes become the image).

        Each tile is copied once, and the pad colour is written only where no tile is (later tiles win where
        tiles overlap): the pixels of filling the canvas with the pad colour and pasting the tiles in order.
        """
        x1, y1, x2, y2 = region if region is not None else (0, 0, *self.canvas_wh)
        shape = (y2 - y1, x2 - x1, 3)
        if out is None:
            img = np.empty(shape, dtype=np.uint8)
        else:
            img = out.reshape(-1)[:shape[0] * shape[1] * 3].reshape(shape)
        boxes = []
        for tile, tx, ty in self.tiles:
            th, tw = tile.shape[:2]
            ax1, ay1, ax2, ay2 = max(tx, x1), max(ty, y1), min(tx + tw, x2), min(ty + th, y2)
            if ax1 < ax2 and ay1 < ay2:
                boxes.append((ax1 - x1, ay1 - y1, ax2 - x1, ay2 - y1))
                img[ay1 - y1:ay2 - y1, ax1 - x1:ax2 - x1] = tile[ay1 - ty:ay2 - ty, ax1 - tx:ax2 - tx]
        for bx1, by1, bx2, by2 in uncovered(boxes, shape[1], shape[0]):
            img[by1:by2, bx1:bx2] = self.pad_val
        return img


def uncovered(boxes: Sequence[Tuple[int, int, int, int]], w: int, h: int) -> List[Tuple[int, int, int, int]]:
    """Rectangles (x1, y1, x2, y2) that together cover exactly the part of the w x h image outside every box
    (boxes given as x1, y1, x2, y2 inside the image): for each horizontal band between box edges, the gaps between
    the boxes that span it."""
    ys = sorted({0, h, *(b[1] for b in boxes), *(b[3] for b in boxes)})
    out = []
    for top, bottom in zip(ys[:-1], ys[1:]):
        x = 0
        for bx1, _, bx2, _ in sorted(b for b in boxes if b[1] <= top and b[3] >= bottom):
            if bx1 > x:
                out.append((x, top, bx1, bottom))
            x = max(x, bx2)
        if x < w:
            out.append((x, top, w, bottom))
    return out


def choose_partners(key: Optional[SampleKey], dataset_len: int, n: int = 3) -> List[int]:
    """``n`` partner indices drawn (with replacement) from Python's ``random``: from the key's pool without the
    sample itself when the pool has other images, else from the whole dataset."""
    if key is not None and key.pool:
        others = [i for i in key.pool if i != key.index] or list(key.pool)
        return random.choices(others, k=n)
    return [random.randint(0, dataset_len - 1) for _ in range(n)]


def shift_instances(results: Dict, dx: float, dy: float) -> Dict:
    """The per-person fields of ``results`` with boxes and keypoints moved by (dx, dy) (new arrays)."""
    out = dict(results)
    if results.get('bbox') is not None:
        out['bbox'] = results['bbox'].reshape(-1, 4) + np.array([dx, dy, dx, dy], np.float32)
    if results.get('keypoints') is not None:
        out['keypoints'] = results['keypoints'] + np.array([dx, dy], np.float32)
    return out


def clip_to_canvas(results: Dict, w: int, h: int) -> None:
    """Clip boxes and keypoints to a w x h canvas (keypoints outside become invisible) and drop empty boxes."""
    n = num_instances(results)
    if results.get('keypoints') is not None:
        kpts = results['keypoints'].astype(np.float32)
        vis = results['keypoints_visible'].astype(np.float32)
        outside = (kpts[..., 0] < 0) | (kpts[..., 0] > w) | (kpts[..., 1] < 0) | (kpts[..., 1] > h)
        vis[outside] = 0.0
        kpts[..., 0] = kpts[..., 0].clip(0, w)
        kpts[..., 1] = kpts[..., 1].clip(0, h)
        results['keypoints'], results['keypoints_visible'] = kpts, vis
    if results.get('bbox') is not None and n:
        b = results['bbox']
        b = np.stack((b[:, 0].clip(0, w), b[:, 1].clip(0, h), b[:, 2].clip(0, w), b[:, 3].clip(0, h)), 1)
        results['bbox'] = b
        select_instances(results, (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) > 0)


@TRANSFORMS.register_module()
class YOLOMosaic(BaseTransform):
    """Join the sample's image with three partner images around a random centre on a 2x canvas, as the YOLO
    training recipe's mosaic: the sample is the top-left tile, each tile keeps its loaded size (see
    :class:`YOLOLoadImage`) and is cropped at the canvas border, the centre is drawn uniformly in the middle half
    of the canvas, boxes are clipped to the canvas (empty ones dropped) and keypoints outside it become invisible.

    Partners are drawn from the sample key's pool (the sample's batch, see ``YOLOBatchSampler``), so a sample's
    mosaic is a pure function of its key and costs no extra image decode when the batch's images are cached;
    without a pool they are drawn from the whole dataset.

    With ``lazy`` (the default) the canvas is not drawn: ``results['mosaic_layout']`` describes it and the next
    transform, which must be :class:`YOLORandomAffine`, draws only the part its warp reads (same pixels as warping
    the whole canvas). With ``lazy=False`` ``results['img']`` is the canvas.

    Args:
        img_scale: the input (w, h), or one int; the canvas is twice that.
        prob: probability of making a mosaic (otherwise the sample passes unchanged).
        pad_val: canvas colour.
        pre_transform: how a partner image is loaded (default ``YOLOLoadImage(img_scale)``).
        lazy: leave the canvas to the following ``YOLORandomAffine``.

    Draws from Python's ``random`` (seeded per sample by the dataset): the mosaic decision, the partners, the
    centre. Required keys: img, dataset (set by the dataset), optional sample_key. Modified keys: img, img_shape
    and the per-person fields.
    """

    def __init__(self, img_scale: Union[int, Sequence[int]] = 640, prob: float = 1.0, pad_val: int = 114,
                 pre_transform: Optional[Sequence[dict]] = None, lazy: bool = True) -> None:
        super().__init__()
        if isinstance(img_scale, int):
            img_scale = (img_scale, img_scale)
        self.img_scale = tuple(int(v) for v in img_scale)
        if len(self.img_scale) != 2 or min(self.img_scale) < 1:
            raise ValueError(f'YOLOMosaic: img_scale must be an int or (w, h), got {img_scale}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'YOLOMosaic: prob must be in [0, 1], got {prob}')
        self.prob = float(prob)
        self.pad_val = int(pad_val)
        self.lazy = bool(lazy)
        self.pre_transform = (Compose(list(pre_transform)) if pre_transform
                              else Compose([YOLOLoadImage(img_scale=self.img_scale)]))

    def partner(self, dataset, index: int) -> Dict:
        """A partner sample, loaded by ``pre_transform``."""
        info = dataset.get_data_info(index)
        info['dataset'] = dataset
        out = self.pre_transform(info)
        out.pop('dataset', None)
        return out

    def transform(self, results: Dict) -> Optional[Dict]:
        if random.uniform(0, 1) > self.prob:
            return results
        dataset = results.get('dataset')
        if dataset is None:
            raise KeyError("YOLOMosaic needs results['dataset'] to load partner images; use it in the pipeline of "
                           'a dataset that sets it (YOLOPoseDataset, YOLOCocoDataset or any mmpose dataset)')
        key = results.get('sample_key')
        parts = [results] + [self.partner(dataset, j) for j in choose_partners(key, len(dataset))]
        w, h = self.img_scale
        # centre uniformly in the middle half of the canvas (y drawn first)
        yc = int(random.uniform((h + 1) // 2, 2 * h - (h + 1) // 2))
        xc = int(random.uniform((w + 1) // 2, 2 * w - (w + 1) // 2))
        center = (xc, yc)
        tiles, shifted = [], []
        for part, (a, b) in zip(parts, mosaic_layout(center, [p['img'].shape[:2] for p in parts], (2 * w, 2 * h))):
            tiles.append((part['img'][b[1]:b[3], b[0]:b[2]], a[0], a[1]))
            shifted.append(shift_instances(part, a[0] - b[0], a[1] - b[1]))
        joined = concat_instances(shifted, _num_keypoints(parts))
        clip_to_canvas(joined, 2 * w, 2 * h)
        results.update(joined)
        layout = MosaicLayout((2 * w, 2 * h), self.pad_val, tiles)
        if self.lazy:
            results['img'] = None
            results['mosaic_layout'] = layout
        else:
            results['img'] = layout.render()
        results['img_shape'] = (2 * h, 2 * w)
        results['mosaic_indices'] = [p.get('sample_idx') for p in parts]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(img_scale={self.img_scale}, prob={self.prob}, pad_val={self.pad_val}, '
                f'lazy={self.lazy})')


def check_lazy_mosaic(transforms: Sequence) -> None:
    """Raise if a lazy :class:`YOLOMosaic` in ``transforms`` is not directly followed by ``YOLORandomAffine``."""
    from .random_affine import YOLORandomAffine
    for i, t in enumerate(transforms):
        after = transforms[i + 1] if i + 1 < len(transforms) else None
        if isinstance(t, YOLOMosaic) and t.lazy and not isinstance(after, YOLORandomAffine):
            raise ValueError('YOLOMosaic(lazy=True) leaves the canvas to the next transform, which must be '
                             f'YOLORandomAffine, but it is followed by {type(after).__name__}; put YOLORandomAffine '
                             'right after it, or set lazy=False to draw the canvas')


def _num_keypoints(parts: Sequence[Dict]) -> int:
    for p in parts:
        kpts = p.get('keypoints')
        if kpts is not None and kpts.ndim == 3:
            return kpts.shape[1]
    return 0
