# OpenVINO INT8 (CPU), static 1 x 3 x 640 x 640, NMS in the graph: the fp32 export quantized by NNCF
# (post-training, calibrated on images of the model config's dataset; symmetric int8 weights, asymmetric
# activations). Everything after the head branches' convolutions (flattening, decode, NMS) stays fp32 (keep_fp32):
# the branches' last 1x1 convs read int8 inputs and weights, their outputs (raw boxes, logits, keypoints) stay fp32.
_base_ = ['./pose-detection_yolopose_openvino_static-640x640.py']

# the operations left unquantized run at the CPU plugin's own precision (inference_precision=None: bf16 on CPUs with
# AVX512-BF16 or AMX, else f32; what Ultralytics' runtime does): less network time on such a CPU (README). There
# OpenVINO 2026.4 runs the box branch's raw outputs and the DFL softmax in bf16, and keeps the DFL expectation, the
# keypoint and score decode and the NMS in f32 (its exec graph). 'f32' runs all of them in f32.
backend_config = dict(inference_precision=None)

quantization_config = dict(
    type='nncf',
    # images of the model config's `<split>_dataloader` dataset (or `images=[files, folders, globs]`), at most
    # `num_images`, letterboxed to the export's input like the model's test pipeline
    calibration=dict(split='val', images=None, num_images=300),
    # node names (regular expressions, re.search) kept in fp32: all but the backbone, the neck and the head
    # branches (yolopose_mm.deploy.quantize.DECODE); POSTPROCESS keeps the branches' last 1x1 convs too
    keep_fp32=[r'^(?!/(backbone|neck)/|/head_module/\w+_branch\.)'],
    ignored_types=[],
    options=dict(preset='mixed', fast_bias_correction=True))
