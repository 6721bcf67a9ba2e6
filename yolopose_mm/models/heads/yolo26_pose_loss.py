# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO26 pose loss as free functions: one branch's terms, and the end-to-end mix of both branches."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import complete_iou, graph_zero, keypoint_oks_loss, keypoint_visibility_loss, rle_keypoint_loss
from ..task_modules import BatchTaskAlignedAssigner
from ..utils.decode import Priors, box_distances, decode_boxes_grid, decode_keypoints_grid
from ..utils.precision import autocast_off, float32_fields
from .yolo_pose_head_module import RawHeadOutputs
from .yolo_pose_loss import PoseTargets

TERMS = ('loss_box', 'loss_cls', 'loss_l1', 'loss_pose', 'loss_kobj', 'loss_rle')


@dataclass(frozen=True)
class Pose26LossConfig:
    """Gains of the YOLO26 loss terms (Ultralytics defaults; ``l1`` is Ultralytics' ``dfl`` gain, which weights
    the L1 box-distance term of DFL-free heads), batch-size scaling, and the end-to-end schedule: the one-to-many
    weight falls linearly from ``one2many_start`` (first epoch) to ``one2many_end`` (last epoch); the one-to-one
    weight is 1 minus it."""

    box: float = 7.5
    cls: float = 0.5
    l1: float = 1.5
    pose: float = 12.0
    kobj: float = 1.0
    rle: float = 1.0
    scale_by_batch: bool = True
    one2many_start: float = 0.8
    one2many_end: float = 0.1

    def one2many_weight(self, epoch: int, max_epochs: int) -> float:
        """Weight of the one-to-many terms during ``epoch`` (0-based) of ``max_epochs``."""
        progress = max(1.0 - epoch / max(max_epochs - 1, 1), 0.0)
        return progress * (self.one2many_start - self.one2many_end) + self.one2many_end


def pose26_branch_loss(raw: RawHeadOutputs, priors: Priors, targets: PoseTargets, sigmas: torch.Tensor,
                       joint_weights: torch.Tensor, assigner: BatchTaskAlignedAssigner, flow: Optional[nn.Module],
                       keypoint_dim: int, image_size: torch.Tensor,
                       gains: Pose26LossConfig = Pose26LossConfig()) -> Dict[str, torch.Tensor]:
    """Loss terms of one YOLO26 branch set (reg_max = 1, keypoints decoded as ``raw + prior``).

    Assignment: :class:`~yolopose_mm.models.task_modules.PoseTaskAlignedAssigner` (OKS overlaps, level gate).
    Terms: box CIoU; class BCE against the alignment targets; L1 of the four side distances normalised by the image
    width / height; OKS-shaped keypoint loss; visibility BCE (dim 3); RLE of the keypoint errors (when the branch
    has sigma outputs and a flow is given).

    Args:
        raw: the branch's outputs (B, 4, N), (B, C, N), (B, K * dim, N) and ``kpt_sigma`` (B, K * 2, N) or None.
        priors: N prior points (grid units) and strides.
        targets: padded ground truth in input pixels.
        sigmas: (K,) OKS sigmas.
        joint_weights: (K,) RLE weight per keypoint.
        assigner: the pose task-aligned assigner of this branch.
        flow: RLE error density (:class:`~yolopose_mm.models.layers.RLEFlow`), or None (no RLE term).
        keypoint_dim: 2 or 3.
        image_size: (2,) input height, width in pixels (normalises the L1 distances).
        gains: term weights.

    Returns:
        ``loss_box``, ``loss_cls``, ``loss_l1``, ``loss_pose``, ``loss_kobj``, ``loss_rle``: weighted (and multiplied
        by the batch size when ``gains.scale_by_batch``); every output stays in the graph without people.
    """
    with autocast_off(raw.box_logits.device):  # the loss runs in fp32 whatever dtype the network ran in
        return _branch_loss_fp32(float32_fields(raw), float32_fields(priors), targets, sigmas.float(),
                                 joint_weights.float(), assigner, flow, keypoint_dim, image_size.float(), gains)


def _branch_loss_fp32(raw: RawHeadOutputs, priors: Priors, targets: PoseTargets, sigmas: torch.Tensor,
                      joint_weights: torch.Tensor, assigner: BatchTaskAlignedAssigner, flow: Optional[nn.Module],
                      keypoint_dim: int, image_size: torch.Tensor,
                      gains: Pose26LossConfig) -> Dict[str, torch.Tensor]:
    b, _, n = raw.box_logits.shape
    points, strides = priors.points, priors.strides  # (N, 2) grid units, (N, 1)
    cls_logits = raw.cls_logits.transpose(1, 2)  # (B, N, C)
    distances = box_distances(raw.box_logits, 1)  # (B, 4, N)
    pred_boxes = decode_boxes_grid(distances, points).transpose(1, 2)  # (B, N, 4) grid units
    pred_kpts = decode_keypoints_grid(raw.kpt_raw, points, keypoint_dim, '26').permute(0, 3, 1, 2)  # (B, N, K, dim)

    assigned = assigner.assign(cls_logits.detach().sigmoid(), (pred_boxes.detach() * strides), points * strides,
                               targets.labels, targets.bboxes, targets.valid,
                               pred_kpts=pred_kpts.detach()[..., :2] * strides[:, :, None],
                               gt_kpts=targets.keypoints, gt_kpt_labelled=targets.labelled,
                               prior_strides=strides.view(-1), sigmas=sigmas)
    score_sum = assigned.scores.sum().clamp(min=1)
    loss_cls = F.binary_cross_entropy_with_logits(cls_logits, assigned.scores, reduction='none').sum() / score_sum

    sigma_raw = raw.kpt_sigma
    rle_on = flow is not None and sigma_raw is not None
    in_graph = [raw.box_logits, raw.kpt_raw] + ([sigma_raw, *flow.parameters()] if rle_on else [])
    zero = graph_zero(*in_graph)
    fg = assigned.fg_mask
    loss_box = loss_l1 = loss_pose = loss_kobj = loss_rle = zero
    if fg.any():
        fg_b, fg_n = fg.nonzero(as_tuple=True)
        weight = assigned.scores[fg_b, fg_n].sum(-1)  # (P,)
        stride = strides[fg_n]  # (P, 1)
        target_boxes = assigned.bboxes[fg_b, fg_n] / stride  # grid units
        iou = complete_iou(pred_boxes[fg_b, fg_n], target_boxes)
        loss_box = ((1.0 - iou) * weight).sum() / score_sum
        # side distances in pixels over the image width (left, right) and height (top, bottom)
        norm = torch.stack((image_size[1], image_size[0], image_size[1], image_size[0])).to(stride)
        centre = points[fg_n]
        target_dist = torch.cat((centre - target_boxes[:, :2], target_boxes[:, 2:] - centre), 1) * stride / norm
        pred_dist = distances.transpose(1, 2)[fg_b, fg_n] * stride / norm
        loss_l1 = (F.l1_loss(pred_dist, target_dist, reduction='none').mean(-1) * weight).sum() / score_sum

        gt_idx = assigned.gt_index[fg_b, fg_n]
        gt_kpts = targets.keypoints[fg_b, gt_idx] / stride[:, :, None]  # (P, K, 2) grid units
        labelled = targets.labelled[fg_b, gt_idx]  # (P, K)
        wh = target_boxes[:, 2:] - target_boxes[:, :2]
        area = (wh[:, 0] * wh[:, 1])[:, None]
        kpts = pred_kpts[fg_b, fg_n]
        loss_pose = keypoint_oks_loss(kpts[..., :2], gt_kpts, labelled, area, sigmas) + zero
        if keypoint_dim == 3:
            loss_kobj = keypoint_visibility_loss(kpts[..., 2], labelled)
        if rle_on:
            sigma_logits = sigma_raw.view(b, -1, 2, n).permute(0, 3, 1, 2)[fg_b, fg_n]  # (P, K, 2)
            loss_rle = rle_keypoint_loss(kpts[..., :2], sigma_logits, gt_kpts, labelled, joint_weights,
                                         flow).clamp(min=0) + zero

    scale = float(b) if gains.scale_by_batch else 1.0
    return {
        'loss_box': loss_box * gains.box * scale,
        'loss_cls': loss_cls * gains.cls * scale,
        'loss_l1': loss_l1 * gains.l1 * scale,
        'loss_pose': loss_pose * gains.pose * scale,
        'loss_kobj': loss_kobj * gains.kobj * scale,
        'loss_rle': loss_rle * gains.rle * scale,
    }


def end_to_end_loss(one2many: Optional[Dict[str, torch.Tensor]], one2one: Optional[Dict[str, torch.Tensor]],
                    one2many_weight: float) -> Dict[str, torch.Tensor]:
    """Mix the two branches' terms: ``w * one2many + (1 - w) * one2one`` per term (a branch alone: its terms).

    Args:
        one2many: terms of the one-to-many branch, or None.
        one2one: terms of the one-to-one branch, or None.
        one2many_weight: w in [0, 1].

    Returns:
        the mixed terms, same keys.
    """
    if one2many is None or one2one is None:
        only = one2many if one2many is not None else one2one
        if only is None:
            raise ValueError('end_to_end_loss: no branch terms given')
        return dict(only)
    w = float(one2many_weight)
    return {k: one2many[k] * w + one2one[k] * max(1.0 - w, 0.0) for k in one2many}


__all__ = ['Pose26LossConfig', 'pose26_branch_loss', 'end_to_end_loss', 'TERMS']
