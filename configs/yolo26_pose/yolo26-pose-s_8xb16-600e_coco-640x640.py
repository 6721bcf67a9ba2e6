# YOLO26-pose-s on COCO keypoints, 640x640: the n config with another scale.
_base_ = ['./yolo26-pose-n_8xb16-600e_coco-640x640.py']

model = dict(backbone=dict(scale='s'), neck=dict(scale='s'), head=dict(scale='s'))
