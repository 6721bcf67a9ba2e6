# TensorRT fp16 (NVIDIA GPU), dynamic batch 1-8 and input 320x320 .. 1280x1280 (multiples of 32), NMS in the graph as
# the standard ONNX NonMaxSuppression (TensorRT 10 parses every op of the export natively; no plugin):
#   trtexec --onnx=end2end.onnx --saveEngine=end2end.engine --fp16 \
#       --minShapes=input:1x3x320x320 --optShapes=input:1x3x640x640 --maxShapes=input:8x3x1280x1280
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = dict(
    input_shape=None,
    dynamic_axes=dict(
        input=dict({0: 'batch', 2: 'height', 3: 'width'}),
        dets=dict({0: 'batch', 1: 'num_dets'}),
        keypoints=dict({0: 'batch', 1: 'num_dets'})))
codebase_config = dict(tensorrt_nms='onnx')
backend_config = dict(
    type='tensorrt',
    common_config=dict(fp16_mode=True, max_workspace_size=1 << 30),
    model_inputs=[
        dict(input_shapes=dict(
            input=dict(min_shape=[1, 3, 320, 320], opt_shape=[1, 3, 640, 640], max_shape=[8, 3, 1280, 1280])))
    ])
