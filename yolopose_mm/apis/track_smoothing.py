# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Keypoint smoothing along a track: the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012).

A low-pass filter whose cut-off frequency rises with the speed of the signal: a still keypoint is smoothed a lot
(jitter goes), a fast one little (no lag). Each coordinate of each keypoint of each track is filtered on its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict

import numpy as np


def _alpha(cutoff: np.ndarray, dt: float) -> np.ndarray:
    """Smoothing factor of an exponential filter with cut-off ``cutoff`` (Hz) for a time step ``dt`` (s)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


@dataclass
class _State:
    t: float
    value: np.ndarray  # (K, 2) filtered keypoints
    speed: np.ndarray  # (K, 2) filtered derivative, pixels per second


class KeypointSmoother:
    """One-Euro filter over the keypoints of every track.

    Args:
        min_cutoff: cut-off frequency (Hz) of a still keypoint; lower = smoother, more lag.
        beta: how fast the cut-off rises with speed (per pixel/s); higher = less lag on fast motion.
        d_cutoff: cut-off frequency (Hz) of the speed estimate.
        max_gap_s: a track unseen for longer than this (seconds) starts afresh when it comes back.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0,
                 max_gap_s: float = 1.0) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0 and max_gap_s > 0):
            raise ValueError(f'KeypointSmoother: need min_cutoff > 0, d_cutoff > 0, beta >= 0, max_gap_s > 0; got '
                             f'{min_cutoff}, {d_cutoff}, {beta}, {max_gap_s}')
        self.min_cutoff, self.beta, self.d_cutoff, self.max_gap_s = min_cutoff, beta, d_cutoff, max_gap_s
        self._states: Dict[int, _State] = {}

    def __call__(self, track_ids: np.ndarray, keypoints: np.ndarray, t: float) -> np.ndarray:
        """Filter one frame.

        Args:
            track_ids: (M,) track of each person.
            keypoints: (M, K, 2) keypoints in pixels.
            t: the frame's time in seconds (increasing).

        Returns:
            (M, K, 2) smoothed keypoints (float32); a track's first frame is returned as it is.
        """
        out = np.array(keypoints, dtype=np.float32, copy=True)
        for i, tid in enumerate(np.asarray(track_ids).tolist()):
            x = out[i].astype(np.float64)
            state = self._states.get(tid)
            dt = t - state.t if state is not None else 0.0
            if state is None or not 0.0 < dt <= self.max_gap_s or state.value.shape != x.shape:
                self._states[tid] = _State(t, x, np.zeros_like(x))
                continue
            speed = (x - state.value) / dt
            speed_hat = state.speed + _alpha(self.d_cutoff, dt) * (speed - state.speed)
            cutoff = self.min_cutoff + self.beta * np.abs(speed_hat)
            x_hat = state.value + _alpha(cutoff, dt) * (x - state.value)
            self._states[tid] = _State(t, x_hat, speed_hat)
            out[i] = x_hat
        for tid in [k for k, s in self._states.items() if t - s.t > self.max_gap_s]:
            del self._states[tid]  # tracks gone for good do not accumulate
        return out
