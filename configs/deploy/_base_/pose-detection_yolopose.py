# Shared settings of the YOLO pose deploy configs (mmdeploy, pose-detection task).
# `yolopose_mm.deploy` registers the head rewriter, the torch 2.14 export fixes and the backend model.
custom_imports = dict(imports=['yolopose_mm', 'yolopose_mm.deploy'], allow_failed_imports=False)

onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=13,  # mmdeploy's default
    save_file='end2end.onnx',
    input_names=['input'],
    # 'dets_keypoints' layout: dets (B, M, 5: x1 y1 x2 y2 score), keypoints (B, M, K, 3: x y score)
    output_names=['dets', 'keypoints'],
    input_shape=[640, 640],
    # True would only log "Can not optimize model": the passes need mmdeploy's ts_optimizer, not in its wheel
    optimize=False)

codebase_config = dict(
    type='mmpose',
    task='PoseDetection',
    model_type='yolopose_end2end',
    # 'dets_keypoints' (NMS in the graph), 'decoded' (NMS after the network) or 'ultralytics' (raw layout)
    output_layout='dets_keypoints',
    # the eager predict defaults of yolopose_mm.apis.inference (Ultralytics' conf 0.25, IoU 0.7, 300)
    post_processing=dict(score_threshold=0.25, iou_threshold=0.7, max_per_img=300))
