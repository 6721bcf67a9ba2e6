# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Three parameter groups as in the YOLO recipe: biases (no decay), norm weights (no decay), other weights."""
from __future__ import annotations

from typing import List, Optional

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class YOLOOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build the optimizer with groups ``[biases, weights with decay, norm weights]``.

    Biases and normalisation weights get no weight decay; the bias group is marked ``is_bias`` for the warmup of
    :class:`~yolopose_mm.engine.hooks.YOLOLrMomentumHook`. Every group records ``initial_lr`` (and
    ``initial_momentum``, ``initial_weight_decay``) so the schedule can be recomputed exactly after a resume. Frozen
    parameters are left out.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg:
            raise ValueError('YOLOOptimWrapperConstructor sets its own groups; remove optim_wrapper.paramwise_cfg')
        super().__init__(optim_wrapper_cfg, None)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        cfg = self.optim_wrapper_cfg.copy()
        wrapper_type = cfg.pop('type', 'OptimWrapper')
        opt_cfg = self.optimizer_cfg.copy()
        decay = opt_cfg.get('weight_decay', 0.0)
        biases: List[nn.Parameter] = []
        weights: List[nn.Parameter] = []
        norms: List[nn.Parameter] = []
        for module in model.modules():
            for name, param in module.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                if 'bias' in name:
                    biases.append(param)
                elif isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
                    norms.append(param)
                else:
                    weights.append(param)
        opt_cfg['params'] = [
            dict(params=biases, weight_decay=0.0, is_bias=True),
            dict(params=weights, weight_decay=decay),
            dict(params=norms, weight_decay=0.0),
        ]
        optimizer = OPTIMIZERS.build(opt_cfg)
        for group in optimizer.param_groups:
            group['initial_lr'] = group['lr']
            group['initial_weight_decay'] = group.get('weight_decay', 0.0)  # scaled by the nominal batch later
            if 'momentum' in group:
                group['initial_momentum'] = group['momentum']
            elif 'betas' in group:
                group['initial_momentum'] = group['betas'][0]
        return OPTIM_WRAPPERS.build(dict(type=wrapper_type, optimizer=optimizer, **cfg))
