# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The installer's decisions: how mmcv is built on CPU / GPU machines, and which old base venvs are pruned."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
from mmcv_build_plan import MIN_DRIVER, Facts, arch_tag, decide  # noqa: E402

sys.path.pop(0)

H200 = dict(smi_gpus=1, driver='580.95.05', torch_cuda='13.0', torch_gpus=1, torch_caps=('9.0',))

# (case, facts, kind, cache tag, build env, text in the notes or the error)
CASES = [
    ('cpu machine', Facts(torch_cuda='13.0'), 'cpu', 'cpu', {'FORCE_CUDA': '0'}, 'no GPU visible'),
    ('cpu machine with nvcc', Facts(torch_cuda='13.0', nvcc_cuda='13.0'), 'cpu', 'cpu', {'FORCE_CUDA': '0'},
     'no GPU visible'),
    ('gpu, no nvcc', Facts(**H200), 'cpu', 'cpu', {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}, 'no nvcc'),
    ('gpu, nvcc major differs', Facts(**H200, nvcc_cuda='12.4'), 'cpu', 'cpu',
     {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}, 'majors differ'),
    ('gpu, nvcc matches', Facts(**H200, nvcc_cuda='13.0'), 'cuda', 'cuda13.0-sm90',
     {'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '9.0'}, 'TORCH_CUDA_ARCH_LIST=9.0 (the visible GPUs)'),
    ('8 mixed gpus, minor differs', Facts(smi_gpus=8, driver='580.95.05', torch_cuda='13.0', torch_gpus=8,
                                         torch_caps=('9.0',) * 4 + ('8.0',) * 4, nvcc_cuda='13.1'),
     'cuda', 'cuda13.0-sm80-sm90', {'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '8.0;9.0'}, 'nvcc 13.1 matches'),
    ('arch list overridden', Facts(**H200, nvcc_cuda='13.0', arch_list='8.0;9.0+PTX'), 'cuda',
     'cuda13.0-sm80-sm90+ptx', {'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '8.0;9.0+PTX'}, 'from the environment'),
    ('forced cpu', Facts(**H200, nvcc_cuda='13.0', force_cpu=True), 'cpu', 'cpu',
     {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}, 'YOLOPOSE_FORCE_CPU_OPS=1'),
    ('gpus hidden by the user', Facts(smi_gpus=2, driver='580.95.05', torch_cuda='13.0', visible_devices=''),
     'cpu', 'cpu', {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}, 'hides the 2 GPU(s)'),
]
ERRORS = [
    ('driver too old for torch', Facts(smi_gpus=1, driver='535.104.05', torch_cuda='13.0'),
     'CUDA 13.0 needs NVIDIA driver >= 580.65.06'),
    ('driver fine, no access', Facts(smi_gpus=1, driver='590.10.01', torch_cuda='13.0'),
     'torch.cuda.is_available() is False'),
    ('cpu build of torch on a gpu machine', Facts(smi_gpus=1, driver='580.95.05', torch_cuda=None),
     'CPU-only build'),
]


@pytest.mark.parametrize('case, facts, kind, tag, env, text', CASES, ids=[c[0] for c in CASES])
def test_decide(case, facts, kind, tag, env, text):
    choice = decide(facts)
    assert choice.error is None
    assert (choice.kind, choice.cache_tag, choice.build_env) == (kind, tag, env)
    assert any(text in note for note in choice.notes), choice.notes


@pytest.mark.parametrize('case, facts, text', ERRORS, ids=[c[0] for c in ERRORS])
def test_decide_stops_with_the_fix(case, facts, text):
    choice = decide(facts)
    assert choice.error is not None and text in choice.error, choice.error
    assert 'YOLOPOSE_FORCE_CPU_OPS=1' in choice.error
    assert decide(Facts(**{**facts.__dict__, 'force_cpu': True})).error is None  # the escape hatch works


def test_helpers():
    assert arch_tag('7.5 8.6;9.0+PTX') == 'sm75-sm86-sm90+ptx'
    assert sorted(MIN_DRIVER) == [11, 12, 13]


def test_shell_output_on_this_machine():
    """What tools/install.sh evaluates: a cache tag and a bash array of build variables."""
    script = ('eval "$("$PY" tools/mmcv_build_plan.py --shell)" && echo "$CUDA_TAG" && '
              'printf "%s|" "${MMCV_BUILD_ENV[@]}"')
    out = subprocess.run(['bash', '-c', script], capture_output=True, text=True, cwd=str(REPO),
                         env=dict(os.environ, PY=sys.executable), timeout=300)
    assert out.returncode == 0, out.stderr
    tag, env = out.stdout.split()
    import torch
    if not torch.cuda.is_available():
        assert tag == 'cpu' and env.startswith('FORCE_CUDA=0|')
    else:
        assert tag == 'cpu' or tag.startswith('cuda')


def _venv(path: Path, base: Path) -> None:
    site = path / 'lib' / 'python3.11' / 'site-packages'
    site.mkdir(parents=True)
    (site / '_yolopose_base.pth').write_text(
        f"import site; site.addsitedir('{base}/lib/python3.11/site-packages')\n")


def test_prune_keeps_recent_and_used_base_venvs(tmp_path):
    cache = tmp_path / 'cache'
    names = ['b0_unused', 'b1_used', 'b2_legacy', 'b3_incomplete', 'b4', 'b5', 'b6']
    now = time.time()
    for i, name in enumerate(names):  # b0 oldest ... b6 newest
        base = cache / 'venvs' / name
        base.mkdir(parents=True)
        if name != 'b3_incomplete':
            (base / '.yolopose_complete').write_text(name)
        if name != 'b2_legacy':
            (base / '.project_venvs').mkdir()
        os.utime(base, (now - 1000 + i * 10, now - 1000 + i * 10))
    # b0: its only registered project venv now points to b6; b1: a project venv still points to it
    moved, user = tmp_path / 'clone_a' / '.venv', tmp_path / 'clone_b' / '.venv'
    _venv(moved, cache / 'venvs' / 'b6')
    _venv(user, cache / 'venvs' / 'b1_used')
    (cache / 'venvs' / 'b0_unused' / '.project_venvs' / 'x').write_text(f'{moved}\n')
    (cache / 'venvs' / 'b1_used' / '.project_venvs' / 'y').write_text(f'{user}\n')
    out = subprocess.run(['bash', str(REPO / 'tools' / 'prune_base_venvs.sh'), str(cache), '3'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    left = sorted(p.name for p in (cache / 'venvs').iterdir())
    assert left == ['b1_used', 'b2_legacy', 'b4', 'b5', 'b6'], out.stdout
    assert f'the project venv {user} still uses it' in out.stdout
    assert 'made by an older installer' in out.stdout and 'removing incomplete base venv' in out.stdout
