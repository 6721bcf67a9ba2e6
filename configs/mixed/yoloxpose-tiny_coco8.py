# mmpose's own YOLOX-Pose-tiny (CSPDarknet + YOLOXPAFPN + YOLOXPoseHead, its recipe: mosaic, SimOTA, OKS loss,
# mode-switch hook, EMA) trained on OUR YOLO-format dataset (coco8-pose) and evaluated by OUR evaluator
# (YOLOPoseMetric: COCO-official AP from the YOLO labels plus Ultralytics-style P/R/mAP). No mmpose code changes:
# only the dataset, evaluator and the offline init are replaced.
_base_ = ['mmpose::body_2d_keypoint/yoloxpose/coco/yoloxpose_tiny_4xb64-300e_coco-416.py']
custom_imports = dict(imports=['yolopose_mm'], allow_failed_imports=False)

data_root = '{{$YOLOPOSE_DATA:../shared/data}}/coco8-pose/'
data_yaml = data_root + 'coco8-pose.yaml'
input_size = (416, 416)
max_epochs = 10

# mmpose 1.3.2's yoloxpose_tiny config passes `extra_mapping_labels` to PackPoseInputs, which that version does
# not accept (it fails on mmpose's own COCO data too), so the tiny recipe's stage-1 pipeline is restated here at
# its 416 px input (the tiny base inherits 640 px Mosaic/affine/codec sizes from the s config).
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
train_pipeline_stage1 = [
    dict(type='LoadImage'),
    dict(type='Mosaic', img_scale=input_size, pad_val=114.0, pre_transform=[dict(type='LoadImage')]),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_factor=0.1, rotate_factor=10,
         scale_factor=(0.75, 1.0), pad_val=114, distribution='uniform', transform_mode='perspective',
         bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_prob=0, rotate_prob=0, scale_prob=0,
         scale_type='long', pad_val=(114, 114, 114), bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]

# the published recipe starts from ImageNet/COCO YOLOX weights downloaded at build time; random init here
# (set model.backbone.init_cfg to a local checkpoint to fine-tune).
model = dict(backbone=dict(init_cfg=None), init_cfg=None)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(_delete_=True, type='YOLOPoseDataset', data_yaml=data_yaml, split='train', metainfo='coco',
                 pipeline=train_pipeline_stage1))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(_delete_=True, type='YOLOPoseDataset', data_yaml=data_yaml, split='val', metainfo='coco',
                 test_mode=True, pipeline=[
                     dict(type='LoadImage'),
                     dict(type='BottomupResize', input_size=input_size, pad_val=(114, 114, 114)),
                     dict(type='PackPoseInputs',
                          meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size',
                                     'input_center', 'input_scale', 'raw_ann_info')),
                 ]))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='YOLOPoseMetric', ann_file=None)
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=5, dynamic_intervals=None)
param_scheduler = [
    dict(type='QuadraticWarmupLR', by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0002, begin=1, T_max=max_epochs, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='YOLOXPoseModeSwitchHook', num_last_epochs=2,
         new_train_pipeline=train_pipeline_stage2, priority=48),
    dict(type='SyncNormHook', priority=48),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True, strict_load=False,
         priority=49),
]
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=2))
auto_scale_lr = dict(enable=False)
