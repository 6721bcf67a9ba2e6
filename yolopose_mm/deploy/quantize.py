# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""INT8 post-training quantization of an export: OpenVINO through NNCF, ONNX Runtime static quantization (QDQ).

A deploy config asks for it with ``quantization_config``::

    quantization_config = dict(
        type='nncf',                  # OpenVINO IR -> INT8 IR (NNCF); 'onnxruntime': ONNX -> QDQ ONNX
        calibration=dict(split='val', images=None, num_images=300),   # see yolopose_mm.deploy.calibration
        keep_fp32=None,               # regular expressions on node names left in fp32 (None: the type's default)
        ignored_types=[],             # op types left in fp32 too (OpenVINO / ONNX type names)
        options=dict(...))            # passed to nncf.quantize / onnxruntime's quantize_static

The defaults keep the head's raw outputs (box distances, class logits, keypoint offsets) and everything after them
in fp32: quantizing those outputs to 8 bits would put keypoints on a grid of (range / 255) x stride pixels.

* ``DECODE`` (NNCF's default) keeps every node after the head branches' convolutions: the head's flattening, the
  exported decode (DFL expectation, box and keypoint arithmetic, sigmoids) and the NMS. NNCF quantizes the inputs
  of an operation, so the branches' last 1 x 1 convolutions read int8 activations with int8 weights while their
  outputs stay fp32 (their consumers are kept).
* ``POSTPROCESS`` (ONNX Runtime's default) keeps the branches' last 1 x 1 convolutions too: ONNX Runtime's QDQ
  quantizes a convolution's output as well, which would quantize the raw head outputs.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Sequence

from mmengine.config import Config
from mmengine.logging import print_log

from .model_files import require_package

POSTPROCESS = (r'^(?!/(backbone|neck)/|/head_module/\w+_branch\.\d+/\w+_branch\.\d+\.[01]/)',)
DECODE = (r'^(?!/(backbone|neck)/|/head_module/\w+_branch\.)',)
DEFAULTS = dict(type=None, calibration=None, keep_fp32=None, ignored_types=(), options=None)
TYPES = ('nncf', 'onnxruntime')
DEFAULT_KEEP = {'nncf': DECODE, 'onnxruntime': POSTPROCESS}


def get_quantization_config(deploy_cfg: Config) -> Dict:
    """The deploy config's ``quantization_config`` merged over the defaults, checked; {} when absent."""
    q = deploy_cfg.get('quantization_config')
    if not q:
        return {}
    cfg = {**DEFAULTS, **dict(q)}
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'quantization_config: unknown key(s) {unknown}; valid: {sorted(DEFAULTS)}')
    if cfg['type'] not in TYPES:
        raise ValueError(f"quantization_config.type must be one of {TYPES}, got {cfg['type']!r}")
    if cfg['keep_fp32'] is None:
        cfg['keep_fp32'] = DEFAULT_KEEP[cfg['type']]
    for pattern in cfg['keep_fp32']:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f'quantization_config.keep_fp32: {pattern!r} is not a regular expression ({e})') from e
    return cfg


def fp32_nodes(names_types: Sequence, patterns: Sequence[str], types: Sequence[str]) -> List[str]:
    """Names of the nodes ((name, type) pairs) that match a pattern (``re.search``) or a type."""
    compiled = [re.compile(p) for p in patterns]
    return [n for n, t in names_types if t in set(types) or any(c.search(n) for c in compiled)]


def quantize_openvino(xml: str, work_dir: str, calibration, qcfg: Dict) -> List[str]:
    """NNCF post-training quantization of an OpenVINO IR; returns the INT8 IR's [xml, bin].

    Args:
        xml: the fp32 IR.
        work_dir: where ``<stem>_int8.xml`` goes.
        calibration: re-iterable (1, 3, H, W) float32 inputs (:class:`~.calibration.CalibrationInputs`).
        qcfg: :func:`get_quantization_config`.
    """
    require_package('nncf', 'pip install nncf==3.4.0 (requirements/deploy.txt)', 'OpenVINO INT8 quantization')
    import nncf
    import openvino as ov

    from .export_metadata import get_openvino_metadata, set_openvino_metadata
    model = ov.Core().read_model(xml)
    ops = [(op.get_friendly_name(), op.get_type_name()) for op in model.get_ordered_ops()]
    keep = fp32_nodes(ops, qcfg['keep_fp32'], qcfg['ignored_types'])
    options = dict(preset=nncf.QuantizationPreset.MIXED, subset_size=len(calibration))
    options.update(dict(qcfg['options'] or {}))
    if isinstance(options.get('preset'), str):
        options['preset'] = nncf.QuantizationPreset(options['preset'])
    meta = get_openvino_metadata(model)
    quantized = nncf.quantize(model, nncf.Dataset(calibration), ignored_scope=nncf.IgnoredScope(
        names=keep, validate=False), **options)
    set_openvino_metadata(quantized, {**meta, 'precision': 'int8'})
    out = str(Path(work_dir) / (Path(xml).stem + '_int8.xml'))
    ov.save_model(quantized, out, compress_to_fp16=False)
    print_log(f'INT8 (NNCF): {len(calibration)} calibration images, {len(keep)} of {len(ops)} nodes kept in fp32 '
              f'-> {out}', logger='current')
    return [out, out[:-4] + '.bin']


class _Reader:
    """onnxruntime ``CalibrationDataReader`` over :class:`~.calibration.CalibrationInputs`."""

    def __init__(self, calibration, input_name: str) -> None:
        self.calibration, self.input_name = calibration, input_name
        self._it = iter(calibration)

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {self.input_name: x}

    def rewind(self) -> None:
        self._it = iter(self.calibration)


def quantize_onnxruntime(onnx_file: str, work_dir: str, calibration, qcfg: Dict) -> List[str]:
    """ONNX Runtime static quantization (QDQ, per-channel int8 weights, uint8 activations); returns [int8 onnx]."""
    require_package('onnxruntime', 'pip install onnxruntime==1.23.2 (requirements/deploy.txt)',
                    'ONNX Runtime INT8 quantization')
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .export_metadata import read_onnx_metadata, write_onnx_metadata
    stem = Path(work_dir) / Path(onnx_file).stem
    pre, out = f'{stem}_preprocessed.onnx', f'{stem}_int8.onnx'
    quant_pre_process(onnx_file, pre, skip_symbolic_shape=True)
    graph = onnx.load(pre, load_external_data=False).graph
    keep = fp32_nodes([(n.name, n.op_type) for n in graph.node], qcfg['keep_fp32'], qcfg['ignored_types'])
    options = dict(quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                   weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    options.update(dict(qcfg['options'] or {}))
    for key, enum in (('quant_format', QuantFormat), ('activation_type', QuantType), ('weight_type', QuantType),
                      ('calibrate_method', CalibrationMethod)):
        if isinstance(options.get(key), str):
            options[key] = enum[options[key]]
    quantize_static(pre, out, _Reader(calibration, graph.input[0].name), nodes_to_exclude=keep, **options)
    write_onnx_metadata(out, {**read_onnx_metadata(onnx_file), 'precision': 'int8'})
    os.remove(pre)
    print_log(f'INT8 (ONNX Runtime QDQ): {len(calibration)} calibration images, {len(keep)} of {len(graph.node)} '
              f'nodes kept in fp32 -> {out}', logger='current')
    return [out]


def quantize_backend(deploy_cfg: Config, model_cfg: Config, files: List[str], work_dir: str) -> List[str]:
    """Quantize converted backend ``files`` as the deploy config's ``quantization_config`` says."""
    from mmdeploy.utils import Backend, get_backend

    from .calibration import CalibrationInputs, calibration_images
    from .pipeline import static_input_hw
    qcfg = get_quantization_config(deploy_cfg)
    backend = get_backend(deploy_cfg)
    wanted = {'nncf': Backend.OPENVINO, 'onnxruntime': Backend.ONNXRUNTIME}[qcfg['type']]
    if backend != wanted:
        raise ValueError(f"quantization_config.type='{qcfg['type']}' quantizes {wanted.value} models, but the "
                         f'deploy config is for {backend.value}')
    if model_cfg is None:
        raise ValueError('INT8 quantization needs the model config (its dataset gives the calibration images)')
    paths = calibration_images(model_cfg, qcfg['calibration'])
    calibration = CalibrationInputs(model_cfg, paths, static_input_hw(deploy_cfg) or (640, 640))
    if backend == Backend.OPENVINO:
        return quantize_openvino(files[0], work_dir, calibration, qcfg)
    return quantize_onnxruntime(files[0], work_dir, calibration, qcfg)


__all__ = ['POSTPROCESS', 'DECODE', 'get_quantization_config', 'fp32_nodes', 'quantize_openvino',
           'quantize_onnxruntime', 'quantize_backend']
