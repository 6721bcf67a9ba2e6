# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Random-init parity with Ultralytics 8.4.190: parameters, FLOPs, raw and decoded head outputs."""
from __future__ import annotations

import pytest
import torch

from ultralytics_reference import (build_ultralytics_pose, randomize_batchnorm, save_ultralytics_checkpoint,
                                   ultralytics_raw)
from yolopose_mm.converters import DetectedArch, build_pose_network, convert_ultralytics_checkpoint
from yolopose_mm.models.utils.decode import decode_predictions

CASES = [(v, s) for v in ('v8', '11') for s in ('n', 's', 'm', 'l', 'x')]
# Input sizes per scale: full 640 for the small scales, smaller for the big ones to keep the suite fast.
SIZES = {'n': [(640, 640), (384, 640)], 's': [(640, 640), (384, 640)], 'm': [(320, 320), (192, 320)],
         'l': [(256, 256), (192, 320)], 'x': [(256, 256), (192, 320)]}


def _close(ours: torch.Tensor, ref: torch.Tensor, rel: float = 1e-4) -> float:
    """Max abs difference over the tensor's largest magnitude; asserts it is within ``rel``."""
    scale = max(1e-6, ref.abs().max().item())
    err = (ours - ref).abs().max().item() / scale
    assert err <= rel, f'max relative difference {err:.2e} > {rel:.0e}'
    return err


def _network(version, scale, tmp_path, nc=1, kpt_shape=(17, 3), seed=0):
    ref = randomize_batchnorm(build_ultralytics_pose(version, scale, nc, kpt_shape), seed)
    path = save_ultralytics_checkpoint(ref, tmp_path / f'{version}{scale}.pt')
    converted, arch = convert_ultralytics_checkpoint(str(path))
    assert arch == DetectedArch(version, scale, nc, kpt_shape[0], kpt_shape[1])
    ours = build_pose_network(arch).eval()
    ours.load_state_dict(converted['state_dict'], strict=True)
    return ref, ours


def _forward(ours, x):
    with torch.no_grad():
        raw = ours.head(ours.neck(ours.backbone(x)))
    return raw, ours.head.decode(raw)


@pytest.mark.parametrize('version,scale', CASES)
def test_raw_and_decoded_outputs_match(version, scale, tmp_path, ultralytics):
    ref, ours = _network(version, scale, tmp_path)
    torch.manual_seed(1)
    for h, w in SIZES[scale]:
        x = torch.rand(1, 3, h, w)
        y, preds = ultralytics_raw(ref, x)
        raw, dec = _forward(ours, x)
        _close(raw.box_logits, preds['boxes'])
        _close(raw.cls_logits, preds['scores'])
        _close(raw.kpt_raw, preds['kpts'])
        # decoded: Ultralytics gives (B, 4 + nc + K*3, N) with boxes as cx, cy, w, h
        cx, cy, bw, bh = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
        ref_xyxy = torch.stack((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2), -1)
        _close(dec.bboxes, ref_xyxy)
        _close(dec.scores[..., 0], y[:, 4])
        ref_k = y[:, 5:].view(1, 17, 3, -1).permute(0, 3, 1, 2)
        _close(dec.keypoints, ref_k[..., :2])
        _close(dec.keypoint_scores, ref_k[..., 2])


def test_k5_dim2_two_classes_match(tmp_path, ultralytics):
    ref, ours = _network('11', 'n', tmp_path, nc=2, kpt_shape=(5, 2), seed=3)
    x = torch.rand(2, 3, 160, 224)
    y, preds = ultralytics_raw(ref, x)
    raw, dec = _forward(ours, x)
    _close(raw.kpt_raw, preds['kpts'])
    _close(dec.scores.transpose(1, 2), y[:, 4:6])
    _close(dec.keypoints, y[:, 6:].view(2, 5, 2, -1).permute(0, 3, 1, 2))
    assert torch.equal(dec.keypoint_scores, torch.ones_like(dec.keypoint_scores))


def test_fp16_checkpoint_converts_to_fp32(tmp_path, ultralytics):
    ref = randomize_batchnorm(build_ultralytics_pose('v8', 'n'))
    path = save_ultralytics_checkpoint(ref, tmp_path / 'half.pt', half=True)
    converted, _ = convert_ultralytics_checkpoint(str(path))
    assert all(t.dtype in (torch.float32, torch.int64) for t in converted['state_dict'].values())


def test_decode_is_the_single_path(tmp_path, ultralytics):
    """The head's decode is decode_predictions with the head's priors (no second implementation)."""
    _, ours = _network('11', 'n', tmp_path)
    x = torch.rand(1, 3, 128, 96)
    raw, dec = _forward(ours, x)
    priors = ours.head.priors(raw.featmap_sizes, x.dtype, x.device)
    again = decode_predictions(raw.box_logits, raw.cls_logits, raw.kpt_raw, priors, 16, 3)
    for a, b in zip(dec, again):
        assert torch.equal(a, b)
