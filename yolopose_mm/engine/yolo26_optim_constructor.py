# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The YOLO parameter groups plus per-name learning-rate multipliers (YOLO26's MuSGD recipe: class branches x3)."""
from __future__ import annotations

from typing import Dict, Optional

from mmengine.optim import OptimWrapper
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from .yolo_optim_constructor import YOLOOptimWrapperConstructor


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class YOLO26OptimWrapperConstructor(YOLOOptimWrapperConstructor):
    """:class:`YOLOOptimWrapperConstructor`'s groups, each split in two: the parameters whose name contains a key
    of ``paramwise_cfg.lr_mult`` get ``lr x multiplier`` (also in ``initial_lr``, so the schedule keeps the
    factor), the others keep the group's lr.

    YOLO26's recipe trains the class branches of both branch sets at 3x the lr with MuSGD::

        optim_wrapper = dict(constructor='YOLO26OptimWrapperConstructor',
                             optimizer=dict(type='MuSGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
                             paramwise_cfg=dict(lr_mult=dict(cls_branch=3.0)))

    With MuSGD, the weight group's linear and convolution weights take the Muon path (its ``use_muon=None``).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        lr_mult = dict(paramwise_cfg.pop('lr_mult', {}) or {})
        if paramwise_cfg:
            raise ValueError(f'YOLO26OptimWrapperConstructor: paramwise_cfg takes only lr_mult (a dict of name part '
                             f'-> lr multiplier), got {sorted(paramwise_cfg)}')
        for key, value in lr_mult.items():
            if not isinstance(key, str) or not key or float(value) <= 0:
                raise ValueError(f'YOLO26OptimWrapperConstructor: lr_mult needs non-empty name parts and positive '
                                 f'multipliers, got {key!r}: {value!r}')
        super().__init__(optim_wrapper_cfg, None)
        self.lr_mult: Dict[str, float] = {k: float(v) for k, v in lr_mult.items()}

    def __call__(self, model: nn.Module) -> OptimWrapper:
        wrapper = super().__call__(model)
        if not self.lr_mult:
            return wrapper
        module = model.module if hasattr(model, 'module') else model
        factor = {}
        for name, param in module.named_parameters():
            hits = [v for k, v in self.lr_mult.items() if k in name]
            if hits:
                factor[id(param)] = hits[0]
        optimizer = wrapper.optimizer
        groups = list(optimizer.param_groups)
        optimizer.param_groups = []
        for group in groups:
            rest = {k: v for k, v in group.items() if k != 'params'}
            boosted: Dict[float, list] = {}
            plain = []
            for p in group['params']:
                if id(p) in factor:
                    boosted.setdefault(factor[id(p)], []).append(p)
                else:
                    plain.append(p)
            for mult, params in boosted.items():
                optimizer.param_groups.append({**rest, 'params': params, 'lr': group['lr'] * mult,
                                               'initial_lr': group['initial_lr'] * mult})
            if plain:
                optimizer.param_groups.append({**rest, 'params': plain})
        return wrapper
