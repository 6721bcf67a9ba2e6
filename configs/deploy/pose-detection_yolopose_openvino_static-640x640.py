# OpenVINO (CPU, fp32), static 1 x 3 x 640 x 640 input, NMS in the graph (ONNX NonMaxSuppression).
# Converted with openvino.convert_model / save_model(compress_to_fp16=False): mmdeploy 1.3.1's converter needs the
# removed Model Optimizer, so yolopose_mm.deploy.backends.openvino does the conversion and runs the model.
_base_ = ['./_base_/pose-detection_yolopose.py']

backend_config = dict(type='openvino', model_inputs=[dict(opt_shapes=dict(input=[1, 3, 640, 640]))])
