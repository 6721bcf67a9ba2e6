# YOLOv8-pose-p6-n on COCO keypoints, 1280x1280: a fifth backbone stage and four output levels (strides 8, 16, 32,
# 64), trained and evaluated at 1280 like Ultralytics' yolov8*-pose-p6 models. The YOLOv8 recipe of the 640 config;
# every size below is 1280 and inputs are padded to multiples of 64 (the largest stride). The pipelines and hooks
# restate the 640 config's with that size (tests/test_configs.py checks that they stay the same otherwise).
_base_ = ['./yolov8-pose-n_8xb16-500e_coco-640x640.py']

input_size = (1280, 1280)
model = dict(
    data_preprocessor=dict(pad_size_divisor=64),
    backbone=dict(version='v8-p6'),
    neck=dict(version='v8-p6'),
    head=dict(version='v8-p6', featmap_strides=(8, 16, 32, 64)))

# Evaluation: Ultralytics' rectangular val protocol at 1280 with batch shapes in multiples of the largest stride, 64,
# as `yolo val` forms them for a P6 model (LetterBox records its stride for the data preprocessor's batch padding);
# the square protocol (1280x1280) as `square_val_dataloader`.
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, rect=True, stride=64, pad_val=114),
    dict(type='PackPoseInputs', meta_keys={{_base_.val_meta_keys}}),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
square_val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='PackPoseInputs', meta_keys={{_base_.val_meta_keys}}),
]
square_val_dataloader = dict(dataset=dict(pipeline=square_val_pipeline))

augment_and_pack = [
    dict(type='YOLOHSVRandomAug', hgain=0.015, sgain=0.7, vgain=0.4),
    dict(type='YOLORandomFlip', prob=0.5),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='YOLOPackPoseInputs'),  # the image as a (3, H, W) view: no copy
]
random_affine = dict(type='YOLORandomAffine', input_size=input_size, degrees=0.0, translate=0.1, scale=0.5,
                     shear=0.0, perspective=0.0, pad_val=114)
train_pipeline = [
    dict(type='YOLOLoadImage', img_scale=input_size),
    dict(type='YOLOMosaic', img_scale=input_size, pad_val=114,
         pre_transform=[dict(type='YOLOLoadImage', img_scale=input_size)]),
    random_affine,
] + augment_and_pack
train_pipeline_no_mosaic = [dict(type='YOLOLoadImage', img_scale=input_size), random_affine] + augment_and_pack
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=3.0, warmup_bias_lr=0.1, warmup_momentum=0.8, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic={{_base_.close_mosaic_epochs}},
         new_train_pipeline=train_pipeline_no_mosaic),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=2000.0, update_buffers=True, priority=49),
]
