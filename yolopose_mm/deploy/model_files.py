# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Exported model files: the files a backend needs, the input shape they take, the runtime package they need."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mmdeploy.utils import Backend, get_backend

# backend -> (importable module, what to install)
BACKEND_PACKAGES: Dict[Backend, Tuple[str, str]] = {
    Backend.ONNXRUNTIME: ('onnxruntime', 'pip install onnxruntime==1.23.2 (requirements/deploy.txt)'),
    Backend.OPENVINO: ('openvino', 'pip install openvino==2026.4.1 (requirements/deploy.txt)'),
    Backend.NCNN: ('ncnn', 'pip install ncnn==1.0.20261020 (requirements/deploy.txt)'),
    Backend.TENSORRT: ('tensorrt', 'install TensorRT for your CUDA version (NVIDIA GPU machines only)'),
}
# backend -> (main file suffix, companion suffixes next to it)
BACKEND_FILES: Dict[Backend, Tuple[str, Tuple[str, ...]]] = {
    Backend.ONNXRUNTIME: ('.onnx', ()),
    Backend.OPENVINO: ('.xml', ('.bin',)),
    Backend.NCNN: ('.param', ('.bin',)),
    Backend.TENSORRT: ('.engine', ()),
}
InputShape = Tuple[Optional[int], Optional[int], Optional[int], Optional[int]]


def require_package(module: str, install: str, what: str) -> None:
    """Raise one-line ``ImportError`` naming the install command when ``module`` cannot be imported."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a None entry in sys.modules, a broken parent package
        found = False
    if not found:
        raise ImportError(f'{what} needs the `{module}` package, which is not installed: {install}')


def require_backend(backend: Backend) -> None:
    """Raise a one-line ``ImportError`` when the backend's runtime package is missing."""
    if backend in BACKEND_PACKAGES:
        module, install = BACKEND_PACKAGES[backend]
        require_package(module, install, f'the {backend.value} backend')


def backend_files(deploy_cfg, model: str) -> List[str]:
    """The files mmdeploy's backend model takes for ``model`` (e.g. an OpenVINO ``.xml`` and its ``.bin``).

    Args:
        deploy_cfg: the deploy config the model was exported with (gives the backend).
        model: the exported model's main file (``.onnx``, ``.xml``, ``.param``, ``.engine``) or the folder that
            holds exactly one of them.

    Raises:
        FileNotFoundError / ValueError: a missing file, or one that does not belong to the deploy config's backend.
    """
    backend = get_backend(deploy_cfg)
    if backend not in BACKEND_FILES:
        raise ValueError(f'backend {backend.value!r} is not supported by yolopose_mm.deploy '
                         f'({", ".join(b.value for b in BACKEND_FILES)})')
    suffix, companions = BACKEND_FILES[backend]
    path = Path(model)
    if path.is_dir():
        found = sorted(p for p in path.glob(f'*{suffix}') if not p.name.endswith('.pnnx.param'))
        if len(found) != 1:
            raise FileNotFoundError(f'{model}: expected exactly one {suffix} file for the {backend.value} backend, '
                                    f'found {[p.name for p in found]}; pass the file itself')
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f'exported model not found: {model}')
    if path.suffix != suffix:
        raise ValueError(f'{model}: the deploy config is for {backend.value}, whose model file ends with {suffix} '
                         f'(got {path.suffix or "no suffix"}); pass the deploy config this model was exported with')
    files = [str(path)]
    for extra in companions:
        other = path.with_suffix(extra)
        if not other.is_file():
            raise FileNotFoundError(f'{path}: its {extra} file is missing (expected {other})')
        files.append(str(other))
    return files


def deploy_cfg_input_shape(deploy_cfg) -> InputShape:
    """(B, C, H, W) of the deploy config (``onnx_config.input_shape`` / ``dynamic_axes``), None where dynamic."""
    from mmdeploy.utils import get_input_shape, is_dynamic_batch, is_dynamic_shape
    shape = get_input_shape(deploy_cfg)
    batch = None if is_dynamic_batch(deploy_cfg) else 1
    if shape is None or is_dynamic_shape(deploy_cfg):
        return batch, 3, None, None
    return batch, 3, int(shape[1]), int(shape[0])


def exported_input_shape(deploy_cfg, wrapper) -> InputShape:
    """(B, C, H, W) an exported model takes, None where it takes any size.

    Read from the model itself where the runtime tells (ONNX Runtime's input metadata, OpenVINO's partial
    shape), else from the deploy config (``onnx_config.input_shape`` / ``dynamic_axes``).
    """
    dims = None
    metas = getattr(wrapper, '_input_metas', None)  # mmdeploy's ORTWrapper
    if metas:
        dims = list(next(iter(metas.values())).shape)
    elif hasattr(wrapper, 'input_dims'):  # ours (OpenVINO)
        dims = wrapper.input_dims()
    if dims is None or len(dims) != 4:
        return deploy_cfg_input_shape(deploy_cfg)
    return tuple(int(d) if isinstance(d, int) and d > 0 else None for d in dims)  # type: ignore[return-value]


def describe_shape(shape: InputShape) -> str:
    """'1x3x640x640', or 'Bx3xHxW' with letters where the model takes any size."""
    return 'x'.join(str(v) if v is not None else n for v, n in zip(shape, 'BCHW'))


__all__ = ['BACKEND_PACKAGES', 'BACKEND_FILES', 'require_package', 'require_backend', 'backend_files',
           'deploy_cfg_input_shape', 'exported_input_shape', 'describe_shape']
