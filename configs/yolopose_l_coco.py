# Short entry point: YOLO11-pose-l (the current Ultralytics default) on COCO keypoints.
_base_ = ['./yolo11_pose/yolo11-pose-l_8xb16-600e_coco-640x640.py']
