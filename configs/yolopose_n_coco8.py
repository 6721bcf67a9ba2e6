# YOLO11-pose-n on the small coco8-pose dataset (YOLO format): the config `make demo` trains and evaluates.
# Data root: $YOLOPOSE_DATA/coco8-pose (default ../shared/data, relative to the repository root), or override with
# --cfg-options data_root=/path/to/coco8-pose/
_base_ = ['./yolo11_pose/yolo11-pose-n_8xb16-600e_coco-640x640.py']

data_root = '{{$YOLOPOSE_DATA:../shared/data}}/coco8-pose/'
data_yaml = data_root + 'coco8-pose.yaml'
input_size = (640, 640)
max_epochs = 10
close_mosaic_epochs = 2

val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, rect=True, pad_val=114),  # yolo val's letterbox
    dict(type='PackPoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                    'input_scale', 'rect_letterbox', 'raw_ann_info')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='YOLOBatchSampler'),  # sample keys: augmentation reproducible with any workers
    collate_fn=dict(type='yolo_pose_collate'),  # a batch crosses from a worker as a few tensors
    dataset=dict(_delete_=True, type='YOLOPoseDataset', data_yaml=data_yaml, split='train', metainfo='coco',
                 pipeline={{_base_.train_pipeline}}))
# Ultralytics' validation protocol (as the COCO configs): batches in yolo val's order, one rectangle per batch
# (padded by the model's YOLOPoseDataPreprocessor).
val_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    batch_sampler=dict(type='YOLORectBatchSampler'),
    dataset=dict(type='YOLOPoseDataset', data_yaml=data_yaml, split='val', metainfo='coco', test_mode=True,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
# ground truth converted from the YOLO labels (raw_ann_info); the metrics equal `yolo pose val` with the same batch
val_evaluator = dict(_delete_=True, type='YOLOPoseMetric', ann_file=None)
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A handful of images: AdamW as Ultralytics' optimizer='auto' picks for short runs, short warmup.
# 4 images: accumulating gradients to Ultralytics' nominal 64 images would leave a handful of optimizer steps per
# run, so this demo steps every iteration with unscaled weight decay (nominal_batch=None; losses still x world size).
optim_wrapper = dict(nominal_batch=None,
                     optimizer=dict(_delete_=True, type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=5e-4))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=1.0, warmup_min_iters=4, warmup_bias_lr=0.0, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic=close_mosaic_epochs,
         new_train_pipeline={{_base_.train_pipeline_no_mosaic}}),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=20.0, update_buffers=True, priority=49),
]
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=2))
