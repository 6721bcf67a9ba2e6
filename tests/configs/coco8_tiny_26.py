# Test-only: YOLO26-pose-n with the coco8 recipe (AdamW, as configs/yolo26_pose/yolo26-pose-n_1xb4-10e_coco8-640x640.py;
# MuSGD's bfloat16 Newton-Schulz runs ~25x slower than float32 on CPU) on coco8-pose at 160 px without augmentation,
# so the training test stays fast on 2 CPU cores.
_base_ = ['./coco8_tiny_plain.py']

model = dict(
    backbone=dict(version='26', scale='n'),
    neck=dict(version='26', scale='n'),
    head=dict(_delete_=True, type='YOLO26PoseHead', version='26', scale='n', num_classes=1, num_keypoints=17,
              keypoint_dim=3, featmap_strides=(8, 16, 32)),
    test_cfg=dict(score_thr=0.001, nms_thr=0.7, max_per_img=300, end2end=False))
