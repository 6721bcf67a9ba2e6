# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from .area_attention import A2C2f, AreaAttention, AreaAttentionBlock
from .bottleneck import Bottleneck
from .conv import ConvBNAct, DWConv
from .csp_blocks import C2, C2f, C3k, C3k2
from .psa import C2PSA, PositionSensitiveAttention, PSABlock
from .realnvp import RLEFlow
from .sppf import SPPF

__all__ = ['ConvBNAct', 'DWConv', 'Bottleneck', 'C2', 'C2f', 'C3k', 'C3k2', 'SPPF', 'PositionSensitiveAttention',
           'PSABlock', 'C2PSA', 'AreaAttention', 'AreaAttentionBlock', 'A2C2f', 'RLEFlow']
