# ONNX Runtime INT8 (CPU), static 1 x 3 x 640 x 640, NMS in the graph: the fp32 export statically quantized by
# onnxruntime.quantization (QDQ; per-channel int8 weights, uint8 activations, MinMax calibration on images of the
# model config's dataset). The head branches' last 1x1 convs, the decode and the NMS stay fp32 (keep_fp32).
_base_ = ['./pose-detection_yolopose_onnxruntime_static-640x640.py']

quantization_config = dict(
    type='onnxruntime',
    calibration=dict(split='val', images=None, num_images=300),
    keep_fp32=[r'^(?!/(backbone|neck)/|/head_module/\w+_branch\.\d+/\w+_branch\.\d+\.[01]/)'],
    ignored_types=[],
    options=dict(quant_format='QDQ', per_channel=True, activation_type='QUInt8', weight_type='QInt8',
                 calibrate_method='MinMax'))
