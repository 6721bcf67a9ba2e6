from .yolo_pafpn import YOLOPAFPN

__all__ = ['YOLOPAFPN']
