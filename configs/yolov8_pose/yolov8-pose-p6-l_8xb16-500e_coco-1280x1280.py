# YOLOv8-pose-p6-l on COCO keypoints, 1280x1280: the p6-n config with another scale.
_base_ = ['./yolov8-pose-p6-n_8xb16-500e_coco-1280x1280.py']

model = dict(backbone=dict(scale='l'), neck=dict(scale='l'), head=dict(scale='l'))
