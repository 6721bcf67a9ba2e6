# YOLOv8-pose-n on COCO keypoints, 640x640.
_base_ = ['../_base_/yolo_pose_coco.py']

model = dict(backbone=dict(version='v8'), neck=dict(version='v8'), head=dict(version='v8'))
train_cfg = dict(max_epochs=500)
