# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""NMS on any device: mmcv's kernel where it has one, torchvision's batched_nms (imported only then) elsewhere,
keeping the same boxes in the same order."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from yolopose_mm.models.utils import filter_and_nms
from yolopose_mm.models.utils import nms as nms_module

REPO = Path(__file__).resolve().parents[1]


def _cases(n_cases=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    for i in range(n_cases):
        n = int(torch.randint(1, 300, (1,), generator=g))
        xy = torch.rand(n, 2, generator=g) * 300
        boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 100 + 1], 1)
        scores = torch.rand(n, 3, generator=g)
        if i % 2:
            scores = (scores * 4).round() / 4  # many ties: ranked by index
        yield boxes, scores, float(torch.rand(1, generator=g))


def test_probe_detects_a_device_without_an_mmcv_kernel(monkeypatch):
    """mmcv's CPU-only build has no kernel for 'meta' tensors: the probe sees mmcv's real 'not found' error."""
    monkeypatch.setattr(nms_module, '_MMCV_NMS_DEVICES', {'cpu': True})
    assert nms_module.mmcv_has_nms_kernel(torch.device('cpu'))
    assert not nms_module.mmcv_has_nms_kernel(torch.device('meta'))
    assert nms_module._MMCV_NMS_DEVICES == {'cpu': True, 'meta': False}


def test_torchvision_fallback_keeps_the_same_boxes_in_the_same_order(monkeypatch):
    """With mmcv's kernel marked absent for the device, torchvision's batched_nms gives mmcv's kept list."""
    for boxes, scores, thr in _cases():
        monkeypatch.setattr(nms_module, '_MMCV_NMS_DEVICES', {'cpu': True})
        ours = filter_and_nms(boxes, scores, 0.1, thr, 300)
        monkeypatch.setattr(nms_module, '_MMCV_NMS_DEVICES', {'cpu': False})
        fallback = filter_and_nms(boxes, scores, 0.1, thr, 300)
        assert fallback.indices.tolist() == ours.indices.tolist()
        assert torch.equal(fallback.scores, ours.scores) and torch.equal(fallback.labels, ours.labels)
    empty = filter_and_nms(boxes, torch.zeros_like(scores), 0.25, 0.7, 300)
    assert empty.indices.numel() == 0


def test_torchvision_is_imported_only_for_the_fallback():
    code = ('import sys, torch\n'
            'from yolopose_mm.models.utils import nms\n'
            'b = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]]); s = torch.tensor([[0.9], [0.8]])\n'
            'nms.filter_and_nms(b, s, 0.1, 0.5, 10)\n'
            'print("torchvision" in sys.modules)\n'
            'nms._MMCV_NMS_DEVICES["cpu"] = False\n'
            'print(nms.filter_and_nms(b, s, 0.1, 0.5, 10).indices.tolist(), "torchvision" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ['False', '[0]', 'True']


@pytest.mark.gpu
def test_nms_on_cuda_equals_cpu(monkeypatch):
    """CUDA tensors: mmcv's CUDA kernel if this mmcv build has one, else torchvision's; both equal the CPU result
    (the torchvision path is also forced, so a CPU-only mmcv is covered on any GPU machine)."""
    dev = torch.device('cuda:0')
    print('mmcv has a CUDA NMS kernel:', nms_module.mmcv_has_nms_kernel(dev))
    for boxes, scores, thr in _cases(20, seed=1):
        ref = filter_and_nms(boxes, scores, 0.1, thr, 300)
        got = filter_and_nms(boxes.to(dev), scores.to(dev), 0.1, thr, 300)
        assert got.indices.device.type == 'cuda' and got.indices.cpu().tolist() == ref.indices.tolist()
        monkeypatch.setitem(nms_module._MMCV_NMS_DEVICES, 'cuda', False)
        forced = filter_and_nms(boxes.to(dev), scores.to(dev), 0.1, thr, 300)
        monkeypatch.undo()
        assert forced.indices.cpu().tolist() == ref.indices.tolist()
