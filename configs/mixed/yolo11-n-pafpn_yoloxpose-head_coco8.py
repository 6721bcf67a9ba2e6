# Mixed model: OUR YOLO11-n backbone + YOLOPAFPN neck feeding mmpose's YOLOXPoseHead (SimOTA, OKS loss), trained
# and evaluated on coco8-pose (YOLO format) with our dataset and evaluator.
# Contract: YOLOXPoseHead wants one width on every level, our neck emits (64, 128, 256) for scale n;
# YOLOPAFPN(out_channels=128) adds a 1x1 conv per level to that common width (a non-int is refused at build time).
# RTMOHead is not offered here: it reads two levels (strides 16, 32) from mmpose's HybridEncoder and its
# DCC/GAU keypoint branch was designed around that encoder's single width; feeding it from our three-level neck
# would need a level selector in between, which we leave to a later change.
_base_ = ['../yolopose_n_coco8.py']

head_channels = 128
model = dict(
    neck=dict(out_channels=head_channels),
    head=dict(
        _delete_=True,
        type='YOLOXPoseHead',
        num_keypoints=17,
        featmap_strides=(8, 16, 32),
        head_module_cfg=dict(
            num_classes=1,
            in_channels=head_channels,
            feat_channels=head_channels,
            widen_factor=1.0,
            stacked_convs=2,
            norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
            act_cfg=dict(type='Swish')),
        prior_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        assigner=dict(type='SimOTAAssigner', dynamic_k_indicator='oks'),
        overlaps_power=0.5,
        loss_cls=dict(type='BCELoss', reduction='sum', loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum', loss_weight=5.0),
        loss_obj=dict(type='BCELoss', use_target_weight=True, reduction='sum', loss_weight=1.0),
        loss_oks=dict(type='OKSLoss', reduction='none', metainfo='configs/_base_/datasets/coco.py',
                      norm_target_weight=True, loss_weight=30.0),
        loss_vis=dict(type='BCELoss', use_target_weight=True, reduction='mean', loss_weight=1.0),
        loss_bbox_aux=dict(type='L1Loss', reduction='sum', loss_weight=1.0)),
    test_cfg=dict(score_thr=0.01, nms_thr=0.65))
# mmpose's YOLOXPoseHead normalises its losses itself (no per-GPU-batch sum): no world-size multiplication
optim_wrapper = dict(scale_by_world_size=False)
# YOLOXPoseHead gets its sigmas from loss_oks.metainfo, not from the dataset: DatasetMetaToHeadHook is ours only.
custom_hooks = [
    dict(type='YOLOLrMomentumHook', warmup_epochs=1.0, warmup_min_iters=4, warmup_bias_lr=0.0, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic={{_base_.close_mosaic_epochs}},
         new_train_pipeline={{_base_.train_pipeline_no_mosaic}}),
    dict(type='EMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=20.0, update_buffers=True, priority=49),
]
