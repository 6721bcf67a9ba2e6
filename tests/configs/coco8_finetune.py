# Test-only: fine-tune on coco8-pose train without augmentation and evaluate on the same train images.
_base_ = ['../../configs/yolopose_n_coco8.py']

input_size = (640, 640)
plain_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='YOLOFilterInstances'),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=1, persistent_workers=False,
                        dataset=dict(pipeline=plain_pipeline))
val_dataloader = dict(dataset=dict(split='train'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=4, val_interval=100)
optim_wrapper = dict(optimizer=dict(lr=0.0001))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=0.0, lrf=1.0),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=2.0, update_buffers=True, priority=49),
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', interval=4, max_keep_ckpts=1))
