# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO pose head in mmpose's head contract: ``forward``, ``predict`` and ``loss``."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from mmpose.registry import MODELS, TASK_UTILS
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions

from ..arch_tables import get_family, neck_out_channels
from ..utils.decode import DecodedPose, decode_predictions
from ..utils.nms import filter_and_nms
from ..utils.precision import autocast_off, float32_fields
from .yolo_head_base import YOLOHeadBase, pose_instances
from .yolo_head_base import clip_to_image as _clip_to_image  # noqa: F401  (kept for importers of this name)
from .yolo_pose_head_module import RawHeadOutputs, YOLOPoseHeadModule
from .yolo_pose_loss import LossGains, targets_from_samples, yolo_pose_loss

DEFAULT_TEST_CFG = {'score_thr': 0.001, 'nms_thr': 0.7, 'max_per_img': 300}


@MODELS.register_module()
class YOLOPoseHead(YOLOHeadBase):
    """YOLOv8 / YOLO11 pose head: anchor-free, one prediction per feature-map cell.

    Layers live in :class:`YOLOPoseHeadModule` (``self.head_module``); decoding in
    :func:`~yolopose_mm.models.utils.decode.decode_predictions`.

    Args:
        version: 'v8', '11', 'v8-p6' or '12' (sets the class branch style and the default input widths).
        scale: 'n' .. 'x' (sets the default input widths).
        in_channels: Widths of the input levels; default: the YOLO neck's for ``version``/``scale``.
        num_classes: Object classes (1 for people).
        num_keypoints: K.
        keypoint_dim: 2 or 3 (with visibility).
        reg_max: Bins per box side.
        featmap_strides: Stride of each input level; default 8, 16, 32 (, 64): one per input level.
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
                 featmap_strides: Optional[Sequence[int]] = None, cls_branch: Optional[str] = None,
                 loss_cfg: OptConfigType = None, assigner: OptConfigType = None,
                 sigmas: Optional[Sequence[float]] = None, init_cfg: OptConfigType = None) -> None:
        family, _ = get_family(version, scale)
        in_channels = tuple(in_channels) if in_channels is not None else neck_out_channels(version, scale)
        if featmap_strides is None:  # one stride per level: 8, 16, 32 (, 64)
            featmap_strides = tuple(8 * 2 ** i for i in range(len(in_channels)))
        super().__init__(in_channels, featmap_strides, num_classes, num_keypoints, keypoint_dim, sigmas, init_cfg)
        featmap_strides = self.featmap_strides
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

    # ------------------------------------------------------------------------------------------------------
    def init_weights(self) -> None:
        super().init_weights()
        self.head_module.init_biases(self.featmap_strides)

    def forward(self, feats: Features) -> RawHeadOutputs:
        """Run the branches. Returns :class:`RawHeadOutputs` (box logits, class logits, raw keypoints)."""
        return self.head_module(feats)

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
        with autocast_off(raw.box_logits.device):  # decode in fp32 whatever dtype the network ran in
            decoded = self.decode(float32_fields(raw))
        results = []
        for i in range(decoded.bboxes.shape[0]):
            meta = batch_data_samples[i].metainfo if batch_data_samples is not None else {}
            bboxes, keypoints = decoded.bboxes[i], decoded.keypoints[i]
            kept = filter_and_nms(bboxes, decoded.scores[i], float(cfg['score_thr']), float(cfg['nms_thr']),
                                  int(cfg['max_per_img']))
            results.append(pose_instances(bboxes[kept.indices], kept.scores, kept.labels, keypoints[kept.indices],
                                          decoded.keypoint_scores[i][kept.indices], meta))
        return results

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
        sigmas = self._loss_sigmas(device)
        self._check_strides(raw.featmap_sizes, batch_data_samples)
        priors = self.priors(raw.featmap_sizes, torch.float32, device)  # the loss runs in fp32 (AMP included)
        targets = targets_from_samples(batch_data_samples, self.num_keypoints, device)
        return yolo_pose_loss(raw, priors, targets, sigmas, self.assigner, self.reg_max,
                              self.keypoint_dim, self.gains, self.head_module.dfl_bins)


__all__ = ['YOLOPoseHead', 'DEFAULT_TEST_CFG']
