# YOLO11-pose-n on the generated 'shapes' dataset: K=5 keypoints (pentagon corners), dim 3, two classes (house,
# arrow) sharing the keypoint layout, flip_idx [0, 2, 1, 4, 3]. Everything about the keypoint set comes from the
# dataset yaml (kpt_shape, flip_idx, kpt_names, skeleton, kpt_oks_sigmas); the head only needs K, dim and classes.
# Run from the repository root after `python projects/custom_keypoints/tools/make_shapes.py <data_root>`.
_base_ = ['../../../configs/yolo11_pose/yolo11-pose-n_8xb16-600e_coco-640x640.py']

data_root = 'projects/custom_keypoints/data/shapes/'
data_yaml = data_root + 'shapes.yaml'
num_keypoints, keypoint_dim, num_classes = 5, 3, 2
input_size = (320, 320)
max_epochs = 30
close_mosaic_epochs = 5

model = dict(head=dict(num_classes=num_classes, num_keypoints=num_keypoints, keypoint_dim=keypoint_dim))

augment_and_pack = [
    dict(type='YOLOHSVRandomAug', hgain=0.015, sgain=0.7, vgain=0.4),
    dict(type='YOLORandomFlip', prob=0.5),  # swaps keypoints with the yaml's flip_idx
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='YOLOPackPoseInputs'),
]
random_affine = dict(type='YOLORandomAffine', input_size=input_size, translate=0.1, scale=0.5, pad_val=114)
train_pipeline = [
    dict(type='YOLOLoadImage', img_scale=input_size),
    dict(type='YOLOMosaic', img_scale=input_size, pad_val=114,
         pre_transform=[dict(type='YOLOLoadImage', img_scale=input_size)]),
    random_affine,
] + augment_and_pack
train_pipeline_no_mosaic = [dict(type='YOLOLoadImage', img_scale=input_size), random_affine] + augment_and_pack
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='PackPoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                    'input_scale', 'raw_ann_info')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='YOLOBatchSampler'),
    dataset=dict(_delete_=True, type='YOLOPoseDataset', data_yaml=data_yaml, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='YOLOPoseDataset', data_yaml=data_yaml, split='val', test_mode=True,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='YOLOPoseMetric', ann_file=None)  # GT from the samples
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
# a short run on a small generated set: step every iteration (no accumulation to Ultralytics' nominal 64 images; the
# numbers in this project's README were measured so)
optim_wrapper = dict(nominal_batch=None,
                     optimizer=dict(_delete_=True, type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=5e-4))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),  # keypoint-loss sigmas from the yaml's kpt_oks_sigmas
    dict(type='YOLOLrMomentumHook', warmup_epochs=1.0, warmup_min_iters=10, warmup_bias_lr=0.0, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic=close_mosaic_epochs, new_train_pipeline=train_pipeline_no_mosaic),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=200.0, update_buffers=True, priority=49),
]
default_hooks = dict(logger=dict(type='LoggerHook', interval=5),
                     checkpoint=dict(type='AtomicCheckpointHook', interval=10, max_keep_ckpts=2))
