# Test-only: the coco8-pose recipe at 160 px with few iterations, so training tests stay fast on 2 CPU cores
# (mosaic epochs, then one random-affine epoch without mosaic).
_base_ = ['../../configs/yolopose_n_coco8.py']

input_size = (160, 160)
random_affine = dict(type='YOLORandomAffine', input_size=input_size, translate=0.1, scale=0.5)
train_pipeline = [
    dict(type='YOLOLoadImage', img_scale=input_size),
    dict(type='YOLOMosaic', img_scale=input_size, pre_transform=[dict(type='YOLOLoadImage', img_scale=input_size)]),
    random_affine,
    dict(type='YOLOHSVRandomAug'),
    dict(type='YOLORandomFlip', prob=0.5),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='YOLOPackPoseInputs'),
]
no_mosaic_pipeline = [dict(type='YOLOLoadImage', img_scale=input_size)] + train_pipeline[2:]
plain_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='YOLOFilterInstances'),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='PackPoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                    'input_scale', 'raw_ann_info')),
]
train_dataloader = dict(batch_size=2, num_workers=1, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=100)
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=1.0, warmup_min_iters=2, warmup_bias_lr=0.0, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic=1, new_train_pipeline=no_mosaic_pipeline),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=20.0, update_buffers=True, priority=49),
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1, by_epoch=True, max_keep_ckpts=5),
                     logger=dict(type='LoggerHook', interval=1))
