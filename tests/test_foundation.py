# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Foundation: the stack imports on torch 2.14, mmcv ops run, registration, and the torch.load compatibility fix."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.serialization
from mmengine.logging.history_buffer import HistoryBuffer


def test_stack_imports_and_mmcv_ops():
    code = ('import mmpose.models, mmdet.models, mmdeploy.apis, yolopose_mm, torch\n'
            'from mmcv.ops import batched_nms\n'
            'b = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])\n'
            'd, keep = batched_nms(b, torch.tensor([.9, .8, .7]), torch.zeros(3), dict(iou_threshold=.5))\n'
            'assert keep.tolist() == [0, 2], keep\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_components_registered_in_mmpose():
    import yolopose_mm  # noqa: F401
    from mmpose.registry import MODELS, TRANSFORMS
    for name in ('YOLOBackbone', 'YOLOPAFPN', 'YOLOPoseHead'):
        assert MODELS.get(name) is not None, name
    assert TRANSFORMS.get('LetterBox') is not None


def test_weights_only_load_in_a_fresh_process(tmp_path):
    """HistoryBuffer's statistics methods resolve even before any HistoryBuffer exists in the process."""
    buf = HistoryBuffer()
    buf.update(2.0)
    torch.save({'buf': buf}, tmp_path / 'h.pth')
    code = ('import yolopose_mm, torch, sys\n'
            f'b = torch.load({str(tmp_path / "h.pth")!r})["buf"]\n'
            'assert b.current() == 2.0\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-1500:]


def test_weights_only_fix_is_needed_and_works(tmp_path):
    """Without the registered safe globals, torch 2.14's default weights-only load rejects mmengine's buffers."""
    from yolopose_mm.compat import checkpoint_safe_globals, register_checkpoint_safe_globals
    buf = HistoryBuffer()
    buf.update(1.5)
    path = tmp_path / 'ckpt.pth'
    torch.save({'message_hub': {'log_scalars': {'loss': buf}}}, path)
    saved = list(torch.serialization.get_safe_globals())
    try:
        torch.serialization.clear_safe_globals()
        with pytest.raises(Exception, match='HistoryBuffer'):
            torch.load(path)
        register_checkpoint_safe_globals()
        loaded = torch.load(path)
        assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5
        assert HistoryBuffer in checkpoint_safe_globals()
        with pytest.raises(Exception, match="not allowed"):
            from yolopose_mm.compat import _history_buffer_getattr
            _history_buffer_getattr(torch, "load")
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(saved)
        register_checkpoint_safe_globals()
