# Test-only: YOLO26-pose-n with its COCO optimisation recipe (MuSGD, class branches at 3x lr) on coco8-pose at
# 160 px without augmentation, so the training test stays fast on 2 CPU cores.
_base_ = ['./coco8_tiny_plain.py']

model = dict(
    backbone=dict(version='26', scale='n'),
    neck=dict(version='26', scale='n'),
    head=dict(_delete_=True, type='YOLO26PoseHead', version='26', scale='n', num_classes=1, num_keypoints=17,
              keypoint_dim=3, featmap_strides=(8, 16, 32)),
    test_cfg=dict(score_thr=0.001, nms_thr=0.7, max_per_img=300, end2end=False))
optim_wrapper = dict(
    constructor='YOLO26OptimWrapperConstructor',
    optimizer=dict(_delete_=True, type='MuSGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(lr_mult=dict(cls_branch=3.0)))
