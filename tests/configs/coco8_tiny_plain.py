# Test-only: coco8_tiny without augmentation (letterbox only) — for DDP with a background rank and learning checks.
_base_ = ['./coco8_tiny.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.plain_pipeline}}))
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=1.0, warmup_min_iters=2, warmup_bias_lr=0.0, lrf=0.01),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=20.0, update_buffers=True, priority=49),
]
