# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO pose loss as a free function over raw head outputs and padded targets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from ..losses import (box_side_targets, complete_iou, keypoint_oks_loss, keypoint_visibility_loss,
                      side_distribution_loss)
from ..task_modules import BatchTaskAlignedAssigner
from ..utils.decode import Priors, box_distances, decode_boxes_grid, decode_keypoints_grid
from ..utils.precision import autocast_off, float32_fields
from .yolo_pose_head_module import RawHeadOutputs


@dataclass(frozen=True)
class LossGains:
    """Weights of the loss terms (Ultralytics defaults) and whether terms are multiplied by the batch size."""

    box: float = 7.5
    cls: float = 0.5
    dfl: float = 1.5
    pose: float = 12.0
    kobj: float = 1.0
    scale_by_batch: bool = True


@dataclass
class PoseTargets:
    """Ground truth of a batch, padded to M people per image (input pixels).

    Attributes:
        labels: (B, M) long class ids.
        bboxes: (B, M, 4) x1, y1, x2, y2.
        keypoints: (B, M, K, 2).
        labelled: (B, M, K) bool, keypoints that carry a label.
        valid: (B, M) bool, real people (False for padding).
    """

    labels: torch.Tensor
    bboxes: torch.Tensor
    keypoints: torch.Tensor
    labelled: torch.Tensor
    valid: torch.Tensor

    @classmethod
    def pack(cls, per_image: Sequence[dict], num_keypoints: int, device: torch.device) -> 'PoseTargets':
        """Pad per-image dicts with ``labels`` (n,), ``bboxes`` (n, 4), ``keypoints`` (n, K, 2),
        ``labelled`` (n, K) into batch tensors. Images without people are fine (n = 0)."""
        b = len(per_image)
        m = max([len(t['bboxes']) for t in per_image] + [0])
        out = cls(torch.zeros(b, m, dtype=torch.long, device=device), torch.zeros(b, m, 4, device=device),
                  torch.zeros(b, m, num_keypoints, 2, device=device),
                  torch.zeros(b, m, num_keypoints, dtype=torch.bool, device=device),
                  torch.zeros(b, m, dtype=torch.bool, device=device))
        for i, t in enumerate(per_image):
            n = len(t['bboxes'])
            if n == 0:
                continue
            if tuple(t['keypoints'].shape[1:]) != (num_keypoints, 2):
                raise ValueError(f'image {i} of the batch has keypoints of shape {tuple(t["keypoints"].shape)}; '
                                 f'the head was built for {num_keypoints} keypoints (set head.num_keypoints to '
                                 "the dataset's K)")
            out.labels[i, :n] = t['labels'].to(device, non_blocking=True).long()
            out.bboxes[i, :n] = t['bboxes'].to(device, non_blocking=True).float()
            out.keypoints[i, :n] = t['keypoints'].to(device, non_blocking=True).float()
            out.labelled[i, :n] = t['labelled'].to(device, non_blocking=True).bool()
            out.valid[i, :n] = True
        return out


def yolo_pose_loss(raw: RawHeadOutputs, priors: Priors, targets: PoseTargets, sigmas: torch.Tensor,
                   assigner: BatchTaskAlignedAssigner, reg_max: int, keypoint_dim: int,
                   gains: LossGains = LossGains(), bins: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Box (CIoU), DFL, class (BCE vs alignment targets), keypoint (OKS-shaped) and visibility (BCE) losses.

    Args:
        raw: head outputs (B, 4 * reg_max, N), (B, C, N), (B, K * dim, N).
        priors: N prior points (grid units) and strides.
        targets: padded ground truth in input pixels.
        sigmas: (K,) OKS sigmas.
        assigner: the task-aligned assigner.
        reg_max: box distribution bins.
        keypoint_dim: 2 or 3.
        gains: term weights.
        bins: (reg_max,) box-distribution bin values (default 0..reg_max-1).

    Returns:
        ``loss_box``, ``loss_dfl``, ``loss_cls``, ``loss_pose``, ``loss_kobj``: float32 scalars, already weighted
        (and multiplied by the per-GPU batch size when ``gains.scale_by_batch``; the optimizer wrapper multiplies
        by the world size). Every head branch stays in the graph even without people, so distributed training
        never sees unused parameters. Whatever dtype the network ran in (``torch.autocast`` fp16 / bf16), the loss
        is computed in fp32 with autocast off.
    """
    with autocast_off(raw.box_logits.device):
        return _yolo_pose_loss_fp32(float32_fields(raw), float32_fields(priors), targets, sigmas.float(), assigner,
                                    reg_max, keypoint_dim, gains, None if bins is None else bins.float())


def _yolo_pose_loss_fp32(raw: RawHeadOutputs, priors: Priors, targets: PoseTargets, sigmas: torch.Tensor,
                         assigner: BatchTaskAlignedAssigner, reg_max: int, keypoint_dim: int, gains: LossGains,
                         bins: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
    b, _, n = raw.box_logits.shape
    points, strides = priors.points, priors.strides  # (N, 2) grid units, (N, 1)
    cls_logits = raw.cls_logits.transpose(1, 2)  # (B, N, C)
    side_logits = raw.box_logits.view(b, 4, reg_max, n).permute(0, 3, 1, 2)  # (B, N, 4, R)
    # the decode is channel-first; the loss works per prior: (B, N, 4) boxes and (B, N, K, dim) keypoints, grid units
    pred_boxes = decode_boxes_grid(box_distances(raw.box_logits, reg_max, bins), points).transpose(1, 2)
    pred_kpts = decode_keypoints_grid(raw.kpt_raw, points, keypoint_dim).permute(0, 3, 1, 2)

    assigned = assigner.assign(cls_logits.detach().sigmoid(), (pred_boxes.detach() * strides).to(targets.bboxes.dtype),
                               points * strides, targets.labels, targets.bboxes, targets.valid)
    score_sum = assigned.scores.sum().clamp(min=1)
    loss_cls = F.binary_cross_entropy_with_logits(cls_logits, assigned.scores.to(cls_logits.dtype),
                                                  reduction='none').sum() / score_sum

    fg = assigned.fg_mask
    zero = (raw.box_logits.sum() + raw.kpt_raw.sum()) * 0.0  # keeps every branch in the graph
    if fg.any():
        fg_b, fg_n = fg.nonzero(as_tuple=True)
        weight = assigned.scores[fg_b, fg_n].sum(-1)  # (P,)
        stride = strides[fg_n]  # (P, 1)
        target_boxes = assigned.bboxes[fg_b, fg_n] / stride  # grid units
        iou = complete_iou(pred_boxes[fg_b, fg_n], target_boxes)
        loss_box = ((1.0 - iou) * weight).sum() / score_sum
        side_targets = box_side_targets(points[fg_n], target_boxes, reg_max)
        loss_dfl = (side_distribution_loss(side_logits[fg_b, fg_n], side_targets) * weight).sum() / score_sum

        gt_idx = assigned.gt_index[fg_b, fg_n]
        gt_kpts = targets.keypoints[fg_b, gt_idx] / stride[:, :, None]  # (P, K, 2) grid units
        labelled = targets.labelled[fg_b, gt_idx]  # (P, K)
        wh = target_boxes[:, 2:] - target_boxes[:, :2]
        area = (wh[:, 0] * wh[:, 1])[:, None]
        kpts = pred_kpts[fg_b, fg_n]
        loss_pose = keypoint_oks_loss(kpts[..., :2], gt_kpts, labelled, area, sigmas.to(kpts.dtype)) + zero
        loss_kobj = keypoint_visibility_loss(kpts[..., 2], labelled) if keypoint_dim == 3 else zero
    else:
        loss_box = loss_dfl = loss_pose = loss_kobj = zero

    scale = float(b) if gains.scale_by_batch else 1.0
    return {
        'loss_box': loss_box * gains.box * scale,
        'loss_cls': loss_cls * gains.cls * scale,
        'loss_dfl': loss_dfl * gains.dfl * scale,
        'loss_pose': loss_pose * gains.pose * scale,
        'loss_kobj': loss_kobj * gains.kobj * scale,
    }


def targets_from_samples(batch_data_samples: Sequence, num_keypoints: int, device: torch.device) -> PoseTargets:
    """Padded targets from mmpose data samples (``gt_instance_labels`` from ``GenerateTarget`` with
    ``YOLOXPoseAnnotationProcessor``, else ``gt_instances``)."""
    per_image: List[dict] = []
    for sample in batch_data_samples:
        inst = sample.gt_instance_labels if 'gt_instance_labels' in sample else sample.gt_instances
        bboxes = torch.as_tensor(inst.bboxes).reshape(-1, 4) if 'bboxes' in inst else torch.zeros(0, 4)
        count = len(bboxes)
        labels = torch.as_tensor(inst.labels) if 'labels' in inst else torch.zeros(count, dtype=torch.long)
        kpts = torch.as_tensor(inst.keypoints) if 'keypoints' in inst else torch.zeros(count, num_keypoints, 2)
        vis = torch.as_tensor(inst.keypoints_visible) if 'keypoints_visible' in inst else \
            torch.ones(count, num_keypoints)
        if vis.dim() == 3:
            vis = vis[..., 0]
        if kpts.numel() != count * num_keypoints * 2:
            raise ValueError(f'a sample has keypoints of shape {tuple(kpts.shape)} for {count} people; the head was '
                             f"built for {num_keypoints} keypoints (set head.num_keypoints to the dataset's K)")
        per_image.append(dict(labels=labels.reshape(-1), bboxes=bboxes,
                              keypoints=kpts.reshape(count, num_keypoints, 2),
                              labelled=vis.reshape(count, num_keypoints) > 0))
    return PoseTargets.pack(per_image, num_keypoints, device)
