# YOLO pose model on COCO-17 keypoints (YOLO11-n unless a child config overrides version/scale).
_base_ = ['./default_runtime.py']

input_size = (640, 640)
dataset_type = 'CocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

model = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        # padding happens after normalisation: 114 / 255 is YOLO's grey letterbox colour.
        pad_value=114 / 255),
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

# Square letterbox for batched evaluation; the inference API uses auto=True (minimal stride-32 rectangle).
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, pad_val=114),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                   'input_scale')),
]
val_dataloader = dict(
    batch_size=1,
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
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# COCO-official keypoint + box AP/AR (xtcocotools) and Ultralytics-style P/R/mAP50/mAP50-95 (B and P).
val_evaluator = dict(type='YOLOPoseMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
