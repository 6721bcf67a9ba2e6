# ONNX Runtime, static 1 x 3 x 640 x 640, Ultralytics-compatible raw output: `output0` (B, 4 + C + K * dim, N)
# with rows cx, cy, w, h (input pixels), C class probabilities, then x, y (input pixels) and visibility
# probability per keypoint: the layout of `YOLO('yolo11n-pose.pt').export(format='onnx')` (1 x 56 x 8400 for
# COCO at 640). No NMS in the graph; our backend model decodes the layout and runs the eager NMS.
_base_ = ['./_base_/pose-detection_yolopose.py']

onnx_config = dict(output_names=['output0'])
codebase_config = dict(output_layout='ultralytics')
backend_config = dict(type='onnxruntime')
