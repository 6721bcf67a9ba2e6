# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .box_losses import box_side_targets, complete_iou, side_distribution_loss
from .keypoint_losses import keypoint_oks_loss, keypoint_visibility_loss
from .rle_loss import graph_zero, rle_keypoint_loss

__all__ = ['complete_iou', 'box_side_targets', 'side_distribution_loss', 'keypoint_oks_loss',
           'keypoint_visibility_loss', 'rle_keypoint_loss', 'graph_zero']
