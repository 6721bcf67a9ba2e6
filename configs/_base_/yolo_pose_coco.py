# YOLO pose model on COCO-17 keypoints (YOLO11-n unless a child config overrides version/scale).
_base_ = ['./default_runtime.py']

input_size = (640, 640)
dataset_type = 'CocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

model = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        # mmpose's PoseDataPreprocessor, plus yolo val's padding of each batch of LetterBox(rect=True) samples
        type='YOLOPoseDataPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        # padding happens after normalisation: 114 / 255 is YOLO's grey letterbox colour.
        pad_value=114 / 255,
        non_blocking=True),  # asynchronous host-to-GPU copies of images and targets (with pinned memory)
    backbone=dict(type='YOLOBackbone', version='11', scale='n'),
    neck=dict(type='YOLOPAFPN', version='11', scale='n'),
    head=dict(
        type='YOLOPoseHead',
        version='11',
        scale='n',
        num_classes=1,
        num_keypoints=17,
        keypoint_dim=3,
        featmap_strides=(8, 16, 32)),
    # evaluation settings; the demo / inference API use score_thr=0.25
    test_cfg=dict(score_thr=0.001, nms_thr=0.7, max_per_img=300))

# Evaluation follows Ultralytics' validation protocol (`yolo val`, how its published COCO table was made): images in
# the order of its loader (by path, then by aspect ratio: YOLORectBatchSampler), batches of 32, each image's long
# side resized to 640 (LetterBox(rect=True)) and the batch padded, centred, to one stride-32 rectangle with half a
# stride of margin (the model's YOLOPoseDataPreprocessor, for samples whose metainfo keeps 'rect_letterbox').
# The dataloaders need no collate_fn, so MMPoseInferencer / inference_bottomup read this config too (one image:
# yolo val with batch 1).
val_meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center', 'input_scale',
                 'rect_letterbox')
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, rect=True, pad_val=114),
    dict(type='PackPoseInputs', meta_keys=val_meta_keys),
]
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    batch_sampler=dict(type='YOLORectBatchSampler'),  # batches as yolo val forms them
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# The square protocol for fixed-shape batches (every image letterboxed to 640x640, as a static exported model sees
# it): in a config, `val_dataloader = square_val_dataloader` / `test_dataloader = square_val_dataloader`.
square_val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(type='PackPoseInputs', meta_keys=val_meta_keys),
]
square_val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=square_val_pipeline))
# COCO-official keypoint + box AP/AR (xtcocotools) and Ultralytics-style P/R/mAP50/mAP50-95 (B and P).
val_evaluator = dict(type='YOLOPoseMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()

# ---------------------------------------------------------------------------------------------------------
# Training recipe (Ultralytics defaults): mosaic + random affine + HSV + flip, close mosaic for the last 10 epochs,
# SGD (momentum 0.937, nesterov, lr 0.01, wd 5e-4 on weights only), 3 warmup epochs with bias lr from 0.1, linear
# decay to lr x 0.01, EMA with the 2000-update ramp, grad-norm clipping at 10. Loss terms are multiplied by the
# per-GPU batch size and the world size, gradients are summed to a nominal batch of 64 images per optimizer step
# and weight decay is scaled by total batch x accumulate / 64, as Ultralytics does (YOLOOptimWrapper).
# ---------------------------------------------------------------------------------------------------------
max_epochs = 600
close_mosaic_epochs = 10
# The YOLO training pipeline (Ultralytics' semantics): each image loaded with its long side at the input size, a
# 4-image mosaic on a 2x canvas (partners from the same batch), one random affine warp to the input size
# (translate 0.1, scale 0.5), HSV, flip with keypoint swapping, targets. Without mosaic (the last epochs) the
# affine warps the loaded image directly. YOLOBatchSampler makes every sample's augmentation a pure function of
# (seed, epoch, index), whatever the workers.
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
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='YOLOBatchSampler'),
    collate_fn=dict(type='yolo_pose_collate'),
    dataset=dict(
        type='YOLOCocoDataset',
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(
    type='YOLOOptimWrapper',  # tools/train.py --amp [fp16|bf16] switches it to YOLOAmpOptimWrapper
    nominal_batch=64,
    constructor='YOLOOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.937, nesterov=True, weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0))
param_scheduler = []
custom_hooks = [
    dict(type='DatasetMetaToHeadHook'),
    dict(type='YOLOLrMomentumHook', warmup_epochs=3.0, warmup_bias_lr=0.1, warmup_momentum=0.8, lrf=0.01),
    dict(type='CloseMosaicHook', close_mosaic=close_mosaic_epochs, new_train_pipeline=train_pipeline_no_mosaic),
    dict(type='YOLOEMAHook', ema_type='YOLORampEMA', decay=0.9999, tau=2000.0, update_buffers=True, priority=49),
]
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=True)  # fixed 640x640 training batches: let cuDNN pick the fastest kernels once
