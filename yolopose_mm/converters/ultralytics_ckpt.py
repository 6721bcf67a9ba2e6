# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert an Ultralytics YOLOv8-pose(-p6) / YOLO11-pose / YOLO12-pose checkpoint to a yolopose_mm checkpoint.

The file is read with :func:`~.safe_pickle.safe_load_checkpoint`: no Ultralytics install is needed and no code
from the pickle runs. Names are mapped declaratively: the architecture table of each family gives the sequence of
top-level Ultralytics layers (block kinds are named after the modules they correspond to) and the destination of
each, and a second table renames children by the Ultralytics class that owns them. A checkpoint's family is the
one whose layer sequence it has.
"""
from __future__ import annotations

import functools
import hashlib
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from ..models.arch_tables import FAMILIES, get_family, scaled_channels
from .fused_conv import unfold_fused_convs
from .pose26_head import POSE26_RENAMES, detect_pose26_head, pose26_config
from .safe_pickle import InertRecord, iter_module_records, record_tensors, safe_load_checkpoint

# Ultralytics class of each family's head layer, and where it goes (YOLO26: the head itself, for its flow).
_HEAD_LAYER: Mapping[str, str] = MappingProxyType({'26': 'Pose26'})
_DEFAULT_HEAD_LAYER = 'Pose'
_HEAD_DEST: Mapping[str, str] = MappingProxyType({'26': 'head'})


def ultralytics_layers(version: str) -> Tuple[Tuple[str, Optional[str]], ...]:
    """(Ultralytics class name, our destination) of every top-level layer of a family, in order.

    Destination None: a layer without parameters (Upsample / Concat).
    """
    family, _ = get_family(version, 'n')
    rows: List[Tuple[str, Optional[str]]] = [('Conv', 'backbone.stem')]
    for i, stage in enumerate(family.stages, start=1):
        rows.append(('Conv', f'backbone.stage{i}.0'))
        rows += [(b.kind, f'backbone.stage{i}.{j}') for j, b in enumerate(stage.blocks, start=1)]
    for j, b in enumerate(family.top_down):
        rows += [('Upsample', None), ('Concat', None), (b.kind, f'neck.top_down_blocks.{j}')]
    for j, b in enumerate(family.bottom_up):
        rows += [('Conv', f'neck.downsample_convs.{j}'), ('Concat', None), (b.kind, f'neck.bottom_up_blocks.{j}')]
    rows.append((_HEAD_LAYER.get(version, _DEFAULT_HEAD_LAYER), _HEAD_DEST.get(version, 'head.head_module')))
    return tuple(rows)


# Destination of each top-level Ultralytics layer, per family.
LAYER_MAP: Mapping[str, Tuple[Optional[str], ...]] = MappingProxyType(
    {v: tuple(dest for _, dest in ultralytics_layers(v)) for v in FAMILIES})
_LAYER_KINDS: Mapping[str, Tuple[str, ...]] = MappingProxyType(
    {v: tuple(kind for kind, _ in ultralytics_layers(v)) for v in FAMILIES})
_CONFIGS: Mapping[str, str] = MappingProxyType({
    'v8': 'configs/yolov8_pose/yolov8-pose-{}_8xb16-500e_coco-640x640.py',
    'v8-p6': 'configs/yolov8_pose/yolov8-pose-p6-{}_8xb16-500e_coco-1280x1280.py',
    '11': 'configs/yolo11_pose/yolo11-pose-{}_8xb16-600e_coco-640x640.py',
    '12': 'configs/yolo12_pose/yolo12-pose-{}_8xb16-600e_coco-640x640.py',
    '26': 'configs/yolo26_pose/yolo26-pose-{}_8xb16-600e_coco-640x640.py',
})

# Child renames by owning Ultralytics class (None: drop the child; it holds only fixed, derived weights).
CHILD_RENAMES: Mapping[str, Mapping[str, Optional[str]]] = MappingProxyType({
    'C2': {'cv1': 'pre_conv', 'cv2': 'post_conv', 'm': 'blocks'},
    'C2f': {'cv1': 'pre_conv', 'cv2': 'post_conv', 'm': 'blocks'},
    'C3k2': {'cv1': 'pre_conv', 'cv2': 'post_conv', 'm': 'blocks'},
    'C3k': {'cv1': 'main_conv', 'cv2': 'short_conv', 'cv3': 'final_conv', 'm': 'blocks'},
    'Bottleneck': {'cv1': 'conv1', 'cv2': 'conv2'},
    'SPPF': {'cv1': 'reduce_conv', 'cv2': 'fuse_conv'},
    'C2PSA': {'cv1': 'pre_conv', 'cv2': 'post_conv', 'm': 'blocks'},
    'Attention': {'pe': 'pos_enc'},
    'A2C2f': {'cv1': 'pre_conv', 'cv2': 'post_conv', 'm': 'blocks'},
    'ABlock': {'mlp': 'ffn'},
    'AAttn': {'pe': 'pos_enc'},
    'Pose': {'cv2': 'box_branch', 'cv3': 'cls_branch', 'cv4': 'kpt_branch', 'dfl': None},
    'Pose26': POSE26_RENAMES,
})
_PARAM_FREE = ('Upsample', 'Concat')


class ConversionError(ValueError):
    """The checkpoint does not match a supported YOLO pose architecture; the message names the file and layer."""

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path


def _names_the_file(convert):
    """Every ConversionError of ``convert(src)`` starts with ``src`` (the tools print it as is)."""
    @functools.wraps(convert)
    def wrapper(src: str):
        try:
            return convert(src)
        except ConversionError as e:
            if e.path is not None:
                raise
            message = str(e) if str(e).startswith(f'{src}:') else f'{src}: {e}'
            raise ConversionError(message, str(src)) from None
    return wrapper


@dataclass(frozen=True)
class DetectedArch:
    """Architecture read from an Ultralytics checkpoint.

    ``branches`` / ``with_rle`` (YOLO26 only): the head's branch sets and whether it has the training-only RLE
    parts; ``()`` means the family's full head.
    """

    version: str
    scale: str
    num_classes: int
    num_keypoints: int
    keypoint_dim: int
    branches: Tuple[str, ...] = ()
    with_rle: bool = True

    @property
    def config_name(self) -> str:
        """The yolopose_mm config matching this architecture (relative to the repository root)."""
        return _CONFIGS[self.version].format(self.scale)


def build_pose_network(arch: DetectedArch) -> nn.Module:
    """Backbone, neck and head of ``arch`` in an ``nn.Module`` whose state-dict keys match the estimator's."""
    from ..models import YOLO26PoseHead, YOLOBackbone, YOLOPAFPN, YOLOPoseHead

    net = nn.Module()
    net.backbone = YOLOBackbone(arch.version, arch.scale)
    net.neck = YOLOPAFPN(arch.version, arch.scale)
    if arch.version == '26':
        net.head = YOLO26PoseHead(arch.version, arch.scale, num_classes=arch.num_classes,
                                  num_keypoints=arch.num_keypoints, keypoint_dim=arch.keypoint_dim,
                                  branches=arch.branches or ('one2many', 'one2one'), with_rle=arch.with_rle)
    else:
        net.head = YOLOPoseHead(arch.version, arch.scale, num_classes=arch.num_classes,
                                num_keypoints=arch.num_keypoints, keypoint_dim=arch.keypoint_dim)
    return net


def _top_layers(model: InertRecord) -> List[InertRecord]:
    seq = (model.get('_modules') or {}).get('model')
    if not isinstance(seq, InertRecord):
        raise ConversionError('the checkpoint model has no `model` layer list; is it an Ultralytics YOLO model?')
    children = seq.get('_modules') or {}
    return [children[k] for k in sorted(children, key=int)]


def _detect_version(layers: List[InertRecord]) -> str:
    kinds = tuple(layer.record_name for layer in layers)
    heads = {_HEAD_LAYER.get(v, _DEFAULT_HEAD_LAYER) for v in FAMILIES}
    if not kinds or kinds[-1] not in heads:
        raise ConversionError(f'the last layer is {kinds[-1] if kinds else "missing"}, not Pose: only YOLO pose '
                              'models can be converted')
    for version, expected in _LAYER_KINDS.items():
        if kinds == expected:
            return version
    raise ConversionError(f'unknown layer layout ({len(layers)} layers: {", ".join(kinds)}); supported: '
                          'YOLOv8-pose (C2f), YOLOv8-pose-p6 (C2f + C2, P3-P6), YOLO11-pose (C3k2 + C2PSA) and '
                          'YOLO12-pose (C3k2 + A2C2f)')


def _renamed_tensors(layer: InertRecord, prefix: str) -> Dict[str, torch.Tensor]:
    out: Dict[str, torch.Tensor] = {}
    for path, record in iter_module_records(layer):
        parts = path.split('.') if path else []
        node, renamed, dropped = layer, [], False
        for part in parts:
            rename = CHILD_RENAMES.get(node.record_name, {})
            new = rename.get(part, part)
            if part in rename and new is None:
                dropped = True
                break
            renamed.append(new)
            node = (node.get('_modules') or {})[part]
        if dropped:
            continue
        for name, tensor in record_tensors(record).items():
            out['.'.join([prefix, *renamed, name])] = tensor
    return out


def _dfl_bins(head: InertRecord, reg_max: int) -> torch.Tensor:
    """The Pose layer's fixed DFL projection as our ``head.head_module.dfl_bins`` (checked to be 0..reg_max-1)."""
    bins = torch.arange(reg_max, dtype=torch.float)
    dfl = (head.get('_modules') or {}).get('dfl')
    weight = record_tensors((dfl.get('_modules') or {}).get('conv')).get('weight') if dfl is not None else None
    if weight is not None and not torch.equal(weight.float().view(-1), bins):
        raise ConversionError('layer Pose.dfl holds weights other than 0..reg_max-1; this is not a standard '
                              'YOLO pose head')
    return bins


def _detect_head(head: InertRecord) -> Tuple[int, int, int, int]:
    """(num_classes, K, dim, reg_max) from the Pose layer's weights and attributes."""
    t = _renamed_tensors(head, 'h')
    try:
        box_out = t['h.box_branch.0.2.weight'].shape[0]
        nc = t['h.cls_branch.0.2.weight'].shape[0]
        nk = t['h.kpt_branch.0.2.weight'].shape[0]
    except KeyError as e:
        raise ConversionError(f'layer Pose is missing {e.args[0][2:]}: not a YOLOv8/11 pose head') from None
    kpt_shape = head.get('kpt_shape')
    if kpt_shape is None or len(kpt_shape) != 2:
        kpt_shape = (nk // 3, 3) if nk % 3 == 0 and nk % 2 else None
    if kpt_shape is None or kpt_shape[0] * kpt_shape[1] != nk or kpt_shape[1] not in (2, 3):
        raise ConversionError(f'cannot tell the keypoint shape: the keypoint branch has {nk} outputs and the '
                              f'checkpoint stores kpt_shape={head.get("kpt_shape")}')
    return int(nc), int(kpt_shape[0]), int(kpt_shape[1]), int(box_out // 4)


def _candidate_scales(version: str, stem_width: int, hint: Optional[str]) -> List[str]:
    family, _ = get_family(version, 'n')
    names = [s for s, sc in family.scales.items() if scaled_channels(family.stem_channels, sc) == stem_width]
    if hint in names:
        names.remove(hint)
        names.insert(0, hint)
    return names


def _match(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor], layer_of: Dict[str, str]) -> str:
    """'' when ``state`` fits ``expected`` exactly, else a message naming the first layer that does not."""
    for key, value in expected.items():
        if key not in state:
            return f'{key} is missing from the checkpoint'
        if tuple(state[key].shape) != tuple(value.shape):
            return (f'{layer_of.get(key, "?")} -> {key}: checkpoint shape {tuple(state[key].shape)}, expected '
                    f'{tuple(value.shape)}')
    extra = sorted(set(state) - set(expected))
    if extra:
        return f'{layer_of.get(extra[0], "?")} -> {extra[0]} has no counterpart in the architecture'
    return ''


@_names_the_file
def convert_ultralytics_checkpoint(src: str) -> Tuple[Dict[str, Any], DetectedArch]:
    """Read an Ultralytics pose checkpoint safely and map it to yolopose_mm names.

    Args:
        src: path to the ``.pt`` file.

    Returns:
        (checkpoint dict with ``state_dict`` (fp32) and ``meta``, detected architecture).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the pickle asks for code (nothing is run).
        UnreadableCheckpointError (a ValueError): empty, truncated, corrupt or not a PyTorch checkpoint.
        ConversionError (a ValueError): not a supported architecture; the message names the layer that did not
            match.
    """
    ckpt = safe_load_checkpoint(src)
    if not isinstance(ckpt, dict):
        raise ConversionError(f'{src}: expected a checkpoint dict with a `model` or `ema` entry, got '
                              f'{type(ckpt).__name__}')
    model = ckpt.get('ema') if isinstance(ckpt.get('ema'), InertRecord) else ckpt.get('model')
    if not isinstance(model, InertRecord):
        raise ConversionError(f'{src}: no `model` or `ema` entry holding an Ultralytics model')
    layers = _top_layers(model)
    version = _detect_version(layers)
    state: Dict[str, torch.Tensor] = OrderedDict()
    layer_of: Dict[str, str] = {}
    for index, (layer, dest) in enumerate(zip(layers, LAYER_MAP[version])):
        if dest is None:
            if layer.record_name not in _PARAM_FREE or record_tensors(layer):
                raise ConversionError(f'layer model.{index} is {layer.record_name}; expected Upsample or Concat')
            continue
        tensors = _renamed_tensors(layer, dest)
        for key in tensors:
            layer_of[key] = f'layer model.{index} ({layer.record_name})'
        state.update(tensors)
    head_extra: Dict[str, Any] = {}
    if version == '26':
        found = detect_pose26_head(state, layers[-1].get('kpt_shape'), ConversionError)
        nc, k, dim = found.num_classes, found.num_keypoints, found.keypoint_dim
        head_extra = dict(branches=found.branches, with_rle=found.with_rle)
    else:
        nc, k, dim, reg_max = _detect_head(layers[-1])
        if reg_max != 16:
            raise ConversionError(f'layer Pose has reg_max={reg_max}; only reg_max=16 models are supported')
        state['head.head_module.dfl_bins'] = _dfl_bins(layers[-1], reg_max)
    stem = state.get('backbone.stem.conv.weight')
    if stem is None:
        raise ConversionError('layer model.0 (stem) has no conv weight')
    yaml_cfg = model.get('yaml') or {}
    candidates = _candidate_scales(version, int(stem.shape[0]), yaml_cfg.get('scale'))
    if not candidates:
        raise ConversionError(f'layer model.0 (stem) has {stem.shape[0]} channels, which matches no '
                              f'{version} scale')
    errors = []
    for scale in candidates:
        arch = DetectedArch(version, scale, nc, k, dim, **head_extra)
        expected = build_pose_network(arch).state_dict()
        candidate = OrderedDict(state)
        unfold_fused_convs(candidate, expected)  # an inference checkpoint with BatchNorm folded into its convs
        problem = _match(candidate, expected, layer_of)
        if not problem:
            state = OrderedDict((key, candidate[key].float().clone()) for key in expected)
            return {'state_dict': state, 'meta': _meta(src, ckpt, model, arch)}, arch
        errors.append(f'{version}-{scale}: {problem}')
    raise ConversionError('the weights match no known architecture: ' + '; '.join(errors))


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def coco_dataset_meta() -> Dict[str, Any]:
    """mmpose's COCO-17 metainfo (names, skeleton, colours, flip pairs, sigmas)."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    from ..datasets.yolo_metainfo import mmpose_dataset_config
    return parse_pose_metainfo(dict(from_file=mmpose_dataset_config('coco.py')))


def _arch_meta(arch: DetectedArch) -> Dict[str, Any]:
    """``arch`` as plain data; the head's branch sets / RLE parts only for YOLO26 (the one family that has them),
    as lists (a checkpoint's meta stays loadable with weights_only)."""
    meta = asdict(arch)
    if arch.version == '26':
        meta['branches'] = list(arch.branches or ('one2many', 'one2one'))
    else:
        del meta['branches'], meta['with_rle']
    return meta


def _meta(src: str, ckpt: Dict[str, Any], model: InertRecord, arch: DetectedArch) -> Dict[str, Any]:
    names = model.get('names')
    meta: Dict[str, Any] = {
        'converted_from': {
            'file': os.path.basename(src),
            'sha256': _sha256(src),
            'ultralytics_version': str(ckpt.get('version', '')),
            'date': str(ckpt.get('date', '')),
        },
        'arch': _arch_meta(arch),
        'config': arch.config_name,
        'cfg': _config_text(arch),
        'class_names': {int(i): str(n) for i, n in names.items()} if isinstance(names, dict) else None,
    }
    if arch.num_keypoints == 17:
        meta['dataset_meta'] = coco_dataset_meta()
    return meta


def _config_text(arch: DetectedArch) -> str:
    """The full config for ``arch`` as text (stored in ``meta['cfg']`` as mmengine does for its checkpoints)."""
    from mmengine.config import Config

    from ..utils import config_file
    cfg = Config.fromfile(str(config_file(arch.config_name)))
    head = cfg.model.head
    head.num_classes, head.num_keypoints, head.keypoint_dim = (arch.num_classes, arch.num_keypoints,
                                                               arch.keypoint_dim)
    if arch.version == '26':
        pose26_config(cfg, arch.branches, arch.with_rle)
    return cfg.pretty_text


def save_converted(src: str, dst: str) -> DetectedArch:
    """Convert ``src`` and write the mmengine checkpoint to ``dst``; returns the detected architecture."""
    from ..utils.atomic_file import atomic_torch_save
    converted, arch = convert_ultralytics_checkpoint(src)
    atomic_torch_save(converted, dst)  # a killed conversion never leaves a truncated dst
    return arch


__all__ = ['ConversionError', 'DetectedArch', 'convert_ultralytics_checkpoint', 'save_converted',
           'build_pose_network', 'coco_dataset_meta', 'LAYER_MAP', 'CHILD_RENAMES']
