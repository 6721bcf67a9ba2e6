# Short entry point: YOLO26-pose-n on the small coco8-pose dataset (YOLO format).
_base_ = ['./yolo26_pose/yolo26-pose-n_1xb4-10e_coco8-640x640.py']
