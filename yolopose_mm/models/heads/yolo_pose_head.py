# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO pose head in mmpose's head contract: ``forward``, ``predict`` and ``loss``."""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import MODELS, TASK_UTILS
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions

from ..arch_tables import get_family, neck_out_channels
from ...utils.warn import warn_once
from ..utils.decode import DecodedPose, Priors, decode_predictions, make_priors
from ..utils.nms import filter_and_nms
from .yolo_pose_head_module import RawHeadOutputs, YOLOPoseHeadModule
from .yolo_pose_loss import LossGains, targets_from_samples, yolo_pose_loss

DEFAULT_TEST_CFG = {'score_thr': 0.001, 'nms_thr': 0.7, 'max_per_img': 300}


@MODELS.register_module()
class YOLOPoseHead(BaseHead):
    """YOLOv8 / YOLO11 pose head: anchor-free, one prediction per feature-map cell.

    Layers live in :class:`YOLOPoseHeadModule` (``self.head_module``); decoding in
    :func:`~yolopose_mm.models.utils.decode.decode_predictions`.

    Args:
        version: 'v8' or '11' (sets the class branch style and the default input widths).
        scale: 'n' .. 'x' (sets the default input widths).
        in_channels: Widths of the input levels; default: the YOLO neck's for ``version``/``scale``.
        num_classes: Object classes (1 for people).
        num_keypoints: K.
        keypoint_dim: 2 or 3 (with visibility).
        reg_max: Bins per box side.
        featmap_strides: Stride of each input level.
        cls_branch: Override the class branch style ('plain' or 'depthwise').
        loss_cfg: Loss gains ``box`` 7.5, ``cls`` 0.5, ``dfl`` 1.5, ``pose`` 12, ``kobj`` 1 and
            ``scale_by_batch`` (True: terms are multiplied by the batch size, as Ultralytics does).
        assigner: Task-aligned assigner config (``TASK_UTILS``); ``min_side`` defaults to the middle stride.
        sigmas: Per-keypoint OKS sigmas for the keypoint loss. Usually left None: the training hook
            ``DatasetMetaToHeadHook`` sets them from the dataset metainfo; without either, 1/K is used with a
            one-time warning.
        init_cfg: mmengine init config.
    """

    def __init__(self, version: str = '11', scale: str = 'n', in_channels: Optional[Sequence[int]] = None,
                 num_classes: int = 1, num_keypoints: int = 17, keypoint_dim: int = 3, reg_max: int = 16,
                 featmap_strides: Sequence[int] = (8, 16, 32), cls_branch: Optional[str] = None,
                 loss_cfg: OptConfigType = None, assigner: OptConfigType = None,
                 sigmas: Optional[Sequence[float]] = None, init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        family, _ = get_family(version, scale)
        in_channels = tuple(in_channels) if in_channels is not None else neck_out_channels(version, scale)
        featmap_strides = tuple(int(s) for s in featmap_strides)
        if len(featmap_strides) != len(in_channels):
            raise ValueError(f'YOLOPoseHead: featmap_strides {featmap_strides} must have one stride per input '
                             f'level (in_channels {in_channels})')
        self.featmap_strides = featmap_strides
        self.num_classes = num_classes
        self.num_keypoints = num_keypoints
        self.keypoint_dim = keypoint_dim
        self.reg_max = reg_max
        self.head_module = YOLOPoseHeadModule(in_channels, num_classes, num_keypoints, keypoint_dim, reg_max,
                                              cls_branch or family.cls_branch)
        try:
            self.gains = LossGains(**dict(loss_cfg or {}))
        except TypeError as e:
            raise ValueError(f'YOLOPoseHead: bad loss_cfg {loss_cfg}: valid keys are box, cls, dfl, pose, kobj, '
                             'scale_by_batch') from e
        assigner_cfg = dict(type='BatchTaskAlignedAssigner', num_classes=num_classes, topk=10, alpha=0.5, beta=6.0,
                            min_side=float(featmap_strides[min(1, len(featmap_strides) - 1)]))
        assigner_cfg.update(dict(assigner or {}))
        self.assigner = TASK_UTILS.build(assigner_cfg)
        # A plain attribute, not a buffer: it comes from the dataset and must not be averaged / swapped by EMA or
        # saved in checkpoints.
        self.sigmas = torch.empty(0)
        if sigmas is not None:
            self.set_sigmas(sigmas)
        self._prior_cache: Dict[Tuple, Priors] = {}

    # ------------------------------------------------------------------------------------------------------
    def init_weights(self) -> None:
        super().init_weights()
        self.head_module.init_biases(self.featmap_strides)

    def forward(self, feats: Features) -> RawHeadOutputs:
        """Run the branches. Returns :class:`RawHeadOutputs` (box logits, class logits, raw keypoints)."""
        return self.head_module(feats)

    def priors(self, featmap_sizes: Sequence[Tuple[int, int]], dtype: torch.dtype,
               device: torch.device) -> Priors:
        """Prior points for these feature-map sizes, cached per (sizes, dtype, device)."""
        key = (tuple(tuple(int(v) for v in s) for s in featmap_sizes), dtype, str(device))
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return make_priors(featmap_sizes, self.featmap_strides, dtype, device)
        if key not in self._prior_cache:
            self._prior_cache = {key: make_priors(featmap_sizes, self.featmap_strides, dtype, device)}
        return self._prior_cache[key]

    def decode(self, raw: RawHeadOutputs) -> DecodedPose:
        """Decode raw outputs to input-pixel boxes, scores and keypoints (the one decode path)."""
        priors = self.priors(raw.featmap_sizes, raw.box_logits.dtype, raw.box_logits.device)
        return decode_predictions(raw.box_logits, raw.cls_logits, raw.kpt_raw, priors, self.reg_max,
                                  self.keypoint_dim, self.head_module.dfl_bins)

    # ------------------------------------------------------------------------------------------------------
    def predict(self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}) -> Predictions:
        """Detect people and their keypoints.

        Args:
            feats: Neck outputs, (B, C_i, H_i, W_i) per level.
            batch_data_samples: Data samples with ``input_size``, ``input_center``, ``input_scale`` and
                ``ori_shape`` metainfo (used to clip results to the image area).
            test_cfg: ``score_thr`` (default 0.001), ``nms_thr`` (0.7), ``max_per_img`` (300).

        Returns:
            One ``InstanceData`` per image in *input* coordinates (the estimator maps them to the image):
            ``bboxes`` (M, 4), ``bbox_scores`` (M,), ``labels`` (M,), ``keypoints`` (M, K, 2),
            ``keypoint_scores`` (M, K), as numpy arrays.
        """
        cfg = {**DEFAULT_TEST_CFG, **dict(test_cfg or {})}
        if cfg.get('flip_test', False):
            raise ValueError('YOLOPoseHead does not support flip_test; set model.test_cfg.flip_test=False')
        raw = self.forward(feats)
        self._check_strides(raw.featmap_sizes, batch_data_samples)
        decoded = self.decode(raw)
        results = []
        for i in range(decoded.bboxes.shape[0]):
            meta = batch_data_samples[i].metainfo if batch_data_samples is not None else {}
            bboxes, keypoints = decoded.bboxes[i], decoded.keypoints[i]
            kept = filter_and_nms(bboxes, decoded.scores[i], float(cfg['score_thr']), float(cfg['nms_thr']),
                                  int(cfg['max_per_img']))
            bboxes, keypoints = bboxes[kept.indices], keypoints[kept.indices]
            bboxes, keypoints = _clip_to_image(bboxes, keypoints, meta)
            results.append(InstanceData(
                bboxes=bboxes.detach().float().cpu().numpy(),
                bbox_scores=kept.scores.detach().float().cpu().numpy(),
                labels=kept.labels.detach().cpu().numpy(),
                keypoints=keypoints.detach().float().cpu().numpy(),
                keypoint_scores=decoded.keypoint_scores[i][kept.indices].detach().float().cpu().numpy()))
        return results

    def _check_strides(self, featmap_sizes: Sequence[Tuple[int, int]], batch_data_samples: OptSampleList) -> None:
        """Refuse levels whose size does not match ``featmap_strides`` for the batch input (the data
        preprocessor's ``batch_input_shape``); without it, boxes would be decoded at the wrong scale silently."""
        if not batch_data_samples or 'batch_input_shape' not in batch_data_samples[0].metainfo:
            return
        in_h, in_w = batch_data_samples[0].metainfo['batch_input_shape'][:2]
        for level, ((h, w), stride) in enumerate(zip(featmap_sizes, self.featmap_strides)):
            if (int(h), int(w)) != (-(-int(in_h) // stride), -(-int(in_w) // stride)):
                raise ValueError(f'YOLOPoseHead: level {level} is {int(h)}x{int(w)} for a {int(in_h)}x{int(in_w)} '
                                 f'input (stride {in_h / max(int(h), 1):g}), but featmap_strides says {stride}; set '
                                 'head.featmap_strides to the strides of the neck outputs, or pick backbone stages '
                                 f'(out_indices) with strides {tuple(self.featmap_strides)}')

    def set_sigmas(self, sigmas: Sequence[float]) -> None:
        """Per-keypoint OKS sigmas (K,) for the keypoint loss, e.g. from the dataset metainfo."""
        t = torch.as_tensor(np.asarray(sigmas, dtype=np.float32).reshape(-1))
        if t.numel() != self.num_keypoints or not bool((t > 0).all()):
            raise ValueError(f'YOLOPoseHead: sigmas must be {self.num_keypoints} positive values (one per keypoint), '
                             f'got {t.numel()} values')
        self.sigmas = t

    def loss(self, feats: Tuple[torch.Tensor], batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Training losses for a batch.

        Args:
            feats: Neck outputs, (B, C_i, H_i, W_i) per level.
            batch_data_samples: samples with ``gt_instance_labels`` (bboxes (n, 4), labels (n,), keypoints
                (n, K, 2), keypoints_visible (n, K)) in input pixels; n may be 0.
            train_cfg: unused.

        Returns:
            dict of weighted terms ``loss_box``, ``loss_cls``, ``loss_dfl``, ``loss_pose``, ``loss_kobj``.
        """
        raw = self.forward(feats)
        device = raw.box_logits.device
        if self.sigmas.numel() == 0:
            warn_once('head-sigmas', f'YOLOPoseHead: no OKS sigmas given (dataset metainfo or head.sigmas): using '
                      f'1/K = {1 / self.num_keypoints:.4f} for all {self.num_keypoints} keypoints')
            self.sigmas = torch.full((self.num_keypoints,), 1.0 / self.num_keypoints)
        self._check_strides(raw.featmap_sizes, batch_data_samples)
        priors = self.priors(raw.featmap_sizes, raw.box_logits.dtype, device)
        targets = targets_from_samples(batch_data_samples, self.num_keypoints, device)
        return yolo_pose_loss(raw, priors, targets, self.sigmas.to(device), self.assigner, self.reg_max,
                              self.keypoint_dim, self.gains, self.head_module.dfl_bins)


def _clip_to_image(bboxes: torch.Tensor, keypoints: torch.Tensor,
                   meta: dict) -> Tuple[torch.Tensor, torch.Tensor]:
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


__all__ = ['YOLOPoseHead', 'DEFAULT_TEST_CFG']
