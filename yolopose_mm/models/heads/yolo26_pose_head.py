# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO26 pose head in mmpose's head contract: ``forward``, ``predict`` and ``loss``."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import MessageHub
from mmpose.registry import MODELS, TASK_UTILS
from mmpose.utils.typing import ConfigType, Features, OptConfigType, OptSampleList, Predictions

from ...utils.warn import warn_once
from ..layers import RLEFlow
from ..utils.decode import DecodedPose, decode_predictions
from ..utils.nms import filter_and_nms
from ..utils.precision import autocast_off, float32_fields
from ..utils.topk_select import topk_select
from .yolo26_pose_head_module import BRANCHES, DualRawOutputs, YOLO26PoseHeadModule
from .yolo26_pose_loss import Pose26LossConfig, end_to_end_loss, pose26_branch_loss
from .yolo_head_base import YOLOHeadBase, pose_instances
from .yolo_pose_head_module import RawHeadOutputs
from .yolo_pose_loss import targets_from_samples

DEFAULT_TEST_CFG = {'score_thr': 0.001, 'nms_thr': 0.7, 'max_per_img': 300, 'end2end': False}


def _default_in_channels(version: str, scale: str) -> Tuple[int, ...]:
    from ..arch_tables import neck_out_channels
    return tuple(neck_out_channels(version, scale))


@MODELS.register_module()
class YOLO26PoseHead(YOLOHeadBase):
    """YOLO26 pose head: one-to-many and one-to-one branch sets, direct box distances (no DFL), keypoints as
    offsets from the cell centre, and an RLE keypoint loss with a RealNVP error density.

    Prediction (``test_cfg``): ``end2end=False`` (default, what Ultralytics 8.4.190's predictor and validator use
    when ``nms`` is not set) decodes the one-to-many branches and runs NMS; ``end2end=True`` (Ultralytics'
    ``nms=False``) keeps the ``max_per_img`` best one-to-one predictions without NMS. Training mixes both
    branches' losses with a one-to-many weight that falls from 0.8 (first epoch) to 0.1 (last epoch): the epoch
    comes from the mmengine runner (its ``MessageHub`` runtime info ``epoch`` / ``max_epochs``, so a resumed run
    continues the schedule exactly), or from :meth:`set_epoch` outside a runner.

    Layers live in :class:`YOLO26PoseHeadModule` (``self.head_module``), the RLE flow in ``self.flow``, decoding in
    :func:`~yolopose_mm.models.utils.decode.decode_predictions` (``reg_max=1``, ``keypoint_decode='26'``).

    Args:
        version: architecture family of the default input widths ('26').
        scale: 'n' .. 'x' (sets the default input widths).
        in_channels: Widths of the input levels; default: the YOLO26 neck's for ``scale``.
        num_classes: Object classes (1 for people).
        num_keypoints: K.
        keypoint_dim: 2 or 3 (with visibility).
        featmap_strides: Stride of each input level.
        cls_branch: 'depthwise' (YOLO26) or 'plain'.
        branches: Branch sets to build: both for training; one for a converted inference checkpoint.
        with_rle: Build the training-only sigma outputs and the RLE flow (the RLE loss term).
        loss_cfg: :class:`Pose26LossConfig` fields: gains ``box`` 7.5, ``cls`` 0.5, ``l1`` 1.5, ``pose`` 12,
            ``kobj`` 1, ``rle`` 1, ``scale_by_batch``, and the schedule ``one2many_start`` 0.8 / ``one2many_end`` 0.1.
        one2many_assigner: assigner config of the one-to-many branches (``PoseTaskAlignedAssigner``, top-k 10).
        one2one_assigner: assigner config of the one-to-one branches (top-k 7, then 1 per person).
        sigmas: Per-keypoint OKS sigmas (usually set from the dataset metainfo by ``DatasetMetaToHeadHook``).
        joint_weights: Per-keypoint RLE weights (usually the dataset metainfo's keypoint weights, set by the same
            hook; COCO's weigh elbows / knees 1.2 and wrists / ankles 1.5); default 1 for every keypoint.
        init_cfg: mmengine init config.
    """

    def __init__(self, version: str = '26', scale: str = 'n', in_channels: Optional[Sequence[int]] = None,
                 num_classes: int = 1, num_keypoints: int = 17, keypoint_dim: int = 3,
                 featmap_strides: Sequence[int] = (8, 16, 32), cls_branch: str = 'depthwise',
                 branches: Sequence[str] = BRANCHES, with_rle: bool = True, loss_cfg: OptConfigType = None,
                 one2many_assigner: OptConfigType = None, one2one_assigner: OptConfigType = None,
                 sigmas: Optional[Sequence[float]] = None, joint_weights: Optional[Sequence[float]] = None,
                 init_cfg: OptConfigType = None) -> None:
        in_channels = tuple(in_channels) if in_channels is not None else _default_in_channels(version, scale)
        super().__init__(in_channels, featmap_strides, num_classes, num_keypoints, keypoint_dim, sigmas, init_cfg)
        self.reg_max = 1
        self.head_module = YOLO26PoseHeadModule(in_channels, num_classes, num_keypoints, keypoint_dim, 1, cls_branch,
                                                branches, with_rle)
        self.flow: Optional[RLEFlow] = RLEFlow() if with_rle else None
        try:
            self.loss_config = Pose26LossConfig(**dict(loss_cfg or {}))
        except TypeError as e:
            raise ValueError(f'YOLO26PoseHead: bad loss_cfg {loss_cfg}: valid keys are '
                             f'{", ".join(Pose26LossConfig.__dataclass_fields__)}') from e
        min_side = float(self.featmap_strides[min(1, len(self.featmap_strides) - 1)])
        base = dict(type='PoseTaskAlignedAssigner', num_classes=num_classes, alpha=0.5, beta=6.0, min_side=min_side)
        self.assigners = {
            'one2many': TASK_UTILS.build({**base, 'topk': 10, **dict(one2many_assigner or {})}),
            'one2one': TASK_UTILS.build({**base, 'topk': 7, 'topk2': 1, **dict(one2one_assigner or {})}),
        }
        self.joint_weights = torch.empty(0)  # a plain attribute like the sigmas: from the dataset, 1s by default
        if joint_weights is not None:
            self.set_joint_weights(joint_weights)
        self.epoch, self.max_epochs = 0, 1
        self._epoch_pinned = False

    # ------------------------------------------------------------------------------------------------------
    @property
    def branches(self) -> Tuple[str, ...]:
        """The branch sets this head has."""
        return self.head_module.branches

    def init_weights(self) -> None:
        super().init_weights()
        self.head_module.init_biases(self.featmap_strides)

    def forward(self, feats: Features) -> DualRawOutputs:
        """Run every built branch set (with the sigma outputs and detached one-to-one inputs in training)."""
        return self.head_module(feats, with_sigma=self.training, detach_one2one=self.training)

    def decode(self, raw: RawHeadOutputs) -> DecodedPose:
        """Decode one branch set's raw outputs to input-pixel boxes, scores and keypoints (the one decode path)."""
        priors = self.priors(raw.featmap_sizes, raw.box_logits.dtype, raw.box_logits.device)
        return decode_predictions(raw.box_logits, raw.cls_logits, raw.kpt_raw, priors, 1, self.keypoint_dim,
                                  keypoint_decode='26')

    def inference_branch(self, end2end: bool) -> str:
        """'one2one' for ``end2end`` else 'one2many'; the other one (with a one-time warning) when that set was not
        built, e.g. in a converted inference checkpoint."""
        wanted = 'one2one' if end2end else 'one2many'
        if wanted in self.branches:
            return wanted
        other = self.branches[0]
        warn_once(f'yolo26-branch-{wanted}', f'YOLO26PoseHead: test_cfg.end2end={bool(end2end)} asks for the '
                  f'{wanted} branches, which this model does not have; predicting with its {other} branches '
                  f"(set model.test_cfg.end2end={other == 'one2one'} to silence this)")
        return other

    # ------------------------------------------------------------------------------------------------------
    def predict(self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}) -> Predictions:
        """Detect people and their keypoints.

        Args:
            feats: Neck outputs, (B, C_i, H_i, W_i) per level.
            batch_data_samples: Data samples with ``input_size``, ``input_center``, ``input_scale`` and
                ``ori_shape`` metainfo (used to clip results to the image area).
            test_cfg: ``score_thr`` (0.001), ``nms_thr`` (0.7, one-to-many only), ``max_per_img`` (300),
                ``end2end`` (False: one-to-many + NMS; True: one-to-one top-k, no NMS).

        Returns:
            One ``InstanceData`` per image in *input* coordinates: ``bboxes`` (M, 4), ``bbox_scores`` (M,),
            ``labels`` (M,), ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K), as numpy arrays.
        """
        cfg = {**DEFAULT_TEST_CFG, **dict(test_cfg or {})}
        if cfg.get('flip_test', False):
            raise ValueError('YOLO26PoseHead does not support flip_test; set model.test_cfg.flip_test=False')
        score_thr, max_per_img = float(cfg['score_thr']), int(cfg['max_per_img'])
        if not 0.0 <= score_thr <= 1.0:
            raise ValueError(f'YOLO26PoseHead: test_cfg.score_thr must be in [0, 1], got {score_thr}')
        branch = self.inference_branch(bool(cfg['end2end']))
        raw = getattr(self.head_module(feats, branches=(branch,)), branch)
        self._check_strides(raw.featmap_sizes, batch_data_samples)
        with autocast_off(raw.box_logits.device):  # decode in fp32 whatever dtype the network ran in
            decoded = self.decode(float32_fields(raw))
        results = []
        kept = select_predictions(decoded, branch == 'one2one', score_thr, float(cfg['nms_thr']), max_per_img)
        for i, (indices, scores, labels) in enumerate(kept):
            meta = batch_data_samples[i].metainfo if batch_data_samples is not None else {}
            results.append(pose_instances(decoded.bboxes[i][indices], scores, labels, decoded.keypoints[i][indices],
                                          decoded.keypoint_scores[i][indices], meta))
        return results

    # ------------------------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int, max_epochs: int) -> None:
        """Pin where training is (0-based ``epoch`` of ``max_epochs``) for the one-to-many weight; without it the
        head follows the mmengine runner."""
        if max_epochs < 1 or not 0 <= epoch:
            raise ValueError(f'YOLO26PoseHead.set_epoch: need 0 <= epoch and max_epochs >= 1, got {epoch}, '
                             f'{max_epochs}')
        self.epoch, self.max_epochs = int(epoch), int(max_epochs)
        self._epoch_pinned = True

    def _follow_runner(self) -> None:
        """Take epoch / max_epochs from the running mmengine train loop (its RuntimeInfoHook), if any."""
        if self._epoch_pinned:
            return
        hub = MessageHub.get_current_instance()
        info = hub.runtime_info
        if info.get('loop_stage') == 'train' and 'max_epochs' in info:
            self.epoch, self.max_epochs = int(info.get('epoch', 0)), max(int(info['max_epochs']), 1)

    @property
    def one2many_weight(self) -> float:
        """Weight of the one-to-many terms at the current epoch (0.8 at the first, 0.1 at the last)."""
        return self.loss_config.one2many_weight(self.epoch, self.max_epochs)

    def set_joint_weights(self, weights: Sequence[float]) -> None:
        """Per-keypoint RLE weights (K,), e.g. the dataset metainfo's ``dataset_keypoint_weights``."""
        t = torch.as_tensor(np.asarray(weights, dtype=np.float32).reshape(-1))
        if t.numel() != self.num_keypoints or not bool((t >= 0).all()):
            raise ValueError(f'YOLO26PoseHead: joint_weights must be {self.num_keypoints} non-negative values (one '
                             f'per keypoint), got {t.numel()} values')
        self.joint_weights = t

    def loss(self, feats: Tuple[torch.Tensor], batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Training losses for a batch: the end-to-end mix of both branch sets' terms.

        Args:
            feats: Neck outputs, (B, C_i, H_i, W_i) per level.
            batch_data_samples: samples with ``gt_instance_labels`` (bboxes (n, 4), labels (n,), keypoints
                (n, K, 2), keypoints_visible (n, K)) in input pixels; n may be 0.
            train_cfg: unused.

        Returns:
            dict of weighted terms ``loss_box``, ``loss_cls``, ``loss_l1``, ``loss_pose``, ``loss_kobj``,
            ``loss_rle``.
        """
        raw = self.head_module(feats, with_sigma=True, detach_one2one=True)
        first = raw.one2many if raw.one2many is not None else raw.one2one
        device = first.box_logits.device
        sigmas = self._loss_sigmas(device)
        self._check_strides(first.featmap_sizes, batch_data_samples)
        priors = self.priors(first.featmap_sizes, torch.float32, device)
        targets = targets_from_samples(batch_data_samples, self.num_keypoints, device)
        h0, w0 = first.featmap_sizes[0]
        image_size = torch.tensor([h0 * self.featmap_strides[0], w0 * self.featmap_strides[0]], dtype=torch.float32,
                                  device=device)
        joint_weights = self.joint_weights if self.joint_weights.numel() else torch.ones(self.num_keypoints)
        terms = {}
        for name in self.branches:
            terms[name] = pose26_branch_loss(getattr(raw, name), priors, targets, sigmas, joint_weights,
                                             self.assigners[name], self.flow, self.keypoint_dim, image_size,
                                             self.loss_config)
        self._follow_runner()
        return end_to_end_loss(terms.get('one2many'), terms.get('one2one'), self.one2many_weight)


def select_predictions(decoded: DecodedPose, nms_free: bool, score_thr: float, nms_thr: float,
                       max_per_img: int) -> List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per image, the kept (prior indices (M,), scores (M,), labels (M,)), best first.

    ``nms_free`` (one-to-one outputs): the ``max_per_img`` best (prior, class) pairs
    (:func:`~yolopose_mm.models.utils.topk_select`) scoring above ``score_thr``; otherwise score filter and
    class-aware NMS (:func:`~yolopose_mm.models.utils.filter_and_nms`). Shared by predict and the deployed models'
    post-processing.
    """
    if nms_free:
        sel = topk_select(decoded.scores, max_per_img)
        keep = sel.scores > score_thr
        return [(sel.indices[i][keep[i]], sel.scores[i][keep[i]], sel.labels[i][keep[i]])
                for i in range(keep.shape[0])]
    out = []
    for i in range(decoded.bboxes.shape[0]):
        kept = filter_and_nms(decoded.bboxes[i], decoded.scores[i], score_thr, nms_thr, max_per_img)
        out.append((kept.indices, kept.scores, kept.labels))
    return out


__all__ = ['YOLO26PoseHead', 'DEFAULT_TEST_CFG', 'select_predictions']
