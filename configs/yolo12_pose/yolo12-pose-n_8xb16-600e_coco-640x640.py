# YOLO12-pose-n on COCO keypoints, 640x640: area-attention (A2C2f) backbone and neck, the YOLO11 pose head and
# recipe.
_base_ = ['../_base_/yolo_pose_coco.py']

model = dict(backbone=dict(version='12'), neck=dict(version='12'), head=dict(version='12'))
