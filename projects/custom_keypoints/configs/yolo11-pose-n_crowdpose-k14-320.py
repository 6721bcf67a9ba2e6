# YOLO11-pose-n on CrowdPose (14 keypoints) in YOLO format, converted from its COCO-style json with
#   python tools/dataset_converters/coco2yolo.py CROWDPOSE.json IMG_DIR projects/custom_keypoints/data/crowdpose \
#       --split train --sigmas-from crowdpose
# (kpt_oks_sigmas, flip_idx and skeleton then come from mmpose's crowdpose metainfo through the yaml).
_base_ = ['./yolo11-pose-n_shapes-k5-320.py']

data_root = 'projects/custom_keypoints/data/crowdpose/'
data_yaml = data_root + 'data.yaml'

model = dict(head=dict(num_classes=1, num_keypoints=14, keypoint_dim=3))
train_dataloader = dict(dataset=dict(data_yaml=data_yaml))
val_dataloader = dict(dataset=dict(data_yaml=data_yaml))
test_dataloader = val_dataloader
