# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics-style matching and AP: same numbers as Ultralytics' own functions on random and edge-case inputs."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from yolopose_mm.evaluation import (box_iou_matrix, image_true_positives, match_greedy, oks_matrix,
                                    summarize_detections)
from yolopose_mm.evaluation.yolo_ap import IOU_THRESHOLDS, average_precision_101


def _boxes(rng, n, size=200.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(5, 80, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def test_iou_and_oks_equal_ultralytics(ultralytics):
    import torch
    from ultralytics.utils.metrics import OKS_SIGMA, box_iou, kpt_iou
    rng = np.random.default_rng(0)
    g, p = _boxes(rng, 7), _boxes(rng, 11)
    ref = box_iou(torch.tensor(g), torch.tensor(p)).numpy()
    np.testing.assert_allclose(box_iou_matrix(g, p), ref, atol=1e-6)

    gk = rng.uniform(0, 200, (7, 17, 3))
    gk[..., 2] = rng.integers(0, 3, (7, 17))
    gk[0, :, 2] = 0  # a person with no labelled keypoint
    pk = rng.uniform(0, 200, (11, 17, 2))
    area = rng.uniform(100, 5000, 7)
    ref = kpt_iou(torch.tensor(gk), torch.tensor(pk), torch.tensor(area), OKS_SIGMA).numpy()
    ours = oks_matrix(gk[..., :2], gk[..., 2], area, pk, OKS_SIGMA)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert np.all(ours[0] == 0)


@pytest.mark.parametrize('seed', range(5))
def test_matching_equals_ultralytics(seed, ultralytics):
    import torch
    from ultralytics.engine.validator import BaseValidator
    rng = np.random.default_rng(seed)
    g, d = int(rng.integers(1, 8)), int(rng.integers(1, 15))
    sim = rng.uniform(0, 1, (g, d)) ** 0.5
    gt_cls = rng.integers(0, 2, g)
    pred_cls = rng.integers(0, 2, d)
    host = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
    ref = BaseValidator.match_predictions(host, torch.tensor(pred_cls), torch.tensor(gt_cls), torch.tensor(sim))
    np.testing.assert_array_equal(match_greedy(sim, gt_cls, pred_cls), ref.numpy())


def test_image_true_positives_sorts_by_score():
    sim = np.array([[0.9, 0.8]])  # one person, two detections; the better-scored one takes it where it can
    tp = image_true_positives(np.array([1]), np.array([1, 1]), np.array([0.2, 0.7]), sim)
    np.testing.assert_array_equal(tp[1], IOU_THRESHOLDS <= 0.8 + 1e-9)
    np.testing.assert_array_equal(tp[0], (IOU_THRESHOLDS > 0.8 + 1e-9) & (IOU_THRESHOLDS <= 0.9 + 1e-9))
    assert image_true_positives(np.array([]), np.array([1]), np.array([0.5]), None).shape == (1, 10)


@pytest.mark.parametrize('seed', range(6))
def test_ap_p_r_equal_ultralytics(seed, ultralytics):
    from ultralytics.utils.metrics import ap_per_class, compute_ap
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    tp = rng.uniform(0, 1, (n, 10)) < np.linspace(0.8, 0.2, 10)
    conf = rng.uniform(0, 1, n)
    pred_cls = rng.integers(0, 3, n)
    target_cls = rng.integers(0, 3 if seed % 2 else 2, int(rng.integers(1, 100)))  # a class without targets too
    ref = ap_per_class(tp, conf, pred_cls, target_cls)
    ours = summarize_detections(tp, conf, pred_cls, target_cls)
    p, r, ap = ref[2], ref[3], ref[5]
    assert ours.precision == pytest.approx(p.mean(), abs=1e-12)
    assert ours.recall == pytest.approx(r.mean(), abs=1e-12)
    assert ours.map50 == pytest.approx(ap[:, 0].mean(), abs=1e-12)
    assert ours.map50_95 == pytest.approx(ap.mean(), abs=1e-12)
    rec = np.sort(rng.uniform(0, 1, 20))
    prec = rng.uniform(0, 1, 20)
    assert average_precision_101(rec, prec) == pytest.approx(compute_ap(rec, prec)[0], abs=1e-12)


def test_edge_cases_give_numbers():
    # no predictions at all
    s = summarize_detections(np.zeros((0, 10), bool), np.zeros(0), np.zeros(0), np.array([1, 1]))
    assert (s.precision, s.recall, s.map50, s.map50_95) == (0.0, 0.0, 0.0, 0.0)
    # no ground truth at all
    s = summarize_detections(np.zeros((3, 10), bool), np.ones(3), np.ones(3), np.zeros(0))
    assert (s.map50, s.map50_95) == (0.0, 0.0)
    # one perfect detection
    s = summarize_detections(np.ones((1, 10), bool), np.array([0.9]), np.array([1]), np.array([1]))
    # the 101-point trapezoid with the (recall 1, precision 0) sentinel gives 0.995, as in Ultralytics
    assert s.map50_95 == pytest.approx(0.995) and s.recall == pytest.approx(1.0)
    assert len(IOU_THRESHOLDS) == 10
