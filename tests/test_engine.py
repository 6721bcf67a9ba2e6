# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Training components: optimizer groups, lr/momentum schedule, ramped EMA, training transforms."""
from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets.transforms import YOLOFilterInstances, YOLOHSVRandomAug, YOLORandomFlip
from yolopose_mm.engine import CloseMosaicHook, YOLOLrMomentumHook, YOLOOptimWrapperConstructor, YOLORampEMA


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def _optim(model):
    ctor = YOLOOptimWrapperConstructor(dict(type='OptimWrapper', optimizer=dict(
        type='SGD', lr=0.01, momentum=0.937, nesterov=True, weight_decay=5e-4)))
    return ctor(model)


def test_optimizer_groups():
    model = _net()
    wrapper = _optim(model)
    biases, weights, norms = wrapper.optimizer.param_groups
    assert biases['is_bias'] and biases['weight_decay'] == 0 and len(biases['params']) == 2  # bn.bias + conv bias
    assert weights['weight_decay'] == 5e-4 and len(weights['params']) == 2
    assert norms['weight_decay'] == 0 and len(norms['params']) == 1
    assert all(g['initial_lr'] == 0.01 and g['initial_momentum'] == 0.937 for g in wrapper.optimizer.param_groups)
    with pytest.raises(ValueError, match='paramwise_cfg'):
        YOLOOptimWrapperConstructor(dict(optimizer=dict(type='SGD', lr=0.1)), dict(norm_decay_mult=0))


class _Loader(list):
    batch_size = 16


def _runner(wrapper, it, epoch, iters_per_epoch=50, max_epochs=10):
    return SimpleNamespace(optim_wrapper=wrapper, iter=it, epoch=epoch, max_epochs=max_epochs,
                           train_dataloader=_Loader([None] * iters_per_epoch))


def test_lr_momentum_schedule():
    wrapper = _optim(_net())
    hook = YOLOLrMomentumHook(warmup_epochs=3, warmup_min_iters=100, warmup_bias_lr=0.1, warmup_momentum=0.8,
                              lrf=0.01)
    hook.before_train_iter(_runner(wrapper, 0, 0), 0)
    bias, weights, _ = wrapper.optimizer.param_groups
    assert bias['lr'] == pytest.approx(0.1) and weights['lr'] == 0 and weights['momentum'] == pytest.approx(0.8)
    hook.before_train_iter(_runner(wrapper, 75, 1), 0)  # halfway through 150 warmup iterations, epoch 1
    target = 0.01 * ((1 - 1 / 10) * 0.99 + 0.01)
    assert weights['lr'] == pytest.approx(target / 2) and bias['lr'] == pytest.approx((0.1 + target) / 2)
    hook.before_train_iter(_runner(wrapper, 400, 8), 0)
    assert all(g['lr'] == pytest.approx(0.01 * ((1 - 8 / 10) * 0.99 + 0.01)) for g in wrapper.optimizer.param_groups)
    assert weights['momentum'] == pytest.approx(0.937)


def test_ramped_ema_formula():
    model = nn.Linear(2, 1)
    ema = YOLORampEMA(model, decay=0.9, tau=2.0)
    start = ema.module.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update_parameters(model)  # first update copies (mmengine), counts as step 0
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update_parameters(model)
    d = 0.9 * (1 - math.exp(-2 / 2.0))
    expected = (start + 1) * d + (start + 2) * (1 - d)
    assert torch.allclose(ema.module.weight, expected)
    with pytest.raises(ValueError, match='decay'):
        YOLORampEMA(model, decay=1.5)


def test_close_mosaic_hook_validation():
    with pytest.raises(ValueError, match='new_train_pipeline'):
        CloseMosaicHook(close_mosaic=5)
    assert CloseMosaicHook(close_mosaic=0).close_mosaic == 0


def test_filter_keeps_background_and_lists():
    results = dict(bbox=np.array([[0, 0, 10, 10], [5, 5, 6, 30]], np.float32), category_id=[1, 1],
                   keypoints=np.zeros((2, 17, 2), np.float32), keypoints_visible=np.ones((2, 17), np.float32))
    out = YOLOFilterInstances()(results)
    assert out['bbox'].shape == (1, 4) and out['category_id'] == [1] and out['keypoints'].shape == (1, 17, 2)
    empty = YOLOFilterInstances()(dict(bbox=np.array([[0, 0, 1, 1]], np.float32), category_id=[1],
                                       keypoints=np.zeros((1, 17, 2), np.float32)))
    assert empty is not None and empty['bbox'].shape == (0, 4)


def test_hsv_changes_colours_but_not_shape():
    np.random.seed(0)
    img = np.random.randint(0, 255, (32, 48, 3), np.uint8)
    out = YOLOHSVRandomAug()(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
    with pytest.raises(ValueError, match='hgain'):
        YOLOHSVRandomAug(hgain=2.0)


@pytest.mark.parametrize('shape', [(640, 640), (384, 640), (640, 608), (333, 500), (512, 509), (1280, 1280)])
def test_hsv_in_stripes_equals_one_pass(shape, monkeypatch):
    """Stripes of rows give the pixels of converting the whole image at once (OpenCV converts row by row; its
    scalar loop for a row's last pixels gives other HSV -> BGR values than its vector loop, so a cut inside a row
    would show)."""
    from yolopose_mm.datasets.transforms import color
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    np.random.seed(3)
    striped = YOLOHSVRandomAug()(dict(img=img.copy()))['img']
    if shape in ((640, 640), (512, 509), (1280, 1280)):
        assert color.stripe_rows(*shape) < shape[0]  # these are cut
    monkeypatch.setattr(color, 'STRIPE_PIXELS', 1 << 30)  # one stripe: the whole image
    np.random.seed(3)
    whole = YOLOHSVRandomAug()(dict(img=img.copy()))['img']
    assert color.stripe_rows(*shape) == shape[0] and np.array_equal(striped, whole)


def test_flip_without_flip_idx_is_skipped_with_a_warning():
    results = dict(img=np.zeros((8, 8, 3), np.uint8), img_shape=(8, 8), keypoints=np.ones((1, 3, 2), np.float32),
                   keypoints_visible=np.ones((1, 3), np.float32), bbox=np.array([[1, 1, 3, 3]], np.float32),
                   flip_indices=[])
    from yolopose_mm.utils import warn
    warn._WARNED.discard('flip-without-flip-idx')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = YOLORandomFlip(prob=1.0)(results)
        YOLORandomFlip(prob=1.0)(results)
    assert out['flip'] is False and np.array_equal(out['keypoints'], np.ones((1, 3, 2)))
    assert sum('flip_idx' in str(w.message) for w in caught) == 1  # once, not per sample
    flipped = YOLORandomFlip(prob=1.0)(dict(results, flip_indices=[0, 2, 1], keypoints=np.array(
        [[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], np.float32)))
    assert flipped['flip'] and flipped['keypoints'][0, 1, 1] == 3.0  # left/right swapped
