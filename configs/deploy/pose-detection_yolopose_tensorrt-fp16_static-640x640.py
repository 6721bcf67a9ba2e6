# TensorRT fp16 (NVIDIA GPU), static 1 x 3 x 640 x 640 input, NMS in the graph as the standard ONNX
# NonMaxSuppression, which TensorRT 10 parses natively: the exported end2end.onnx uses only ops TensorRT 10's ONNX
# parser imports without plugins (tests/test_tensorrt_graph.py checks it), so trtexec builds the engine:
#   trtexec --onnx=end2end.onnx --saveEngine=end2end.engine --fp16
# codebase_config.tensorrt_nms='mmdeploy_plugin' would use mmdeploy's TRTBatchedNMS instead (TensorRT 8 only).
_base_ = ['./_base_/pose-detection_yolopose.py']

codebase_config = dict(tensorrt_nms='onnx')
backend_config = dict(
    type='tensorrt',
    common_config=dict(fp16_mode=True, max_workspace_size=1 << 30),
    model_inputs=[
        dict(input_shapes=dict(
            input=dict(min_shape=[1, 3, 640, 640], opt_shape=[1, 3, 640, 640], max_shape=[1, 3, 640, 640])))
    ])
