# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Mixed precision on CPU: the loss computes in fp32 under autocast fp16 / bf16, and AMP training steps run.

``torch.autocast('cpu', dtype=torch.float16 / bfloat16)`` reproduces the dtype problems of CUDA AMP (the assigner's
buffers took the score dtype; an ``eps`` of 1e-9 is 0 in fp16), so none of this needs a GPU.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import yolopose_mm  # noqa: F401
from yolopose_mm.engine import YOLOAmpOptimWrapper

REPO = Path(__file__).resolve().parents[1]
PLAIN = REPO / 'tests' / 'configs' / 'coco8_tiny_plain.py'
DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


@pytest.fixture(scope='module')
def model_and_batch(data_dir):
    """YOLO11-pose-n (seeded random init, train mode) and 3 of the coco8-pose train images at 160 px."""
    from mmpose.registry import DATASETS, MODELS
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(PLAIN))
    cfg.train_dataloader.dataset.data_yaml = str(data_dir / 'coco8-pose' / 'coco8-pose.yaml')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    model.head.set_sigmas(dataset.metainfo['sigmas'])
    data = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(3)]), True)
    return model, data


def _losses(model, inputs, samples, dtype=None):
    if dtype is None:
        return model.loss(inputs, samples)
    with torch.autocast('cpu', dtype=dtype):
        return model.loss(inputs, samples)


def _hard_cases(samples):
    """Image 1 without anybody; every person of image 2 with no labelled keypoint."""
    samples = copy.deepcopy(samples)
    labels = samples[1].gt_instance_labels
    samples[1].gt_instance_labels = InstanceData(
        bboxes=labels.bboxes[:0], labels=labels.labels[:0], keypoints=labels.keypoints[:0],
        keypoints_visible=labels.keypoints_visible[:0])
    samples[2].gt_instance_labels.keypoints_visible = torch.zeros_like(samples[2].gt_instance_labels.keypoints_visible)
    return samples


@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
@pytest.mark.parametrize('case', ['real', 'nobody_and_unlabelled'])
def test_loss_terms_under_autocast_match_fp32(model_and_batch, amp, case):
    model, data = model_and_batch
    samples = data['data_samples'] if case == 'real' else _hard_cases(data['data_samples'])
    assert sum(len(s.gt_instance_labels.bboxes) for s in samples) > 0
    with torch.no_grad():
        ref = _losses(model, data['inputs'], samples)
        low = _losses(model, data['inputs'], samples, DTYPES[amp])
    assert set(low) == set(ref)
    for name, value in low.items():
        assert value.dtype == torch.float32, f'{name} is {value.dtype}: the loss must compute in fp32'
        assert torch.isfinite(value), f'{name} = {value.item()} under {amp}'
        a, b = value.item(), ref[name].item()
        assert b > 0, f'{name} is {b} in fp32: the batch does not exercise it'
        assert abs(a - b) <= 0.05 * abs(b), f'{name}: {amp} {a:.5f} vs fp32 {b:.5f} ({abs(a - b) / b:.2%})'


@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
def test_backward_under_autocast_gives_finite_gradients(model_and_batch, amp):
    model, data = model_and_batch
    model.zero_grad()
    losses = _losses(model, data['inputs'], _hard_cases(data['data_samples']), DTYPES[amp])
    sum(losses.values()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert all(bool(torch.isfinite(g).all()) for g in grads)
    model.zero_grad()


def test_predict_under_autocast_decodes_in_fp32(model_and_batch):
    model, data = model_and_batch
    model.eval()
    try:
        with torch.no_grad():
            ref = model.head.predict(model.extract_feat(data['inputs'][:1]), data['data_samples'][:1],
                                     dict(score_thr=0.0, max_per_img=20))
            with torch.autocast('cpu', dtype=torch.bfloat16):
                low = model.head.predict(model.extract_feat(data['inputs'][:1]), data['data_samples'][:1],
                                         dict(score_thr=0.0, max_per_img=20))
    finally:
        model.train()
    assert low[0].bboxes.dtype == ref[0].bboxes.dtype and len(low[0].bboxes) == len(ref[0].bboxes) > 0


def _toy_wrapper(dtype, **kwargs):
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, YOLOAmpOptimWrapper(optimizer=opt, dtype=dtype, nominal_batch=None, device_type='cpu', **kwargs)


def test_amp_wrapper_autocast_and_loss_scaling_on_cpu():
    model, wrapper = _toy_wrapper('float16')
    assert wrapper.loss_scaler.is_enabled() and wrapper.loss_scaler.get_scale() == 65536.0
    x = torch.randn(8, 4)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.float16
    before = model.weight.detach().clone()
    wrapper.update_params((out.float() * 1e6).sum())  # overflows in fp16 at the initial scale: step skipped
    assert torch.equal(model.weight, before) and wrapper.loss_scaler.get_scale() == 32768.0
    with wrapper.optim_context(model):
        loss = model(x).float().sum() * 1e-3  # fp16 gradients stay finite at the backed-off scale
    wrapper.update_params(loss)
    assert not torch.equal(model.weight, before) and bool(torch.isfinite(model.weight).all())
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 32768.0
    _, bf16 = _toy_wrapper('bf16')
    assert not bf16.loss_scaler.is_enabled() and bf16.cast_dtype == torch.bfloat16
    with pytest.raises(ValueError, match='dtype'):
        _toy_wrapper('int8')
    with pytest.raises(ValueError, match='loss_scale'):
        _toy_wrapper('fp16', loss_scale='static')


def _train_module():
    sys.path.insert(0, str(REPO / 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    return train


def test_train_amp_flag_picks_the_wrapper(tmp_path):
    train = _train_module()
    for flag, dtype in (([], None), (['--amp'], 'float16'), (['--amp', 'bf16'], 'bfloat16')):
        cfg = train.build_cfg(train.parse_args([str(PLAIN), '--work-dir', str(tmp_path), *flag]))
        assert cfg.optim_wrapper.type == ('YOLOOptimWrapper' if dtype is None else 'YOLOAmpOptimWrapper')
        assert cfg.optim_wrapper.get('dtype') == dtype
    with pytest.raises(SystemExit):
        train.parse_args([str(PLAIN), '--amp', 'int8'])


@pytest.mark.slow
@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
def test_amp_training_iterations_on_cpu(tmp_path, data_dir, amp):
    """Four iterations of tools/train.py --amp on CPU through the real Runner: finite losses, the weights move."""
    from mmengine.runner import Runner
    train = _train_module()
    args = train.parse_args([str(PLAIN), '--work-dir', str(tmp_path), '--amp', amp, '--cfg-options',
                             'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
                             f'train_dataloader.dataset.data_yaml={data_dir / "coco8-pose" / "coco8-pose.yaml"}'])
    cfg = train.build_cfg(args)
    if amp == 'fp16':
        # The dynamic scaler starts at 2^16, where this network's fp16 activation gradients overflow (measured:
        # finite from 2^8 down), so its first ~8 steps would be skipped; start lower to see real steps here.
        cfg.optim_wrapper.loss_scale = dict(init_scale=2.0 ** 8)
    runner = Runner.from_cfg(cfg)
    start = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    wrapper = runner.optim_wrapper
    assert isinstance(wrapper, YOLOAmpOptimWrapper) and wrapper.cast_dtype == DTYPES[amp]
    assert wrapper.last_step_iter == 3  # stepped on the last of the 4 iterations
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(v)) for v in losses), losses
    end = runner.model.state_dict()
    moved = [k for k in start if start[k].is_floating_point() and not torch.equal(start[k], end[k])]
    assert len(moved) > 100
    assert all(bool(torch.isfinite(v).all()) for v in end.values() if v.is_floating_point())
    if amp == 'fp16':
        assert wrapper.loss_scaler.get_scale() <= 2.0 ** 8
