# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Tracker settings: a name (``configs/trackers/<name>.py``), a config file or a dict, checked with one-line errors."""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from mmengine.config import Config

TRACKER_NAMES = ('bytetrack', 'ocsort')
SUPPORTED_TYPES = ('ByteTracker', 'OCSORTTracker')
SMOOTHING_DEFAULTS = {'min_cutoff': 1.0, 'beta': 0.01, 'd_cutoff': 1.0}

# What each setting must be: a score / IoU / weight in [0, 1], a whole number >= 1, or a bool.
_FRACTIONS = {'obj_score_thrs.high', 'obj_score_thrs.low', 'init_track_thr', 'match_iou_thrs.high',
              'match_iou_thrs.low', 'match_iou_thrs.tentative', 'obj_score_thr', 'match_iou_thr',
              'vel_consist_weight'}
_COUNTS = {'num_frames_retain', 'num_tentatives', 'vel_delta_t'}
_BOOLS = {'weight_iou_with_det_scores'}
_KEYS = {  # the settings each supported mmdet tracker takes (nested dicts as dotted keys)
    'ByteTracker': {'type', 'motion', 'obj_score_thrs.high', 'obj_score_thrs.low', 'init_track_thr',
                    'weight_iou_with_det_scores', 'match_iou_thrs.high', 'match_iou_thrs.low',
                    'match_iou_thrs.tentative', 'num_tentatives', 'num_frames_retain'},
    'OCSORTTracker': {'type', 'motion', 'obj_score_thr', 'init_track_thr', 'weight_iou_with_det_scores',
                      'match_iou_thr', 'num_tentatives', 'vel_consist_weight', 'vel_delta_t', 'num_frames_retain'},
}


class TrackerConfigError(ValueError):
    """A bad tracker name or setting; the message is one line that names it and how to fix it."""


@dataclass(frozen=True)
class TrackerSettings:
    """Checked tracker settings.

    Attributes:
        name: the tracker's name (``'bytetrack'``, ``'ocsort'`` or the config file's stem).
        tracker: the mmdet tracker config (``type`` ``ByteTracker`` or ``OCSORTTracker``), a private copy.
        smoothing: One-Euro parameters (``min_cutoff``, ``beta``, ``d_cutoff``) or None (no smoothing).
        detect_score_thr: the lowest score the tracker looks at; people are detected down to it.
    """

    name: str
    tracker: Dict[str, Any]
    smoothing: Optional[Dict[str, float]]
    detect_score_thr: float


def _flatten(cfg: Mapping[str, Any], prefix: str = '') -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in cfg.items():
        name = f'{prefix}{key}'
        if isinstance(value, Mapping) and key != 'motion':
            out.update(_flatten(value, f'{name}.'))
        else:
            out[name] = value
    return out


def _nest(flat: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split('.')
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = copy.deepcopy(value)
    return out


def _read(tracker: Union[str, os.PathLike, Mapping[str, Any], Config]) -> Tuple[str, Dict[str, Any], Any]:
    """(name, tracker dict, smoothing) of a tracker name, config file, Config or dict."""
    if isinstance(tracker, Config):
        tracker = tracker.to_dict()
    if isinstance(tracker, Mapping):
        body = dict(tracker)
        if 'tracker' in body:  # a whole tracker config as a dict: {'tracker': {...}, 'smoothing': ...}
            inner = body['tracker']
            if not isinstance(inner, Mapping):
                raise TrackerConfigError(f"tracker config: 'tracker' must be a dict(type=...), got {inner!r}")
            return str(inner.get('type', 'tracker')), dict(inner), body.get('smoothing')
        return str(body.get('type', 'tracker')), body, None
    if not isinstance(tracker, (str, os.PathLike)):
        raise TrackerConfigError(f'tracker must be a name ({" or ".join(TRACKER_NAMES)}), a tracker config file or '
                                 f'a dict, got {type(tracker).__name__}')
    text = str(tracker)
    if text in TRACKER_NAMES:
        from ..utils import configs_root
        path = configs_root() / 'trackers' / f'{text}.py'
    elif text.endswith('.py'):
        path = Path(text)
        if not path.is_file():
            raise TrackerConfigError(f'tracker config not found: {text}')
    else:
        raise TrackerConfigError(f"unknown tracker '{text}'; choose {' or '.join(TRACKER_NAMES)}, or give a "
                                 'tracker config file (see configs/trackers/)')
    try:
        cfg = Config.fromfile(str(path))
    except Exception as e:  # a syntax error or a bad _base_ in the user's file
        raise TrackerConfigError(f'cannot read tracker config {path}: {type(e).__name__}: '
                                 f'{str(e).splitlines()[0] if str(e) else ""}') from e
    if not isinstance(cfg.get('tracker'), Mapping):
        raise TrackerConfigError(f'tracker config {path} has no `tracker = dict(type=...)`; see configs/trackers/')
    name = text if text in TRACKER_NAMES else path.stem
    return name, cfg.to_dict()['tracker'], cfg.to_dict().get('smoothing')


def _mmdet_defaults(kind: str) -> Dict[str, Any]:
    """The default settings of an mmdet tracker class (its ``__init__`` and BaseTracker's), flattened."""
    import inspect

    from mmdet.models.trackers import BaseTracker, ByteTracker, OCSORTTracker
    cls = {'ByteTracker': ByteTracker, 'OCSORTTracker': OCSORTTracker}[kind]
    out: Dict[str, Any] = {}
    for fn in (BaseTracker.__init__, cls.__init__):
        for key, param in inspect.signature(fn).parameters.items():
            if param.default is not inspect.Parameter.empty and param.default is not None:
                out[key] = copy.deepcopy(param.default)
    return {k: v for k, v in _flatten(out).items() if k in _KEYS[kind]}


def _check_value(name: str, key: str, value: Any) -> None:
    def bad(what: str) -> TrackerConfigError:
        return TrackerConfigError(f'{name} setting {key} must be {what}, got {value!r}')

    if key in _FRACTIONS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise bad('a number within [0, 1]')
    elif key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad('a whole number >= 1')
    elif key in _BOOLS:
        if not isinstance(value, bool):
            raise bad('True or False')
    elif key == 'motion':
        if not isinstance(value, Mapping) or 'type' not in value:
            raise bad("an mmdet motion config such as dict(type='KalmanFilter')")


def check_smoothing(smoothing: Any, base: Any = None) -> Optional[Dict[str, float]]:
    """The One-Euro parameters to use, or None for no smoothing.

    Args:
        smoothing: None (use ``base`` as it is), False (off), True (on, with ``base``'s parameters or the
            defaults) or a dict of ``min_cutoff`` / ``beta`` / ``d_cutoff`` over ``base``'s (on unless it says
            ``enabled=False``).
        base: the config file's ``smoothing`` dict (``enabled`` and parameters) or None.

    Raises:
        TrackerConfigError: unknown keys, or values that are not numbers > 0 (``beta`` >= 0).
    """
    for what, value in (('smoothing', smoothing), ("the config's smoothing", base)):
        if value is not None and not isinstance(value, (bool, Mapping)):
            raise TrackerConfigError(f'{what} must be None, True, False or a dict of {sorted(SMOOTHING_DEFAULTS)}'
                                     f', got {value!r}')
    base = dict(base) if isinstance(base, Mapping) else {}
    enabled = bool(base.pop('enabled', bool(base)))
    if smoothing is not None:
        if isinstance(smoothing, Mapping):
            smoothing = dict(smoothing)
            enabled = bool(smoothing.pop('enabled', True))
            base.update(smoothing)
        else:
            enabled = bool(smoothing)
    unknown = sorted(set(base) - set(SMOOTHING_DEFAULTS))
    if unknown:
        raise TrackerConfigError(f'unknown smoothing setting(s) {unknown}; valid: '
                                 f'{["enabled"] + sorted(SMOOTHING_DEFAULTS)}')
    out = {**SMOOTHING_DEFAULTS, **base}
    for key, value in out.items():
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            value >= 0 if key == 'beta' else value > 0)
        if not ok:
            raise TrackerConfigError(f'smoothing setting {key} must be a number {">= 0" if key == "beta" else "> 0"}'
                                     f', got {value!r}')
    return {k: float(v) for k, v in out.items()} if enabled else None


def load_tracker_config(tracker: Union[str, os.PathLike, Mapping[str, Any], Config] = 'bytetrack',
                        smoothing: Any = None, **overrides: Any) -> TrackerSettings:
    """Read and check tracker settings; the caller's dicts are never changed.

    Args:
        tracker: ``'bytetrack'`` / ``'ocsort'`` (``configs/trackers/<name>.py``), a tracker config file (``.py``
            with ``tracker = dict(type='ByteTracker' | 'OCSORTTracker', ...)`` and optionally ``smoothing``), or
            the ``tracker`` dict itself.
        smoothing: None (the config's ``smoothing``, off in the shipped configs), False (off), True (on, with the
            config's parameters) or a dict of ``min_cutoff`` (Hz), ``beta``, ``d_cutoff`` (Hz) (on, over the
            config's); see :func:`check_smoothing`.
        **overrides: settings of the mmdet tracker, e.g. ``num_frames_retain=60``; nested ones as a dict
            (``obj_score_thrs=dict(high=0.5)``, merged) or dotted (``**{'obj_score_thrs.high': 0.5}``).

    Raises:
        TrackerConfigError: an unknown name, file or setting, or a value out of range (one line).
    """
    name, body, file_smoothing = _read(tracker)
    kind = body.get('type')
    if kind not in SUPPORTED_TYPES:
        raise TrackerConfigError(f'{name}: tracker type {kind!r} is not supported; use one of {SUPPORTED_TYPES} '
                                 '(mmdet 3.3 trackers that need no re-identification model)')
    flat = _flatten(body)
    flat.update(_flatten(overrides))
    valid = _KEYS[kind]
    unknown = sorted(set(flat) - valid)
    if unknown:
        raise TrackerConfigError(f'unknown {name} setting(s) {unknown}; valid: {sorted(valid - {"type"})}')
    for key, value in _mmdet_defaults(kind).items():  # what the config leaves out, mmdet's own default
        flat.setdefault(key, value)
    flat.setdefault('motion', {'type': 'KalmanFilter'})
    for key, value in flat.items():
        _check_value(name, key, value)
    if kind == 'ByteTracker':
        if flat['obj_score_thrs.low'] > flat['obj_score_thrs.high']:
            raise TrackerConfigError(f'{name}: obj_score_thrs.low ({flat["obj_score_thrs.low"]}) must not exceed '
                                     f'obj_score_thrs.high ({flat["obj_score_thrs.high"]})')
        lowest = min(flat['obj_score_thrs.low'], flat['init_track_thr'])
    else:
        lowest = min(flat['obj_score_thr'], flat['init_track_thr'])
    smooth = check_smoothing(smoothing, file_smoothing)
    return TrackerSettings(name=name, tracker=_nest(flat), smoothing=smooth, detect_score_thr=float(lowest))
