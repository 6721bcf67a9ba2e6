# Short entry point: YOLO26-pose-n (Ultralytics 8.4.190's default pose model) on COCO keypoints.
_base_ = ['./yolo26_pose/yolo26-pose-n_8xb16-600e_coco-640x640.py']
