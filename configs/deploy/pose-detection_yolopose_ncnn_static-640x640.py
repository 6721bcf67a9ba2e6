# ncnn (PyPI `ncnn` runtime, CPU), static 1 x 3 x 640 x 640 input.
# mmdeploy's onnx2ncnn is not in its wheel and pnnx's ONNX import crashes ncnn on this network, so the model is
# traced to TorchScript by mmdeploy (our rewriters active) and converted with PyPI `pnnx`. ncnn has no NMS layer:
# the network outputs the head's raw outputs; the head's own decode and the eager NMS run after it.
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = None
ir_config = dict(
    type='torchscript',
    save_file='end2end.pt',
    input_names=['input'],
    output_names=['box_logits', 'cls_logits', 'kpt_raw'],
    input_shape=[640, 640])
codebase_config = dict(output_layout='raw')
backend_config = dict(type='ncnn', precision='FP32', use_vulkan=False)
