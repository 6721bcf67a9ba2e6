# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""TensorRT on a current stack: graphs TensorRT 10 parses without plugins, and a clear error about mmdeploy's.

mmdeploy 1.3.1's wheel ships ``libmmdeploy_tensorrt_ops.so`` (its TRTBatchedNMS and other plugins) linked against
TensorRT 8 and CUDA 11, and its TensorRT wrapper calls TensorRT-8-only APIs. So our TensorRT deploy configs put the
standard ONNX ``NonMaxSuppression`` in the graph by default (``codebase_config.tensorrt_nms='onnx'``): TensorRT 10's
ONNX parser turns it into its own NMS layer, so ``trtexec --onnx=end2end.onnx`` builds the engine with no plugin.
``tensorrt_nms='mmdeploy_plugin'`` keeps mmdeploy's TRTBatchedNMS (TensorRT 8 only).
"""
from __future__ import annotations

import ctypes
import os
import re
from typing import List, Optional

# ONNX operators TensorRT 10's ONNX parser imports natively (onnx/onnx-tensorrt docs/operators.md, 10.x: "Supported"
# Y), i.e. without a plugin.
TRT10_NATIVE_OPS = frozenset('''
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast CastLike Ceil Celu Clip
Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DeformConv DepthToSpace DequantizeLinear Div Dropout
Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gelu Gemm GlobalAveragePool
GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization GRU HardSigmoid HardSwish Hardmax
Identity If ImageScaler InstanceNormalization IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax
Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish Mod Mul Neg
NonMaxSuppression NonZero Not OneHot Or Pad ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike
RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean
ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RNN RoiAlign Round ScaledTanh Scan
Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax Softplus Softsign
SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where
Xor'''.split())

# TensorRT's own plugins (libnvinfer_plugin, shipped with TensorRT) that the ONNX parser maps by op name.
TRT_BUILTIN_PLUGINS = frozenset({'EfficientNMS_TRT'})

NMS_CHOICES = ('onnx', 'mmdeploy_plugin')


def tensorrt_nms(deploy_cfg) -> str:
    """``codebase_config.tensorrt_nms`` of a deploy config: 'onnx' (default) or 'mmdeploy_plugin'."""
    choice = dict(deploy_cfg.get('codebase_config') or {}).get('tensorrt_nms', 'onnx')
    if choice not in NMS_CHOICES:
        raise ValueError(f'deploy config: codebase_config.tensorrt_nms={choice!r} is not one of {NMS_CHOICES}')
    return choice


def uses_mmdeploy_trt_nms(deploy_cfg) -> bool:
    """Whether the exported graph should use mmdeploy's TRTBatchedNMS plugin (TensorRT backend + opt-in)."""
    from mmdeploy.utils import Backend, get_backend
    return get_backend(deploy_cfg) == Backend.TENSORRT and tensorrt_nms(deploy_cfg) == 'mmdeploy_plugin'


def non_native_ops(onnx_model) -> List[str]:
    """Op types of an ONNX model (``onnx.ModelProto``) that TensorRT 10 cannot parse without a foreign plugin."""
    ops = {node.op_type for node in onnx_model.graph.node}
    return sorted(ops - TRT10_NATIVE_OPS - TRT_BUILTIN_PLUGINS)


def _linked_versions(lib_path: str) -> str:
    """'TensorRT 8 / CUDA 11.0' from the library's dynamic-section names (libnvinfer.so.N, libcudart.so.X)."""
    try:
        with open(lib_path, 'rb') as f:
            data = f.read()
    except OSError:
        return 'unknown versions'
    trt = re.search(rb'libnvinfer\.so\.(\d+)', data)
    cuda = re.search(rb'libcudart\.so\.(\d+(?:\.\d+)?)', data)
    return (f'TensorRT {trt.group(1).decode() if trt else "?"} / '
            f'CUDA {cuda.group(1).decode() if cuda else "?"}')


def _installed_versions() -> str:
    import torch
    try:
        import tensorrt
        trt = f'TensorRT {tensorrt.__version__}'
    except ImportError:
        trt = 'no TensorRT Python package'
    return f'{trt}, torch {torch.__version__} with CUDA {torch.version.cuda}'


def mmdeploy_trt_plugin_error() -> Optional[str]:
    """None when mmdeploy's TensorRT plugin library loads, else one line naming the versions and the way out."""
    from mmdeploy.backend.tensorrt.init_plugins import get_ops_path
    lib = get_ops_path()
    if not lib or not os.path.exists(lib):
        return ("mmdeploy's TensorRT plugin library (libmmdeploy_tensorrt_ops.so) is not in this mmdeploy install; "
                "use a TensorRT deploy config with codebase_config.tensorrt_nms='onnx' (no plugin needed)")
    try:
        ctypes.CDLL(lib)
    except OSError as e:
        return (f"mmdeploy's TensorRT plugins cannot load ({e}): {os.path.basename(lib)} is built for "
                f'{_linked_versions(lib)}, this machine has {_installed_versions()}; use a TensorRT deploy config '
                "with codebase_config.tensorrt_nms='onnx' and build the engine with TensorRT's trtexec "
                '(README: Deployment, TensorRT)')
    return None


__all__ = ['TRT10_NATIVE_OPS', 'TRT_BUILTIN_PLUGINS', 'tensorrt_nms', 'uses_mmdeploy_trt_nms', 'non_native_ops',
           'mmdeploy_trt_plugin_error']
