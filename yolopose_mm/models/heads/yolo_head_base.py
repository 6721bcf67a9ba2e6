# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""What every YOLO pose head shares: strides, priors, the stride check, OKS sigmas and the result records."""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.utils.typing import OptConfigType, OptSampleList

from ...utils.warn import warn_once
from ..utils.decode import Priors, make_priors


class YOLOHeadBase(BaseHead):
    """Base of :class:`YOLOPoseHead` and :class:`YOLO26PoseHead` (no layers of its own).

    Args:
        in_channels: Widths of the input levels (only their number is checked here).
        featmap_strides: Stride of each input level.
        num_classes: Object classes.
        num_keypoints: K.
        keypoint_dim: 2 or 3 (with visibility).
        sigmas: Per-keypoint OKS sigmas for the keypoint loss (usually set by ``DatasetMetaToHeadHook``).
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: Sequence[int], featmap_strides: Sequence[int], num_classes: int,
                 num_keypoints: int, keypoint_dim: int, sigmas: Optional[Sequence[float]] = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        featmap_strides = tuple(int(s) for s in featmap_strides)
        if len(featmap_strides) != len(in_channels):
            raise ValueError(f'{type(self).__name__}: featmap_strides {featmap_strides} must have one stride per '
                             f'input level (in_channels {tuple(in_channels)})')
        self.featmap_strides = featmap_strides
        self.num_classes = num_classes
        self.num_keypoints = num_keypoints
        self.keypoint_dim = keypoint_dim
        # A plain attribute, not a buffer: it comes from the dataset and must not be averaged / swapped by EMA or
        # saved in checkpoints.
        self.sigmas = torch.empty(0)
        if sigmas is not None:
            self.set_sigmas(sigmas)
        self._prior_cache: Dict[Tuple, Priors] = {}

    def priors(self, featmap_sizes: Sequence[Tuple[int, int]], dtype: torch.dtype,
               device: torch.device) -> Priors:
        """Prior points for these feature-map sizes, cached per (sizes, dtype, device)."""
        key = (tuple(tuple(int(v) for v in s) for s in featmap_sizes), dtype, str(device))
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return make_priors(featmap_sizes, self.featmap_strides, dtype, device)
        if key not in self._prior_cache:
            self._prior_cache = {key: make_priors(featmap_sizes, self.featmap_strides, dtype, device)}
        return self._prior_cache[key]

    def _check_strides(self, featmap_sizes: Sequence[Tuple[int, int]], batch_data_samples: OptSampleList) -> None:
        """Refuse levels whose size does not match ``featmap_strides`` for the batch input (the data
        preprocessor's ``batch_input_shape``); without it, boxes would be decoded at the wrong scale silently."""
        if not batch_data_samples or 'batch_input_shape' not in batch_data_samples[0].metainfo:
            return
        in_h, in_w = batch_data_samples[0].metainfo['batch_input_shape'][:2]
        for level, ((h, w), stride) in enumerate(zip(featmap_sizes, self.featmap_strides)):
            if (int(h), int(w)) != (-(-int(in_h) // stride), -(-int(in_w) // stride)):
                raise ValueError(f'{type(self).__name__}: level {level} is {int(h)}x{int(w)} for a '
                                 f'{int(in_h)}x{int(in_w)} input (stride {in_h / max(int(h), 1):g}), but '
                                 f'featmap_strides says {stride}; set head.featmap_strides to the strides of the neck '
                                 f'outputs, or pick backbone stages (out_indices) with strides '
                                 f'{tuple(self.featmap_strides)}')

    def set_sigmas(self, sigmas: Sequence[float]) -> None:
        """Per-keypoint OKS sigmas (K,) for the keypoint loss, e.g. from the dataset metainfo."""
        t = torch.as_tensor(np.asarray(sigmas, dtype=np.float32).reshape(-1))
        if t.numel() != self.num_keypoints or not bool((t > 0).all()):
            raise ValueError(f'{type(self).__name__}: sigmas must be {self.num_keypoints} positive values (one per '
                             f'keypoint), got {t.numel()} values')
        self.sigmas = t

    def _loss_sigmas(self, device: torch.device) -> torch.Tensor:
        """The sigmas for the loss; 1/K (with a one-time warning) when neither the config nor the dataset gave any."""
        if self.sigmas.numel() == 0:
            warn_once('head-sigmas', f'{type(self).__name__}: no OKS sigmas given (dataset metainfo or head.sigmas): '
                      f'using 1/K = {1 / self.num_keypoints:.4f} for all {self.num_keypoints} keypoints')
            self.sigmas = torch.full((self.num_keypoints,), 1.0 / self.num_keypoints)
        return self.sigmas.to(device)


def pose_instances(bboxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, keypoints: torch.Tensor,
                   keypoint_scores: torch.Tensor, meta: dict) -> InstanceData:
    """One image's kept predictions as mmpose ``InstanceData`` (numpy), clipped to the image area.

    Args:
        bboxes: (M, 4) input-space x1, y1, x2, y2.
        scores: (M,) box scores.
        labels: (M,) class ids.
        keypoints: (M, K, 2) input-space x, y.
        keypoint_scores: (M, K).
        meta: the data sample's metainfo (``input_size``, ``input_center``, ``input_scale``, ``ori_shape``).
    """
    bboxes, keypoints = clip_to_image(bboxes, keypoints, meta)
    return InstanceData(bboxes=bboxes.detach().float().cpu().numpy(),
                        bbox_scores=scores.detach().float().cpu().numpy(),
                        labels=labels.detach().cpu().numpy(),
                        keypoints=keypoints.detach().float().cpu().numpy(),
                        keypoint_scores=keypoint_scores.detach().float().cpu().numpy())


def clip_to_image(bboxes: torch.Tensor, keypoints: torch.Tensor, meta: dict) -> Tuple[torch.Tensor, torch.Tensor]:
    """Clip input-space boxes (M, 4) and keypoints (M, K, 2) to the region that maps inside the original image.

    The estimator maps input coordinates to the image with ``x / input_size * input_scale + input_center -
    input_scale / 2``; the image spans [0, ori_w] x [0, ori_h], so its input-space box follows from the inverse.
    """
    needed = ('input_size', 'input_center', 'input_scale', 'ori_shape')
    if not all(k in meta for k in needed):
        return bboxes, keypoints
    size = np.asarray(meta['input_size'], dtype=np.float64)
    center = np.asarray(meta['input_center'], dtype=np.float64).reshape(-1)
    scale = np.asarray(meta['input_scale'], dtype=np.float64).reshape(-1)
    ori_h, ori_w = meta['ori_shape'][:2]
    lo = (0.0 - center + 0.5 * scale) / scale * size
    hi = (np.array([ori_w, ori_h], dtype=np.float64) - center + 0.5 * scale) / scale * size
    lo_t = torch.as_tensor(lo, dtype=bboxes.dtype, device=bboxes.device)
    hi_t = torch.as_tensor(hi, dtype=bboxes.dtype, device=bboxes.device)
    bboxes = torch.cat((torch.max(torch.min(bboxes[:, :2], hi_t), lo_t),
                        torch.max(torch.min(bboxes[:, 2:], hi_t), lo_t)), 1)
    keypoints = torch.max(torch.min(keypoints, hi_t), lo_t)
    return bboxes, keypoints


__all__ = ['YOLOHeadBase', 'pose_instances', 'clip_to_image']
