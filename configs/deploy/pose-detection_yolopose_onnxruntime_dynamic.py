# ONNX Runtime, dynamic batch and input size (any H, W divisible by 32), NMS in the graph.
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = dict(
    input_shape=None,
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        dets=dict({0: 'batch', 1: 'num_dets'}),
        keypoints=dict({0: 'batch', 1: 'num_dets'})))
backend_config = dict(type='onnxruntime')
