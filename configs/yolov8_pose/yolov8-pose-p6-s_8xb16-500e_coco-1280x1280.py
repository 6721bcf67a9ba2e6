# YOLOv8-pose-p6-s on COCO keypoints, 1280x1280: the p6-n config with another scale.
_base_ = ['./yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py']

model = dict(backbone=dict(scale='s'), neck=dict(scale='s'), head=dict(scale='s'))
