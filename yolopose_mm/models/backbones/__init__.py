from .yolo_backbone import YOLOBackbone

__all__ = ['YOLOBackbone']
