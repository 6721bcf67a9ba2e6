# YOLO11-pose-n on COCO keypoints, 640x640 (the base table is YOLO11-n).
_base_ = ['../_base_/yolo_pose_coco.py']
