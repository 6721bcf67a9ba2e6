# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The Ultralytics checkpoint converter: safety, detection, errors, the command-line tool."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from yolopose_mm.converters import (ConversionError, UnsafeCheckpointError, convert_ultralytics_checkpoint,
                                    safe_load_checkpoint)

REPO = Path(__file__).resolve().parents[1]


class _Payload:
    """Unpickling this runs ``os.system(cmd)`` under a normal ``torch.load(weights_only=False)``."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def test_malicious_checkpoint_is_refused_and_payload_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pt'
    torch.save({'model': _Payload(f'touch {marker}'), 'weights': torch.zeros(3)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"posix\.system|os\.system"):
        convert_ultralytics_checkpoint(str(path))
    with pytest.raises(UnsafeCheckpointError, match='Nothing from the file was run'):
        safe_load_checkpoint(path)
    assert not marker.exists()
    # the payload is real: an unrestricted load runs it (proves the test can fail)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_malicious_checkpoint_cli_exit_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pt'
    torch.save({'model': _Payload(f'touch {marker}')}, path)
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_ultralytics.py'), str(path),
                           str(tmp_path / 'out.pth')], capture_output=True, text=True)
    assert proc.returncode == 3 and 'refusing to load' in proc.stderr
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        convert_ultralytics_checkpoint(str(tmp_path / 'nope.pt'))
    junk = tmp_path / 'junk.pt'
    junk.write_bytes(b'not a checkpoint at all')
    with pytest.raises(ValueError, match='not a (readable )?PyTorch checkpoint'):
        convert_ultralytics_checkpoint(str(junk))
    plain = tmp_path / 'plain.pt'
    torch.save({'state_dict': {'w': torch.zeros(1)}}, plain)
    with pytest.raises(ConversionError, match='no `model` or `ema`'):
        convert_ultralytics_checkpoint(str(plain))


def test_mismatched_layer_is_named(tmp_path, ultralytics):
    from ultralytics_reference import build_ultralytics_pose
    model = build_ultralytics_pose('11', 'n')
    conv = model.model[6].cv1.conv  # widen one conv of layer 6 (a C3k2)
    model.model[6].cv1.conv = torch.nn.Conv2d(conv.in_channels + 8, conv.out_channels, 1, bias=False)
    torch.save({'model': model}, tmp_path / 'bad.pt')
    with pytest.raises(ConversionError, match=r'layer model\.6 \(C3k2\) -> backbone\.stage3\.1\.pre_conv'):
        convert_ultralytics_checkpoint(str(tmp_path / 'bad.pt'))


def test_detection_model_is_rejected(tmp_path, ultralytics):
    from ultralytics.nn.tasks import DetectionModel
    torch.save({'model': DetectionModel('yolo11n.yaml', nc=2, verbose=False)}, tmp_path / 'det.pt')
    with pytest.raises(ConversionError, match='not Pose'):
        convert_ultralytics_checkpoint(str(tmp_path / 'det.pt'))


def test_real_checkpoint_detected_and_cli(yolo11n_pose_pt, tmp_path):
    dst = tmp_path / 'y.pth'
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'convert_ultralytics.py'), str(yolo11n_pose_pt),
                           str(dst)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'YOLO11-pose-n' in proc.stdout and 'configs/yolo11_pose/yolo11-pose-n_8xb16-600e_coco-640x640.py' in proc.stdout
    ckpt = torch.load(dst, map_location='cpu')  # weights-only load works (safe globals registered)
    meta = ckpt['meta']
    assert meta['arch'] == dict(version='11', scale='n', num_classes=1, num_keypoints=17, keypoint_dim=3)
    assert len(meta['converted_from']['sha256']) == 64 and meta['dataset_meta']['num_keypoints'] == 17
    assert 'YOLOPoseHead' in meta['cfg']
    assert all(v.dtype == torch.float32 for v in ckpt['state_dict'].values() if v.is_floating_point())
