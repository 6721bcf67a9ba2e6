# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Optimizer wrappers with Ultralytics' semantics: loss x world size, nominal-batch accumulation, mixed precision.

The one place where a YOLO loss becomes a gradient step, for any head that follows the YOLO loss convention (terms
already multiplied by the per-GPU batch):

* the loss is multiplied by the world size, so that DDP's gradient *average* over ranks becomes the *sum* of the
  ranks' gradients (Ultralytics' trainer does the same);
* gradients of several iterations are summed (never averaged) and the optimizer steps when ``iteration - last step
  >= accumulate``, with ``accumulate`` from the run's :class:`~yolopose_mm.engine.nominal_batch.NominalBatchPlan`
  (set by :class:`~yolopose_mm.engine.hooks.YOLOLrMomentumHook`, which knows the dataloader and the warmup);
* :class:`YOLOAmpOptimWrapper` adds ``torch.autocast`` (fp16 with a gradient scaler, or bf16) on CUDA and on CPU.
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterator, List, Optional, Union

import torch
from mmengine.dist import get_world_size
from mmengine.optim import OptimWrapper
from mmpose.registry import OPTIM_WRAPPERS
from torch import nn

from .nominal_batch import NominalBatchPlan

STATE_KEY = 'yolo_accumulation'
_DTYPES = {'float16': torch.float16, 'fp16': torch.float16, 'half': torch.float16,
           'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16}


@OPTIM_WRAPPERS.register_module()
class YOLOOptimWrapper(OptimWrapper):
    """``OptimWrapper`` with the YOLO loss scaling and nominal-batch accumulation.

    Args:
        optimizer: the optimizer (built by the constructor).
        nominal_batch: Ultralytics' ``nbs`` (64): images per optimizer step the recipe is tuned for. None steps
            every iteration and leaves the weight decay unscaled.
        scale_by_world_size: multiply the loss by the number of training processes (True for YOLO heads, whose
            terms are sums over the per-GPU batch; False for heads with mean losses).
        **kwargs: ``clip_grad`` etc., as for mmengine's ``OptimWrapper`` (``accumulative_counts`` is refused: its
            averaging is not Ultralytics' sum; use ``nominal_batch``).

    Attributes:
        plan: the run's :class:`NominalBatchPlan` (set by ``YOLOLrMomentumHook`` before training).
        last_step_iter: iteration of the last optimizer step (-1 before the first); saved in checkpoints together
            with gradients accumulated since then, so a resumed run continues exactly.
        stepped: whether the last :meth:`update_params` stepped the optimizer (the EMA hook updates only then).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, nominal_batch: Optional[int] = 64,
                 scale_by_world_size: bool = True, **kwargs) -> None:
        if kwargs.get('accumulative_counts', 1) != 1:
            raise ValueError(f'{type(self).__name__}: accumulative_counts averages gradients, Ultralytics sums them; '
                             'set optim_wrapper.nominal_batch (e.g. 64) instead')
        kwargs.pop('accumulative_counts', None)
        if nominal_batch is not None and (not isinstance(nominal_batch, int) or nominal_batch < 1):
            raise ValueError(f'{type(self).__name__}: nominal_batch must be a positive int (64) or None, got '
                             f'{nominal_batch!r}')
        super().__init__(optimizer=optimizer, **kwargs)
        self.nominal_batch = nominal_batch
        self.scale_by_world_size = bool(scale_by_world_size)
        self.plan: Optional[NominalBatchPlan] = None
        self.last_step_iter = -1
        self.stepped = False

    # ------------------------------------------------------------------------------------------------------
    def accumulate_now(self) -> int:
        """Iterations summed per step at the current iteration."""
        if self.nominal_batch is None:
            return 1
        if self.plan is None:
            raise RuntimeError(f'{type(self).__name__}(nominal_batch={self.nominal_batch}) takes its accumulation '
                               'from YOLOLrMomentumHook, which is not in custom_hooks; add '
                               "dict(type='YOLOLrMomentumHook') or set optim_wrapper.nominal_batch=None")
        return self.plan.accumulate_at(self._inner_count)

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """Backward of loss x world size; step and zero the gradients when the accumulation is complete."""
        it = self._inner_count
        accumulate = self.accumulate_now()
        if self.scale_by_world_size:
            loss = loss * get_world_size()
        self.backward(loss)
        self.stepped = it - self.last_step_iter >= accumulate
        if self.stepped:
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))
            self.last_step_iter = it

    def should_update(self) -> bool:
        """Whether the last ``update_params`` stepped (mmengine's query)."""
        return self.stepped

    def should_sync(self) -> bool:
        """Always all-reduce: every rank then holds the same accumulated gradient, which is what a checkpoint
        saves (Ultralytics synchronises every backward too)."""
        return True

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Start counting at the (resumed) iteration; no warning about batch norm: Ultralytics accumulates with it."""
        self._inner_count = init_counts
        self._max_counts = max_counts

    # ------------------------------------------------------------------------------------------------------
    def _params(self) -> List[nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group['params']]

    def state_dict(self) -> dict:
        state = super().state_dict()
        pending = None
        if self._inner_count - 1 != self.last_step_iter:  # gradients summed since the last step
            pending = [None if p.grad is None else p.grad.detach().cpu().clone() for p in self._params()]
        state[STATE_KEY] = dict(last_step_iter=self.last_step_iter, pending_grads=pending)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        acc = state_dict.pop(STATE_KEY, None)
        super().load_state_dict(state_dict)
        if acc is None:
            return
        self.last_step_iter = int(acc['last_step_iter'])
        pending = acc.get('pending_grads')
        if pending is not None:
            params = self._params()
            if len(pending) != len(params):
                raise ValueError(f'checkpoint holds accumulated gradients of {len(pending)} parameters, the optimizer '
                                 f'has {len(params)}: it was saved from a different model')
            for p, g in zip(params, pending):
                p.grad = None if g is None else g.to(device=p.device, dtype=p.dtype)


@OPTIM_WRAPPERS.register_module()
class YOLOAmpOptimWrapper(YOLOOptimWrapper):
    """:class:`YOLOOptimWrapper` with mixed precision, on CUDA and on CPU.

    The forward runs under ``torch.autocast(dtype)``; YOLO losses compute in fp32 anyway. fp16 uses a gradient
    scaler (``loss_scale``: 'dynamic', a float for a static scale, or a dict of ``torch.amp.GradScaler`` arguments);
    bf16 needs none (as in Ultralytics' ``amp='bf16'``). Unlike mmengine's ``AmpOptimWrapper`` this runs on CPU too
    (``torch.autocast('cpu')`` supports fp16 and bf16), which is how the tests check mixed precision without a GPU.

    Args:
        optimizer: the optimizer.
        dtype: 'float16' (default) or 'bfloat16' (also 'fp16', 'bf16', or a torch dtype).
        loss_scale: gradient-scaler settings for fp16.
        device_type: 'cuda' or 'cpu'; default: 'cuda' when a GPU is visible, else 'cpu'.
        **kwargs: as :class:`YOLOOptimWrapper`.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, dtype: Union[str, torch.dtype] = 'float16',
                 loss_scale: Union[str, float, dict] = 'dynamic', device_type: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(optimizer=optimizer, **kwargs)
        if isinstance(dtype, str):
            if dtype not in _DTYPES:
                raise ValueError(f'YOLOAmpOptimWrapper: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}')
            dtype = _DTYPES[dtype]
        if dtype not in (torch.float16, torch.bfloat16):
            raise ValueError(f'YOLOAmpOptimWrapper: dtype must be float16 or bfloat16, got {dtype}')
        self.cast_dtype = dtype
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        if self.device_type == 'cuda' and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            raise ValueError('YOLOAmpOptimWrapper: this GPU has no bfloat16 support; use --amp fp16')
        enabled = dtype == torch.float16
        self._static_scale: Optional[float] = None
        if loss_scale == 'dynamic':
            scaler_args: dict = {}
        elif isinstance(loss_scale, (int, float)):
            self._static_scale = float(loss_scale)
            scaler_args = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            scaler_args = dict(loss_scale)
        else:
            raise ValueError(f"YOLOAmpOptimWrapper: loss_scale must be 'dynamic', a number or a dict, got "
                             f'{loss_scale!r}')
        self.loss_scaler = torch.amp.GradScaler(self.device_type, enabled=enabled, **scaler_args)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._static_scale)

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model), torch.autocast(device_type=self.device_type, dtype=self.cast_dtype):
            yield

    def state_dict(self) -> dict:
        state = super().state_dict()
        state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler = state_dict.pop('loss_scaler', None)
        if scaler and self.loss_scaler.is_enabled():
            self.loss_scaler.load_state_dict(scaler)
        super().load_state_dict(state_dict)


__all__ = ['YOLOOptimWrapper', 'YOLOAmpOptimWrapper']
