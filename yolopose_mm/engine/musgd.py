# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""MuSGD: SGD with momentum plus a Muon step (momentum orthogonalised by Newton-Schulz) on matrix-like weights.

The optimizer of Ultralytics' YOLO26 recipe (``optimizer='auto'`` picks it for runs over 10,000 iterations).
Registered in mmengine's ``OPTIMIZERS``, so any model's config can use it::

    optim_wrapper = dict(optimizer=dict(type='MuSGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4))

Muon: Keller Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024), whose quintic
Newton-Schulz coefficients (3.4445, -4.7750, 2.0315) are used here.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

import torch
from mmengine.registry import OPTIMIZERS

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def newton_schulz_orthogonalize(matrices: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """Approximately replace each matrix by the nearest semi-orthogonal one (U V^T of its SVD), in bfloat16.

    Five quintic Newton-Schulz iterations on the Frobenius-normalised matrix (transposed first when it has more
    rows than columns, so the Gram matrices are the small ones). The singular values land roughly in [0.5, 1.5],
    which is what Muon needs, not an exact orthogonalisation.

    Args:
        matrices: (M, R, C) or (R, C).
        steps: iterations.
        eps: guard of the normalisation.

    Returns:
        bfloat16 tensor of the input's shape.
    """
    if matrices.ndim not in (2, 3):
        raise ValueError(f'newton_schulz_orthogonalize: expected (R, C) or (M, R, C), got {tuple(matrices.shape)}')
    x = matrices.reshape(-1, *matrices.shape[-2:]).bfloat16()
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + eps)
    tall = matrices.shape[-2] > matrices.shape[-1]
    if tall:
        x = x.transpose(-2, -1)
    a, b, c = NS_COEFFICIENTS
    for _ in range(steps):
        gram = x @ x.transpose(-2, -1)
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)  # b * G + c * G @ G
        x = torch.baddbmm(x, poly, x, beta=a)  # a * X + P @ X
    if tall:
        x = x.transpose(-2, -1)
    return x.reshape(matrices.shape)


def _as_matrix(update: torch.Tensor) -> Tuple[torch.Tensor, Optional[Tuple[int, ...]]]:
    """A 2-D view (rows = first dim) of ``update`` in its own memory order, and the strides that restore it (None
    when the matrix had to be copied row-major)."""
    if update.is_contiguous():
        return (update.flatten(1) if update.ndim > 2 else update), update.stride()
    if update.ndim == 4 and update.is_contiguous(memory_format=torch.channels_last):
        return update.permute(0, 2, 3, 1).flatten(1), update.stride()
    return (update.flatten(1) if update.ndim > 2 else update).contiguous(), None


def muon_updates(grads: List[torch.Tensor], buffers: List[torch.Tensor], beta: float,
                 nesterov: bool) -> List[torch.Tensor]:
    """Muon directions for a list of matrix-like gradients; updates the momentum ``buffers`` in place.

    Momentum: ``m = beta * m + (1 - beta) * g``; the direction is the orthogonalised ``beta * m + (1 - beta) * g``
    (Nesterov) or ``m``, reshaped to (first dim, rest), scaled by ``sqrt(max(1, shape[-2] / shape[-1]))`` of the
    tensor's own shape. Matrices with the same column count (and scale) are orthogonalised together in one batched
    call: their rows are zero-padded to the tallest (zero rows stay zero), and a batch never mixes row counts more
    than 16x apart, which bounds the padding.

    Returns:
        one direction per gradient, with its shape and dtype.
    """
    torch._foreach_mul_(buffers, beta)
    torch._foreach_add_(buffers, grads, alpha=1 - beta)
    if nesterov:
        directions = list(torch._foreach_mul(buffers, beta))
        torch._foreach_add_(directions, grads, alpha=1 - beta)
    else:
        directions = list(buffers)
    batches: Dict[tuple, list] = {}
    for i, d in enumerate(directions):
        matrix, strides = _as_matrix(d)
        scale = max(1.0, grads[i].shape[-2] / grads[i].shape[-1]) ** 0.5
        batches.setdefault((matrix.shape[1], scale, matrix.device, matrix.dtype), []).append((i, matrix, strides))
    for (cols, scale, device, dtype), items in batches.items():
        items.sort(key=lambda item: -item[1].shape[0])
        start = 0
        for end in range(1, len(items) + 1):
            if end < len(items) and items[start][1].shape[0] <= 16 * items[end][1].shape[0]:
                continue
            chunk, start = items[start:end], end
            stacked = torch.zeros(len(chunk), chunk[0][1].shape[0], cols, device=device, dtype=dtype)
            for j, (_, matrix, _) in enumerate(chunk):
                stacked[j, :matrix.shape[0]] += matrix
            ortho = newton_schulz_orthogonalize(stacked).contiguous().to(grads[chunk[0][0]].dtype).mul_(scale)
            for j, (i, matrix, strides) in enumerate(chunk):
                rows = ortho[j, :matrix.shape[0]]
                shape = grads[i].shape
                directions[i] = rows.as_strided(shape, strides) if strides is not None else rows.reshape(shape)
    return directions


@OPTIMIZERS.register_module()
class MuSGD(torch.optim.Optimizer):
    """SGD (momentum, optional Nesterov, L2 weight decay) plus, on matrix-like parameters, a Muon step.

    A parameter on the Muon path gets ``p -= lr * muon_scale * muon_direction`` and then the SGD step at
    ``lr * sgd_scale`` from a second momentum buffer (weight decay only in the SGD part, computed after the Muon
    step); any other parameter gets the plain SGD step at ``lr``.

    Which parameters take the Muon path: a parameter group's ``use_muon`` (True / False), else this optimizer's
    ``use_muon``; ``None`` (default) means every 2-D and 4-D parameter (linear and convolution weights), so the
    optimizer works with any model and mmengine's default constructor. ``YOLOOptimWrapperConstructor`` builds the
    groups of the YOLO recipe.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        momentum: momentum of both buffers (Muon uses it as its beta).
        weight_decay: L2 weight decay of the SGD part.
        nesterov: Nesterov momentum in both parts.
        use_muon: True (every parameter of 2 or more dims) / False for every group without its own ``use_muon``,
            or None (2-D and 4-D parameters).
        muon_scale: learning-rate factor of the Muon step (0.2, the YOLO26 recipe).
        sgd_scale: learning-rate factor of the SGD step on Muon-path parameters (1.0).
    """

    def __init__(self, params: Union[Iterable[torch.Tensor], Iterable[dict]], lr: float = 1e-3,
                 momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 use_muon: Optional[bool] = None, muon_scale: float = 0.2, sgd_scale: float = 1.0) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f'MuSGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, '
                             f'{weight_decay}')
        if use_muon is not None and not isinstance(use_muon, bool):
            raise ValueError(f'MuSGD: use_muon must be True, False or None (2-D / 4-D parameters), got {use_muon!r}')
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                                      use_muon=use_muon))
        self.muon_scale = float(muon_scale)
        self.sgd_scale = float(sgd_scale)

    @staticmethod
    def _on_muon_path(group: dict, p: torch.Tensor) -> bool:
        flag = group.get('use_muon')
        return p.ndim in (2, 4) if flag is None else bool(flag) and p.ndim >= 2

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group['params'] if p.grad is not None]
            on_muon = [self._on_muon_path(group, p) for p in params]
            muon = [p for p, m in zip(params, on_muon) if m]
            plain = [p for p, m in zip(params, on_muon) if not m]
            for p, m in zip(params, on_muon):
                state = self.state[p]
                if not state:
                    state['momentum_buffer'] = torch.zeros_like(p)
                    if m:
                        state['momentum_buffer_sgd'] = torch.zeros_like(p)
            lr, momentum, nesterov = group['lr'], group['momentum'], group['nesterov']
            if muon:
                directions = muon_updates([p.grad for p in muon], [self.state[p]['momentum_buffer'] for p in muon],
                                          momentum, nesterov)
                torch._foreach_add_(muon, directions, alpha=-lr * self.muon_scale)
                self._sgd(muon, [self.state[p]['momentum_buffer_sgd'] for p in muon], group, lr * self.sgd_scale)
            if plain:
                self._sgd(plain, [self.state[p]['momentum_buffer'] for p in plain], group, lr)
        return loss

    @staticmethod
    def _sgd(params: List[torch.Tensor], buffers: List[torch.Tensor], group: dict, lr: float) -> None:
        grads = [p.grad for p in params]
        if group['weight_decay'] != 0:
            grads = torch._foreach_add(grads, params, alpha=group['weight_decay'])
        momentum = group['momentum']
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_add_(buffers, grads)
        steps = torch._foreach_add(grads, buffers, alpha=momentum) if group['nesterov'] else buffers
        torch._foreach_add_(params, steps, alpha=-lr)


__all__ = ['MuSGD', 'muon_updates', 'newton_schulz_orthogonalize']
