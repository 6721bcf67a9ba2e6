from .yolo26_pose_head import YOLO26PoseHead
from .yolo26_pose_head_module import DualRawOutputs, YOLO26PoseHeadModule
from .yolo_pose_head import YOLOPoseHead
from .yolo_pose_head_module import RawHeadOutputs, YOLOPoseHeadModule

__all__ = ['YOLOPoseHead', 'YOLOPoseHeadModule', 'RawHeadOutputs', 'YOLO26PoseHead', 'YOLO26PoseHeadModule',
           'DualRawOutputs']
