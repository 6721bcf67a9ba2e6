# TensorRT fp16 (NVIDIA GPU), static 1 x 3 x 640 x 640 input, NMS in the graph (mmdeploy's TRTBatchedNMS plugin,
# from libmmdeploy_tensorrt_ops.so in the mmdeploy wheel). Export and run with --device cuda:0.
_base_ = ['./_base_/pose-detection_yolopose.py']

backend_config = dict(
    type='tensorrt',
    common_config=dict(fp16_mode=True, max_workspace_size=1 << 30),
    model_inputs=[
        dict(input_shapes=dict(
            input=dict(min_shape=[1, 3, 640, 640], opt_shape=[1, 3, 640, 640], max_shape=[1, 3, 640, 640])))
    ])
