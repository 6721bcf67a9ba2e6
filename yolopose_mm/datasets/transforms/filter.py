# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Drop people whose box became degenerate after augmentation; keep images that end up with nobody."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from .instances import select_instances


@TRANSFORMS.register_module()
class YOLOFilterInstances(BaseTransform):
    """Keep the people whose box is at least ``min_wh`` pixels wide and high with an aspect ratio below
    ``max_aspect`` (the YOLO augmentation rule). Unlike mmpose's ``FilterAnnotations`` the sample is kept when
    nobody remains (a background image is a valid training sample), and list fields are filtered too.

    Required keys: bbox (N, 4). Modified keys: every per-instance field present.
    """

    def __init__(self, min_wh: float = 2.0, max_aspect: float = 100.0) -> None:
        super().__init__()
        if min_wh < 0 or max_aspect <= 1:
            raise ValueError(f'YOLOFilterInstances: need min_wh >= 0 and max_aspect > 1, got {min_wh}, {max_aspect}')
        self.min_wh = min_wh
        self.max_aspect = max_aspect

    def transform(self, results: Dict) -> Optional[Dict]:
        bbox = results.get('bbox')
        if bbox is None or len(bbox) == 0:
            return results
        w = bbox[:, 2] - bbox[:, 0]
        h = bbox[:, 3] - bbox[:, 1]
        aspect = np.maximum(w / (h + 1e-16), h / (w + 1e-16))
        keep = (w > self.min_wh) & (h > self.min_wh) & (aspect < self.max_aspect)
        if keep.all():
            return results
        return select_instances(results, keep)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(min_wh={self.min_wh}, max_aspect={self.max_aspect})'
