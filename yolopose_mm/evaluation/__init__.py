# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Evaluation: the OKS evaluator (COCO-official and Ultralytics-style metrics)."""
from .coco_official import BOX_STAT_NAMES, CROWD_KEYPOINT_STAT_NAMES, KEYPOINT_STAT_NAMES, run_cocoeval
from .ground_truth import ImageGroundTruth, coco_from_samples, image_ground_truth
from .pose_metric import YOLOPoseMetric
from .yolo_ap import (DetectionSummary, box_iou_matrix, image_true_positives, match_greedy, oks_matrix,
                      summarize_detections)

__all__ = ['YOLOPoseMetric', 'run_cocoeval', 'KEYPOINT_STAT_NAMES', 'CROWD_KEYPOINT_STAT_NAMES', 'BOX_STAT_NAMES',
           'coco_from_samples', 'image_ground_truth', 'ImageGroundTruth', 'box_iou_matrix', 'oks_matrix', 'match_greedy',
           'image_true_positives', 'summarize_detections', 'DetectionSummary']
