# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Test helpers around the Ultralytics reference (AGPL, test-only; the package never imports it)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Tuple

import sys

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools' / 'analysis'))
from random_weights import randomize_batchnorm_  # noqa: E402


def build_ultralytics_pose(version: str, scale: str, nc: int = 1, kpt_shape: Tuple[int, int] = (17, 3)) -> nn.Module:
    """An Ultralytics PoseModel built from the yaml shipped in its wheel, in eval mode."""
    from ultralytics.nn.tasks import PoseModel
    yaml = {'v8': 'yolov8{}-pose.yaml', '11': 'yolo11{}-pose.yaml', 'v8-p6': 'yolov8{}-pose-p6.yaml',
            '12': 'yolo12{}-pose.yaml', '26': 'yolo26{}-pose.yaml'}[version].format(scale)
    model = PoseModel(yaml, nc=nc, data_kpt_shape=tuple(kpt_shape), verbose=False)
    return model.eval()


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters so parity tests exercise them (the
    benchmarks' ``random_weights.randomize_batchnorm_`` with a generator seeded by ``seed``)."""
    randomize_batchnorm_(model, torch.Generator().manual_seed(seed))
    return model


def content_dependent_init(model: nn.Module, seed: int = 0) -> nn.Module:
    """He-normal convolution weights: with PyTorch's default init the activations of a deep random YOLO shrink until
    the scores hardly depend on the image and tie in hundreds of cells; with this init a random-weight model ranks
    its predictions by image content, so prediction parity tests compare distinct people."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    return model


def save_ultralytics_checkpoint(model: nn.Module, path: Path, half: bool = False) -> Path:
    """Save like Ultralytics does: the pickled model object under ``model``."""
    import copy
    m = copy.deepcopy(model)
    if half:
        m = m.half()
    # train_args: Ultralytics' YOLO(path) reads the task from there (else it guesses 'detect' for a Pose26 head)
    torch.save({'model': m, 'ema': None, 'epoch': -1, 'version': 'test', 'train_args': {'task': 'pose'}}, path)
    return path


def random_yolo26n_pair(folder: Path) -> Tuple[Path, Path]:
    """A random-weight yolo26n-pose.pt (He-init convolutions, so scores depend on the image; randomised BatchNorm)
    saved in ``folder``, and its conversion by our converter: (pt, pth)."""
    from yolopose_mm.converters import save_converted
    ref = randomize_batchnorm(content_dependent_init(build_ultralytics_pose('26', 'n'), seed=0), seed=7)
    pt = save_ultralytics_checkpoint(ref, folder / 'yolo26n-pose.pt')
    pth = folder / 'yolo26n-pose.pth'
    save_converted(str(pt), str(pth))
    return pt, pth


def ultralytics_raw(model: nn.Module, x: torch.Tensor):
    """(decoded (B, 4 + nc + K*dim, N), raw dict with boxes / scores / kpts) from an eval forward."""
    with torch.no_grad():
        y, preds = model(x)
    return y, preds


_POSE26_BRANCHES = {'cv2': 'box_branch', 'cv3': 'cls_branch', 'cv4': 'kpt_trunk', 'cv4_kpts': 'kpt_pred',
                    'cv4_sigma': 'kpt_sigma'}


def pose26_head_state(head: nn.Module) -> Dict[str, torch.Tensor]:
    """An Ultralytics Pose26 layer's state dict under our YOLO26PoseHead names (for head-level parity tests)."""
    out = {}
    for key, value in head.state_dict().items():
        m = re.match(r'(one2one_)?(cv2|cv3|cv4_kpts|cv4_sigma|cv4)\.(.*)', key)
        if m:
            branch = 'one2one' if m.group(1) else 'one2many'
            out[f'head_module.{branch}.{_POSE26_BRANCHES[m.group(2)]}.{m.group(3)}'] = value
        elif key.startswith('flow_model.'):
            out['flow.' + key[len('flow_model.'):]] = value
        else:
            raise KeyError(f'unexpected Pose26 key {key}')
    return out


def ours_to_pose26_name(name: str) -> str:
    """Inverse of :func:`pose26_head_state` for one parameter name."""
    if name.startswith('flow.'):
        return 'flow_model.' + name[len('flow.'):]
    _, branch, part, rest = name.split('.', 3)
    ul = {v: k for k, v in _POSE26_BRANCHES.items()}[part]
    return ('one2one_' if branch == 'one2one' else '') + ul + '.' + rest
