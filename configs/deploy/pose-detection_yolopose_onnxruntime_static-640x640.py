# ONNX Runtime, static 1 x 3 x 640 x 640 input, NMS in the graph.
_base_ = ['./_base_/pose-detection_yolopose.py']

backend_config = dict(type='onnxruntime')
