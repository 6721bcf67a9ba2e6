# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO26 part of the Ultralytics checkpoint converter: the Pose26 layer's names, branches and shapes."""
from __future__ import annotations

from types import MappingProxyType
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

import torch

# Pose26 children -> our names under `head` (the layer's destination): both branch sets in head.head_module, the
# RLE flow in head.flow. `dfl` is an Identity for reg_max 1 (no weights).
_BRANCH_PARTS = (('cv2', 'box_branch'), ('cv3', 'cls_branch'), ('cv4_kpts', 'kpt_pred'), ('cv4_sigma', 'kpt_sigma'),
                 ('cv4', 'kpt_trunk'))
POSE26_RENAMES: Mapping[str, Optional[str]] = MappingProxyType({
    **{ul: f'head_module.one2many.{ours}' for ul, ours in _BRANCH_PARTS},
    **{f'one2one_{ul}': f'head_module.one2one.{ours}' for ul, ours in _BRANCH_PARTS},
    'flow_model': 'flow',
    'dfl': None,
})


class Pose26Head(NamedTuple):
    """What a Pose26 layer holds: classes, keypoint shape, the branch sets present and whether the training-only
    sigma outputs and flow are there (a fused inference checkpoint has one branch set and neither)."""

    num_classes: int
    num_keypoints: int
    keypoint_dim: int
    branches: Tuple[str, ...]
    with_rle: bool


def detect_pose26_head(tensors: Dict[str, torch.Tensor], kpt_shape, error) -> Pose26Head:
    """Read a Pose26 layer from its renamed tensors (keys ``head.head_module.<set>...``, ``head.flow...``).

    Args:
        tensors: the layer's tensors under our names.
        kpt_shape: the layer's stored ``kpt_shape`` attribute (or None).
        error: exception class for an unsupported layer (the converter's ``ConversionError``).
    """
    branches = tuple(b for b in ('one2many', 'one2one') if f'head.head_module.{b}.kpt_pred.0.weight' in tensors)
    if not branches:
        raise error('layer Pose26 has neither one-to-many (cv4_kpts) nor one-to-one (one2one_cv4_kpts) keypoint '
                    'outputs: not a YOLO26 pose head')
    first = f'head.head_module.{branches[0]}'
    try:
        box_out = tensors[f'{first}.box_branch.0.2.weight'].shape[0]
        nc = tensors[f'{first}.cls_branch.0.2.weight'].shape[0]
        nk = tensors[f'{first}.kpt_pred.0.weight'].shape[0]
    except KeyError as e:
        raise error(f'layer Pose26 is missing {e.args[0]}: not a YOLO26 pose head') from None
    if box_out != 4:
        raise error(f'layer Pose26 predicts {box_out} box values per cell; only reg_max=1 (4 direct distances) is '
                    'supported')
    if kpt_shape is None or len(kpt_shape) != 2:
        kpt_shape = (nk // 3, 3) if nk % 3 == 0 and nk % 2 else None
    if kpt_shape is None or kpt_shape[0] * kpt_shape[1] != nk or kpt_shape[1] not in (2, 3):
        raise error(f'cannot tell the keypoint shape: the keypoint branch has {nk} outputs and the checkpoint '
                    f'stores kpt_shape={kpt_shape}')
    has_sigma = all(f'head.head_module.{b}.kpt_sigma.0.weight' in tensors for b in branches)
    has_flow = any(k.startswith('head.flow.') for k in tensors)
    if has_sigma != has_flow:
        raise error('layer Pose26 has ' + ('sigma outputs without the RLE flow' if has_sigma else
                                           'the RLE flow without sigma outputs') + ': an unknown YOLO26 variant')
    return Pose26Head(int(nc), int(kpt_shape[0]), int(kpt_shape[1]), branches, has_flow)


def pose26_config(cfg, branches: Tuple[str, ...], with_rle: bool) -> None:
    """Make a YOLO26 config describe a checkpoint with only some branch sets / no RLE parts, in place; a model
    with only the one-to-one set predicts NMS-free by default."""
    if branches and tuple(branches) != ('one2many', 'one2one'):
        cfg.model.head.branches = list(branches)
    if not with_rle:
        cfg.model.head.with_rle = False
    if tuple(branches) == ('one2one',):
        cfg.model.test_cfg.end2end = True


__all__ = ['POSE26_RENAMES', 'Pose26Head', 'detect_pose26_head', 'pose26_config']
