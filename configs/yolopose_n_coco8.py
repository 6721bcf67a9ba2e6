# YOLO11-pose-n on the small coco8-pose dataset (YOLO format): the config `make demo` trains and evaluates.
# Data root: $YOLOPOSE_DATA/coco8-pose (default ../shared/data, relative to the repository root), or override with
# --cfg-options data_root=/path/to/coco8-pose/
_base_ = ['./yolo11_pose/yolo11-pose-n_8xb16-600e_coco-640x640.py']

data_root = '{{$YOLOPOSE_DATA:../shared/data}}/coco8-pose/'
data_yaml = data_root + 'coco8-pose.yaml'
input_size = (640, 640)
max_epochs = 10
close_mosaic_epochs = 2

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Mosaic', img_scale=input_size, pad_val=114.0, pre_transform=[dict(type='LoadImage')]),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_factor=0.1, rotate_factor=0.0,
         scale_factor=(0.5, 1.5), shear_factor=0.0, pad_val=114, distribution='uniform',
         transform_mode='perspective', bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOHSVRandomAug', hgain=0.015, sgain=0.7, vgain=0.4),
    dict(type='YOLORandomFlip', prob=0.5),
    dict(type='FilterAnnotations', by_box=True, by_kpt=False, keep_empty=True),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='PackPoseInputs'),
]
# Last epochs without mosaic (Ultralytics' close_mosaic): letterbox + mild affine.
train_pipeline_no_mosaic = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, auto=False, scaleup=False, pad_val=114),
    dict(type='BottomupRandomAffine', input_size=input_size, shift_factor=0.1, rotate_factor=0.0,
         scale_factor=(0.5, 1.5), shear_factor=0.0, pad_val=114, distribution='uniform',
         transform_mode='perspective', bbox_keep_corner=False, clip_border=True),
    dict(type='YOLOHSVRandomAug', hgain=0.015, sgain=0.7, vgain=0.4),
    dict(type='YOLORandomFlip', prob=0.5),
    dict(type='FilterAnnotations', by_box=True, by_kpt=False, keep_empty=True),
    dict(type='GenerateTarget', encoder=dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='LetterBox', input_size=input_size, rect=True, pad_val=114),  # YOLO's val loader (batch 1)
    dict(type='PackPoseInputs',
         meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                    'input_scale', 'raw_ann_info')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='YOLOPoseDataset', data_yaml=data_yaml, split='train', metainfo='coco',
                 pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type='YOLOPoseDataset', data_yaml=data_yaml, split='val', metainfo='coco', test_mode=True,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
# ground truth converted from the YOLO labels (raw_ann_info); Ultralytics-style numbers match `yolo pose val batch=1`
val_evaluator = dict(_delete_=True, type='YOLOPoseMetric', ann_file=None)
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
