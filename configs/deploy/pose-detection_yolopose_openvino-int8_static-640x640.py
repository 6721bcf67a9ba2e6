# OpenVINO INT8 (CPU), static 1 x 3 x 640 x 640, NMS in the graph: the fp32 export quantized by NNCF
# (post-training, calibrated on images of the model config's dataset; symmetric int8 weights, asymmetric
# activations). The head branches' last 1x1 convs, the decode and the NMS stay fp32 (keep_fp32).
_base_ = ['./pose-detection_yolopose_openvino_static-640x640.py']

quantization_config = dict(
    type='nncf',
    # images of the model config's `<split>_dataloader` dataset (or `images=[files, folders, globs]`), at most
    # `num_images`, letterboxed to the export's input like the model's test pipeline
    calibration=dict(split='val', images=None, num_images=300),
    # node names (regular expressions, re.search) kept in fp32: all but the backbone, the neck and the head
    # branches' inner layers, i.e. the branches' last 1x1 convs, the decode and the NMS
    keep_fp32=[r'^(?!/(backbone|neck)/|/head_module/\w+_branch\.\d+/\w+_branch\.\d+\.[01]/)'],
    ignored_types=[],
    options=dict(preset='mixed', fast_bias_correction=True))
