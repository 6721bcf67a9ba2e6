# OUR YOLO11-pose-n on coco8-pose (YOLO format), evaluated by mmpose's own CocoMetric instead of YOLOPoseMetric.
# CocoMetric builds its ground truth from the samples' `raw_ann_info` (COCO-style annotations that
# YOLOPoseDataset provides), so the val pipeline must pack it; our head returns mmpose's prediction fields
# (keypoints, keypoint_scores, bboxes, bbox_scores), which is all CocoMetric reads.
_base_ = ['../yolopose_n_coco8.py']

val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file=None, score_mode='bbox', nms_mode='none')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best=None))
