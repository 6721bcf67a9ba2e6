# Test-only (tests/test_browse_dataset.py): mmpose's CocoDataset in bottom-up mode on the 4 COCO val images of
# ../shared/data/mmpose_coco_test (or $YOLOPOSE_DATA), with a flip that always fires, so the browse tool shows
# what a pipeline does to keypoints and their left/right pairs.
default_scope = 'mmpose'
custom_imports = dict(imports=['yolopose_mm'], allow_failed_imports=False)

data_root = '{{$YOLOPOSE_DATA:../shared/data}}/mmpose_coco_test/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomFlip', prob=1.0, direction='horizontal'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(type='CocoDataset', data_root=data_root, data_mode='bottomup', ann_file='test_coco.json',
                 data_prefix=dict(img=''), pipeline=train_pipeline))
