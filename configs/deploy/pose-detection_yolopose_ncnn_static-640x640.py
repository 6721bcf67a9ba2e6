# ncnn (PyPI `ncnn` runtime), static 1 x 3 x 640 x 640 input. The ONNX export is converted with PyPI `pnnx`
# (mmdeploy's onnx2ncnn is not in its wheel). ncnn has no NMS layer: the network outputs decoded boxes, scores
# and keypoints of all priors, and NMS runs after it (the eager `filter_and_nms`). fp32 inference (ncnn's fp16
# / bf16 storage and arithmetic are switched off by our wrapper so results match eager).
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = dict(output_names=['bboxes', 'scores', 'keypoints'])
codebase_config = dict(output_layout='decoded')
backend_config = dict(type='ncnn', precision='FP32', use_vulkan=False)
