# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Per-person fields of a training sample: selecting and concatenating them consistently, empty samples included."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

# Fields with one entry per person (arrays of length N, or lists of length N).
PER_INSTANCE = ('bbox', 'bbox_score', 'category_id', 'keypoints', 'keypoints_visible', 'area', 'iscrowd', 'id',
                'num_keypoints', 'bbox_labels')


def num_instances(results: Dict) -> int:
    """N, the number of people in ``results`` (from ``bbox``, else ``keypoints``; 0 when neither is present)."""
    for key in ('bbox', 'keypoints'):
        value = results.get(key)
        if value is not None:
            return len(value)
    return 0


def select_instances(results: Dict, keep: np.ndarray) -> Dict:
    """Keep the people where the boolean mask ``keep`` (N,) is true in every per-person field, in place."""
    n = len(keep)
    for key in PER_INSTANCE:
        value = results.get(key)
        if isinstance(value, np.ndarray) and len(value) == n:
            results[key] = value[keep]
        elif isinstance(value, list) and len(value) == n:
            results[key] = [v for v, k in zip(value, keep) if k]
    return results


def concat_instances(parts: Sequence[Dict], num_keypoints: int) -> Dict:
    """The per-person fields of several samples joined in order (a field missing from any part is left out).

    ``keypoints`` (N, K, 2) and ``keypoints_visible`` (N, K) keep their shape when every part is empty.
    """
    out: Dict = {}
    for key in PER_INSTANCE:
        values = [p.get(key) for p in parts]
        if any(v is None for v in values):
            continue
        if all(isinstance(v, np.ndarray) for v in values):
            out[key] = np.concatenate(values, 0)
        else:
            joined: List = []
            for v in values:
                joined.extend(list(v))
            out[key] = joined
    if 'keypoints' in out:
        out['keypoints'] = out['keypoints'].reshape(-1, num_keypoints, 2)
    if 'keypoints_visible' in out:
        out['keypoints_visible'] = out['keypoints_visible'].reshape(-1, num_keypoints)
    if 'bbox' in out:
        out['bbox'] = out['bbox'].reshape(-1, 4)
    return out
