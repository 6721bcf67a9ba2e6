# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The RealNVP flow of the residual log-likelihood (RLE) keypoint loss, as YOLO26-pose configures it."""
from __future__ import annotations

import math

import torch
from mmpose.models.utils.realnvp import RealNVP
from torch import nn


class RLEFlow(RealNVP):
    """mmpose's 2-D RealNVP (six alternating-mask coupling layers, 64-wide scale and translation nets) with SiLU
    activations, the variant YOLO26-pose trains.

    The density of the latent point is the standard normal in closed form, evaluated in fp32 (its square would
    overflow in fp16 under autocast); mmpose builds a ``MultivariateNormal`` from its ``loc`` / ``cov`` buffers
    for the same value. The buffers stay registered so checkpoints keep their keys.

    Shapes:
        log_prob: x (P, 2) -> (P,).
    """

    @staticmethod
    def get_scale_net() -> nn.Sequential:
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2), nn.Tanh())

    @staticmethod
    def get_trans_net() -> nn.Sequential:
        return nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 2))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log density (P,) of points x (P, 2) under the flow."""
        z, log_det = self.backward_p(x)
        return -0.5 * z.float().pow(2).sum(-1) - math.log(2 * math.pi) + log_det
