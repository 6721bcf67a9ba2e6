# YOLO11-pose-n evaluated on the 4-image COCO val2017 sample of mmpose's tests ($YOLOPOSE_DATA/mmpose_coco_test,
# default ../shared/data): the evaluation smoke test of tools/test.py. Load converted weights with
#   python tools/test.py configs/yolopose_n_coco_sample.py work_dirs/yolo11n-pose.pth   (or yolo11n-pose.pt)
# The COCO configs' protocol (Ultralytics' rectangular validation, batch 32: here one batch of the 4 images), so the
# predictions are those of `yolo val` at its settings (score 0.001, IoU 0.7, 300 per image).
_base_ = ['./yolo11_pose/yolo11-pose-n_8xb16-600e_coco-640x640.py']

data_root = '{{$YOLOPOSE_DATA:../shared/data}}/mmpose_coco_test/'

val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='test_coco.json', data_prefix=dict(img='')))
test_dataloader = val_dataloader
val_evaluator = dict(type='YOLOPoseMetric', ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
