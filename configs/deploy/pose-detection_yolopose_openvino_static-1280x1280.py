# OpenVINO (CPU, fp32), static 1 x 3 x 1280 x 1280 input (YOLOv8-pose-p6), NMS in the graph.
_base_ = ['./pose-detection_yolopose_openvino_static-640x640.py']

onnx_config = dict(input_shape=[1280, 1280])
backend_config = dict(model_inputs=[dict(opt_shapes=dict(input=[1, 3, 1280, 1280]))])
