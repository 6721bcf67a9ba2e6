from .yolo_pose_head import YOLOPoseHead
from .yolo_pose_head_module import RawHeadOutputs, YOLOPoseHeadModule

__all__ = ['YOLOPoseHead', 'YOLOPoseHeadModule', 'RawHeadOutputs']
