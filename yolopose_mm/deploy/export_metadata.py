# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""What an export was made with, stored in the model file itself.

A layout with NMS inside the graph keeps the thresholds of the deploy config it was exported with; a later run
with another deploy config (or the same one edited) cannot see them. So the export records, as ONNX
``metadata_props`` (and OpenVINO ``rt_info`` under ``yolopose_mm``), its output layout, its NMS settings and the
head's keypoint / class counts; the backend model reads them back (:func:`read_metadata`) and trusts them over the
deploy config.
"""
from __future__ import annotations

import json
from typing import Dict, Optional

from mmengine.config import Config

from .layouts import NMSParams, get_layout, get_nms_params

PREFIX = 'yolopose_mm.'
KEYS = ('output_layout', 'post_processing', 'num_keypoints', 'keypoint_dim', 'num_classes', 'precision')


def export_metadata(deploy_cfg: Config, model_cfg: Config, precision: str = 'fp32') -> Dict[str, str]:
    """The records of an export of ``model_cfg`` with ``deploy_cfg`` (string values, keys without prefix)."""
    nms = get_nms_params(deploy_cfg)
    head = model_cfg.model.head
    return {
        'output_layout': get_layout(deploy_cfg),
        'post_processing': json.dumps(dict(score_threshold=nms.score_thr, iou_threshold=nms.iou_thr,
                                           max_per_img=nms.max_per_img)),
        'num_keypoints': str(int(head.get('num_keypoints', 17))),
        'keypoint_dim': str(int(head.get('keypoint_dim', 3))),
        'num_classes': str(int(head.get('num_classes', 1))),
        'precision': precision,
    }


def write_onnx_metadata(onnx_file: str, meta: Dict[str, str]) -> None:
    """Store ``meta`` in the ONNX file's ``metadata_props`` (replacing earlier ``yolopose_mm.*`` entries)."""
    import onnx
    model = onnx.load(onnx_file)
    props = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in props + [(PREFIX + k, v) for k, v in meta.items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, onnx_file)


def read_onnx_metadata(onnx_file: str) -> Dict[str, str]:
    """The ``yolopose_mm.*`` entries of an ONNX file (weights not loaded)."""
    import onnx
    model = onnx.load(onnx_file, load_external_data=False)
    return {p.key[len(PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(PREFIX)}


def set_openvino_metadata(ov_model, meta: Dict[str, str]) -> None:
    """Store ``meta`` in an OpenVINO model's ``rt_info`` (``yolopose_mm/<key>``), saved with the IR."""
    for key, value in meta.items():
        ov_model.set_rt_info(value, ['yolopose_mm', key])


def get_openvino_metadata(ov_model) -> Dict[str, str]:
    return {k: ov_model.get_rt_info(['yolopose_mm', k]).astype(str) for k in KEYS
            if ov_model.has_rt_info(['yolopose_mm', k])}


def read_metadata(wrapper) -> Dict[str, str]:
    """The export records a runtime wrapper's model carries ({} for files made otherwise, or ncnn / TensorRT)."""
    sess = getattr(wrapper, 'sess', None)  # mmdeploy's ORTWrapper
    if sess is not None:
        found = sess.get_modelmeta().custom_metadata_map
        return {k[len(PREFIX):]: v for k, v in found.items() if k.startswith(PREFIX)}
    return dict(getattr(wrapper, 'metadata', None) or {})


def graph_nms(meta: Dict[str, str]) -> Optional[NMSParams]:
    """The NMS settings recorded in an export, or None."""
    if 'post_processing' not in meta:
        return None
    cfg = json.loads(meta['post_processing'])
    return NMSParams(float(cfg['score_threshold']), float(cfg['iou_threshold']), int(cfg['max_per_img']))


__all__ = ['export_metadata', 'write_onnx_metadata', 'read_onnx_metadata', 'set_openvino_metadata',
           'get_openvino_metadata', 'read_metadata', 'graph_nms']
