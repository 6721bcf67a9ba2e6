# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Atomic checkpoints (a kill or a failed write never leaves a damaged file that last_checkpoint names, nor deletes
the previous checkpoint first) and the resume rules for a truncated newest checkpoint, on a real tiny run."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import yolopose_mm  # noqa: F401
from yolopose_mm.converters import EXIT_UNREADABLE, UnreadableCheckpointError
from yolopose_mm.engine.hooks.atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from yolopose_mm.engine.resume_check import choose_resume_checkpoint, checkpoint_problem
from yolopose_mm.utils.atomic_file import remove_stale_temporaries

REPO = Path(__file__).resolve().parents[1]


def test_kill_between_write_and_rename_keeps_the_old_file(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old complete checkpoint')
    module = REPO / 'yolopose_mm' / 'utils' / 'atomic_file.py'
    child = (f'import importlib.util, os, signal\n'
             f'spec = importlib.util.spec_from_file_location("atomic_file", {str(module)!r})\n'
             f'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n'
             f'os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # killed right before the rename\n'
             f'm.atomic_write_bytes({str(target)!r}, b"x" * 5_000_000)\n')
    proc = subprocess.run([sys.executable, '-c', child], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b'old complete checkpoint'
    leftovers = [p for p in os.listdir(tmp_path) if p != 'epoch_1.pth']
    assert len(leftovers) == 1 and leftovers[0].startswith('.epoch_1.pth.tmp-')
    assert remove_stale_temporaries(tmp_path) and os.listdir(tmp_path) == ['epoch_1.pth']


class _Tiny(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        pred = self.linear(inputs)
        return {'loss': ((pred - targets) ** 2).mean()} if mode == 'loss' else pred


class _Points(Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        x = torch.full((4,), float(i))
        return dict(inputs=x, targets=x.sum(0, keepdim=True))


def _runner(work_dir, hook, max_iters):
    return Runner(model=_Tiny(), work_dir=str(work_dir), default_scope='mmpose',
                  train_dataloader=dict(dataset=_Points(), sampler=dict(type='DefaultSampler', shuffle=False),
                                        batch_size=4, num_workers=0, collate_fn=dict(type='default_collate')),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3)),
                  train_cfg=dict(by_epoch=False, max_iters=max_iters), default_hooks=dict(checkpoint=hook),
                  randomness=dict(seed=0))


@pytest.mark.parametrize('hook_type', [AtomicCheckpointHook, CheckpointHook])
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, hook_type):
    """A save that fails (disk full) with max_keep_ckpts=1: ours keeps iter_2.pth and last_checkpoint naming it;
    mmengine's own hook has already deleted it (so this test fails without the fix)."""
    hook = hook_type(interval=2, by_epoch=False, max_keep_ckpts=1)
    runner = _runner(tmp_path, hook, 4)
    real_put = AtomicLocalBackend.put
    calls = []

    def put(self, obj, filepath):
        calls.append(filepath)
        if len(calls) == 2:
            raise OSError(28, 'No space left on device')
        return real_put(self, obj, filepath)

    monkeypatch.setattr(AtomicLocalBackend, 'put', put)
    from mmengine.fileio import LocalBackend
    monkeypatch.setattr(LocalBackend, 'put', put)
    with pytest.raises(OSError, match='No space'):
        runner.train()
    names = sorted(os.listdir(tmp_path))
    if hook_type is AtomicCheckpointHook:
        assert 'iter_2.pth' in names and checkpoint_problem(str(tmp_path / 'iter_2.pth')) is None
        assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')
        assert not [n for n in names if '.tmp-' in n]
    else:
        assert 'iter_2.pth' not in names  # mmengine deletes the old checkpoint before writing the new one


def _save(path: Path, epoch: int) -> None:
    torch.save({'meta': {'epoch': epoch}, 'state_dict': {'w': torch.full((1000,), float(epoch))}}, path)


def test_resume_rules(tmp_path):
    for e in (1, 2, 3):
        _save(tmp_path / f'epoch_{e}.pth', e)
    no_record = choose_resume_checkpoint(str(tmp_path))  # checkpoints but no last_checkpoint: the newest
    assert no_record.path == str(tmp_path / 'epoch_3.pth') and 'last_checkpoint is missing' in no_record.warning
    newest = tmp_path / 'epoch_3.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 2])  # a kill during a non-atomic save
    (tmp_path / 'last_checkpoint').write_text(str(newest))
    auto = choose_resume_checkpoint(str(tmp_path))
    assert auto.path == str(tmp_path / 'epoch_2.pth')
    assert str(newest) in auto.warning and 'truncated' in auto.warning and 'epoch_2.pth' in auto.warning
    with pytest.raises(UnreadableCheckpointError, match=r'epoch_3\.pth: cannot resume from it: truncated.*'
                                                        r'--resume .*epoch_2\.pth'):
        choose_resume_checkpoint(str(tmp_path), str(newest))
    assert choose_resume_checkpoint(str(tmp_path), str(tmp_path / 'epoch_1.pth')).warning is None
    # a flipped byte in the tensor data: the zip checksum catches it
    flipped = bytearray((tmp_path / 'epoch_2.pth').read_bytes())
    flipped[flipped.find(b'\x00\x00\x00\x40') + 3] ^= 0xFF
    (tmp_path / 'epoch_2.pth').write_bytes(bytes(flipped))
    assert 'checksum' in checkpoint_problem(str(tmp_path / 'epoch_2.pth'))
    assert choose_resume_checkpoint(str(tmp_path)).path == str(tmp_path / 'epoch_1.pth')
    # last_checkpoint lost, checkpoints present: the newest good one, with a warning
    (tmp_path / 'last_checkpoint').unlink()
    lost = choose_resume_checkpoint(str(tmp_path))
    assert lost.path == str(tmp_path / 'epoch_1.pth') and 'last_checkpoint is missing' in lost.warning
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    with pytest.raises(UnreadableCheckpointError, match='no good epoch_N.pth'):
        choose_resume_checkpoint(str(tmp_path))
    assert choose_resume_checkpoint(str(tmp_path / 'fresh')).path is None  # nothing saved yet: train from start


def _train_tool():
    spec = importlib.util.spec_from_file_location('yolopose_tools_train', REPO / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_truncated_newest_checkpoint_of_a_real_run(data_dir, tmp_path, capfd, monkeypatch):
    """tools/train.py on coco8-pose (160 px): 2 epochs, truncate epoch_2.pth (what last_checkpoint names), then
    --resume epoch_2.pth stops with one line naming epoch_1.pth, and --resume (auto) resumes from epoch_1.pth with
    a warning and finishes epoch 3."""
    monkeypatch.setenv('YOLOPOSE_DATA', str(data_dir))
    train = _train_tool()
    wd = tmp_path / 'run'
    cfg = str(REPO / 'tests' / 'configs' / 'coco8_tiny.py')
    common = ['--work-dir', str(wd), '--cfg-options', 'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False']
    assert train.main([cfg, *common, 'train_cfg.max_epochs=2']) == 0
    assert (wd / 'last_checkpoint').read_text().strip().endswith('epoch_2.pth')
    assert not [n for n in os.listdir(wd) if '.tmp-' in n]
    newest = wd / 'epoch_2.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 3])
    capfd.readouterr()
    rc = train.main([cfg, '--resume', str(newest), *common, 'train_cfg.max_epochs=3'])
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert rc == EXIT_UNREADABLE and len(err) == 1 and str(newest) in err[0] and 'epoch_1.pth' in err[0], err
    assert train.main([cfg, '--resume', *common, 'train_cfg.max_epochs=3']) == 0
    out = capfd.readouterr()
    log = out.out + out.err
    assert 'resume:' in log and 'cannot be resumed from' in log and str(wd / 'epoch_1.pth') in log
    assert 'resumed epoch: 1,' in log
    assert (wd / 'last_checkpoint').read_text().strip().endswith('epoch_3.pth')
    assert torch.load(wd / 'epoch_3.pth')['meta']['epoch'] == 3
    assert checkpoint_problem(str(newest)) is None  # epoch 2 was trained again and saved whole
