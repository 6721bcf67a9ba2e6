# YOLO26-pose-n on the small coco8-pose dataset (YOLO format): the coco8 recipe of configs/yolopose_n_coco8.py
# (AdamW lr 0.002, as Ultralytics' optimizer='auto' picks for short runs) with the YOLO26-pose-n model.
# Data root: $YOLOPOSE_DATA/coco8-pose (default ../shared/data), or --cfg-options data_root=/path/to/coco8-pose/
_base_ = ['../yolopose_n_coco8.py']

model = dict(
    backbone=dict(version='26', scale='n'),
    neck=dict(version='26', scale='n'),
    head=dict(_delete_=True, type='YOLO26PoseHead', version='26', scale='n', num_classes=1, num_keypoints=17,
              keypoint_dim=3, featmap_strides=(8, 16, 32)),
    test_cfg=dict(score_thr=0.001, nms_thr=0.7, max_per_img=300, end2end=False))
