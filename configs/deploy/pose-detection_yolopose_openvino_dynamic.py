# OpenVINO (CPU, fp32), dynamic batch and input size (any H, W divisible by 32), NMS in the graph.
# Takes the rectangular test letterboxes (rect=True / auto=True) of the configs, as the eager model does.
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = dict(
    input_shape=None,
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        dets=dict({0: 'batch', 1: 'num_dets'}),
        keypoints=dict({0: 'batch', 1: 'num_dets'})))
backend_config = dict(type='openvino', model_inputs=[dict(opt_shapes=dict(input=[1, 3, 640, 640]))])
