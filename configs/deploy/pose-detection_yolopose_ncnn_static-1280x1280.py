# ncnn (PyPI `ncnn` runtime, CPU), static 1 x 3 x 1280 x 1280 input (YOLOv8-pose-p6); see the 640 config.
_base_ = ['./pose-detection_yolopose_ncnn_static-640x640.py']

ir_config = dict(input_shape=[1280, 1280])
