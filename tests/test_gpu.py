# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""On a CUDA GPU (marker ``gpu``: skipped with the reason when CUDA is absent): AMP fp16 / bf16 training steps with
the real Runner, and CUDA predictions equal to CPU ones. NMS on CUDA: tests/test_nms_devices.py. Written for a
single-GPU machine; never run in this project's CPU-only CI."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_amp import _train_module  # tools/train.py as a module

REPO = Path(__file__).resolve().parents[1]
PLAIN = REPO / 'tests' / 'configs' / 'coco8_tiny_plain.py'

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
def test_amp_training_steps_on_cuda(tmp_path, data_dir, amp):
    if amp == 'bf16' and not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16 support')
    from mmengine.runner import Runner
    from yolopose_mm.engine import YOLOAmpOptimWrapper
    train = _train_module()
    args = train.parse_args([str(PLAIN), '--work-dir', str(tmp_path), '--amp', amp, '--cfg-options',
                             'train_cfg.max_epochs=3', 'train_dataloader.batch_size=2',
                             f'train_dataloader.dataset.data_yaml={data_dir / "coco8-pose" / "coco8-pose.yaml"}'])
    cfg = train.build_cfg(args)
    if amp == 'fp16':  # as on CPU (tests/test_amp.py): from 2^16 the first ~8 steps overflow and are skipped
        cfg.optim_wrapper.loss_scale = dict(init_scale=2.0 ** 8)
    runner = Runner.from_cfg(cfg)
    start = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    wrapper = runner.optim_wrapper
    assert isinstance(wrapper, YOLOAmpOptimWrapper) and wrapper.device_type == 'cuda'
    assert next(runner.model.parameters()).is_cuda
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(v)) for v in losses), losses
    end = runner.model.state_dict()
    assert all(bool(torch.isfinite(v).all()) for v in end.values() if v.is_floating_point())
    moved = [k for k in start if start[k].is_floating_point() and not torch.equal(start[k], end[k])]
    assert len(moved) > 100


def test_cuda_predictions_equal_cpu(converted_yolo11n, data_dir):
    """Same people on CUDA and CPU, boxes and keypoints within 1e-3 px (TF32 convolutions off for the comparison;
    with TF32 on, cuDNN rounds inputs to 10-bit mantissas)."""
    from yolopose_mm.apis import inference, init_model
    from yolopose_mm.deploy.compare import compare_instances
    images = [data_dir / 'images' / 'bus.jpg'] + sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))
    cpu = init_model(str(REPO / 'configs' / 'yolopose_n_coco.py'), str(converted_yolo11n), device='cpu')
    gpu = init_model(str(REPO / 'configs' / 'yolopose_n_coco.py'), str(converted_yolo11n))  # default: cuda:0
    assert next(gpu.parameters()).device.type == 'cuda'
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for img in images:
            a = inference(cpu, str(img)).pred_instances
            b = inference(gpu, str(img)).pred_instances
            diff = compare_instances(a, b)
            assert diff.num_a > 0 or img.name != 'bus.jpg'
            assert diff.within(1e-3, 1e-4), f'{img.name}: {diff}'
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
