# YOLO26-pose-n on COCO keypoints, 640x640: Ultralytics 8.4.190's default pose model (the base table is YOLO26-n).
#
# Head: one-to-many and one-to-one branch sets, direct box distances (no DFL), keypoints as offsets from the cell
# centre, RLE keypoint loss with a RealNVP error density. Prediction defaults to what 8.4.190's predictor and
# validator do when `nms` is not set (one-to-many branches + NMS); test_cfg.end2end=True predicts NMS-free with
# the one-to-one branches (Ultralytics' nms=False). Training mixes both branches' losses, the one-to-many weight
# falling from 0.8 (first epoch) to 0.1 (last epoch), read from the runner.
#
# Optimisation: what Ultralytics' optimizer='auto' picks for a COCO-sized run (> 10,000 iterations): MuSGD with
# lr 0.01, momentum 0.9, Nesterov, weight decay 5e-4 on weights, the class branches at 3x the lr, warmup without
# the high bias lr. Everything else (augmentation, schedule, EMA, close-mosaic) is the YOLO11 recipe.
_base_ = ['../_base_/yolo_pose_coco.py']

model = dict(
    backbone=dict(version='26', scale='n'),
    neck=dict(version='26', scale='n'),
    head=dict(
        _delete_=True,
        type='YOLO26PoseHead',
        version='26',
        scale='n',
        num_classes=1,
        num_keypoints=17,
        keypoint_dim=3,
        featmap_strides=(8, 16, 32)),
    # evaluation settings; the demo / inference API use score_thr=0.25
    test_cfg=dict(score_thr=0.001, nms_thr=0.7, max_per_img=300, end2end=False))

optim_wrapper = dict(
    constructor='YOLO26OptimWrapperConstructor',
    optimizer=dict(_delete_=True, type='MuSGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(lr_mult=dict(cls_branch=3.0)))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),  # OKS sigmas and the RLE joint weights from the dataset metainfo
    dict(type='YOLOLrMomentumHook', warmup_epochs=3.0, warmup_bias_lr=0.0, warmup_momentum=0.8, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic={{_base_.close_mosaic_epochs}},
         new_train_pipeline={{_base_.train_pipeline_no_mosaic}}),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=2000.0, update_buffers=True, priority=49),
]
