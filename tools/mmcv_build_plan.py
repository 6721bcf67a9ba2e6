#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""How the installer builds mmcv's ops on this machine: CPU only or with CUDA (a pure decision plus its probes).

    python tools/mmcv_build_plan.py            # print the facts and the choice
    python tools/mmcv_build_plan.py --shell    # shell assignments for tools/install.sh (exit 2: stop, reason on stderr)

Run with the base venv's Python after torch is installed: the facts include torch's CUDA version and what torch
sees. :func:`decide` is a pure function (facts in, choice out); :func:`gather_facts` asks nvidia-smi, nvcc and torch.
The cases are tabulated in the README ("Training on GPUs", installer).
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

# Oldest Linux driver each CUDA major runs on (NVIDIA's CUDA release notes: minor-version compatibility).
MIN_DRIVER = {11: '450.80.02', 12: '525.60.13', 13: '580.65.06'}


@dataclass(frozen=True)
class Facts:
    """What the installer knows about the machine.

    Attributes:
        smi_gpus: GPUs that ``nvidia-smi -L`` lists (0 when it is absent or fails).
        driver: NVIDIA driver version from nvidia-smi ('580.95.05'), None without one.
        torch_cuda: CUDA version torch was built for (``torch.version.cuda``, '13.0'), None for a CPU build.
        torch_gpus: GPUs torch can use (``torch.cuda.device_count()`` when ``is_available()``, else 0).
        torch_caps: compute capabilities of those GPUs ('9.0', ...).
        nvcc_cuda: CUDA version of the ``nvcc`` on PATH / in CUDA_HOME ('12.4'), None without one.
        arch_list: TORCH_CUDA_ARCH_LIST from the environment (overrides the visible GPUs), None when unset.
        force_cpu: YOLOPOSE_FORCE_CPU_OPS=1.
        visible_devices: CUDA_VISIBLE_DEVICES as set by the user, None when unset.
    """

    smi_gpus: int = 0
    driver: Optional[str] = None
    torch_cuda: Optional[str] = None
    torch_gpus: int = 0
    torch_caps: Tuple[str, ...] = ()
    nvcc_cuda: Optional[str] = None
    arch_list: Optional[str] = None
    force_cpu: bool = False
    visible_devices: Optional[str] = None


@dataclass(frozen=True)
class Choice:
    """How to build mmcv.

    Attributes:
        kind: 'cpu' or 'cuda'.
        cache_tag: names the cached wheel: 'cpu', or 'cuda<torch CUDA>-<archs>' such as 'cuda13.0-sm90'.
        build_env: environment for mmcv's setup.py (FORCE_CUDA, TORCH_CUDA_ARCH_LIST, CUDA_VISIBLE_DEVICES=''
            to hide the GPUs from a CPU-only build: mmcv builds CUDA ops whenever torch sees a GPU).
        notes: lines to print (why this choice, what it means at run time).
        error: set when the install should stop (a GPU torch cannot use), with the fix.
    """

    kind: str
    cache_tag: str
    build_env: Dict[str, str] = field(default_factory=dict)
    notes: Tuple[str, ...] = ()
    error: Optional[str] = None


def _major(version: Optional[str]) -> Optional[int]:
    try:
        return int(str(version).split('.')[0])
    except (TypeError, ValueError):
        return None


def _version_tuple(version: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r'\d+', version))


def arch_tag(arch_list: str) -> str:
    """'8.0;9.0+PTX' -> 'sm80-sm90+ptx' (for the wheel cache key)."""
    parts = [p for p in re.split(r'[;\s,]+', arch_list.strip()) if p]
    return '-'.join('sm' + p.replace('.', '').replace('+PTX', '+ptx') for p in parts)


def _cpu(reason: str, hide: bool, *more: str) -> Choice:
    env = {'FORCE_CUDA': '0'}
    if hide:
        env['CUDA_VISIBLE_DEVICES'] = ''
    return Choice('cpu', 'cpu', env, (reason,) + more)


def decide(f: Facts) -> Choice:
    """The mmcv build for these facts (see the README table of cases)."""
    hide = f.torch_gpus > 0 or f.smi_gpus > 0
    fallback = 'on GPUs, NMS then runs torchvision\'s kernel (mmcv has no CUDA ops); everything else is unaffected'
    if f.force_cpu:
        return _cpu('YOLOPOSE_FORCE_CPU_OPS=1: building mmcv with CPU ops only', hide, fallback)
    if f.torch_gpus == 0:
        if f.smi_gpus > 0:
            if f.visible_devices is not None and f.visible_devices.strip() in ('', '-1'):
                return _cpu(f'CUDA_VISIBLE_DEVICES={f.visible_devices!r} hides the {f.smi_gpus} GPU(s) nvidia-smi '
                            'lists: building mmcv with CPU ops only', True)
            if f.torch_cuda is None:
                return Choice('cpu', 'cpu', {}, error=(
                    f'nvidia-smi lists {f.smi_gpus} GPU(s) but this torch is a CPU-only build; install the CUDA '
                    'build of torch (the default PyPI wheel on Linux), or set YOLOPOSE_FORCE_CPU_OPS=1 to install '
                    'for CPU only'))
            need = MIN_DRIVER.get(_major(f.torch_cuda))
            old = (need is not None and f.driver is not None
                   and _version_tuple(f.driver) < _version_tuple(need))
            if old or f.driver is None:
                msg = (f'nvidia-smi lists {f.smi_gpus} GPU(s) (driver {f.driver or "unknown"}) but torch, built for '
                       f'CUDA {f.torch_cuda}, cannot use them: CUDA {f.torch_cuda} needs NVIDIA driver >= '
                       f'{need or "(see NVIDIA CUDA release notes)"}')
            else:
                msg = (f'nvidia-smi lists {f.smi_gpus} GPU(s) (driver {f.driver}, new enough for CUDA '
                       f'{f.torch_cuda}) but torch.cuda.is_available() is False: check the container\'s GPU access '
                       '(--gpus / the NVIDIA container toolkit) and CUDA_VISIBLE_DEVICES')
            return Choice('cpu', 'cpu', {}, error=msg + '; or set YOLOPOSE_FORCE_CPU_OPS=1 to install for CPU only '
                          '(training would run on the CPU)')
        return _cpu('no GPU visible to torch: building mmcv with CPU ops', False)
    if f.nvcc_cuda is None:
        return _cpu(f'{f.torch_gpus} GPU(s) but no nvcc (CUDA toolkit) found: building mmcv with CPU ops only, '
                    'GPUs hidden from its build', True, fallback,
                    f'for mmcv\'s CUDA ops install the CUDA {_major(f.torch_cuda)}.x toolkit (nvcc) and rerun')
    if _major(f.nvcc_cuda) != _major(f.torch_cuda):
        return _cpu(f'nvcc is CUDA {f.nvcc_cuda} but torch is built for CUDA {f.torch_cuda} (majors differ): '
                    'building mmcv with CPU ops only, GPUs hidden from its build', True, fallback,
                    f'for mmcv\'s CUDA ops put a CUDA {_major(f.torch_cuda)}.x nvcc first on PATH (or CUDA_HOME) '
                    'and rerun')
    if f.arch_list:
        archs, source = f.arch_list, 'TORCH_CUDA_ARCH_LIST from the environment'
    else:
        caps = sorted(set(f.torch_caps), key=_version_tuple)
        if not caps:
            return _cpu('GPUs visible but their compute capabilities are unknown: building mmcv with CPU ops only '
                        '(set TORCH_CUDA_ARCH_LIST, e.g. "9.0", for CUDA ops)', True, fallback)
        archs, source = ';'.join(caps), 'the visible GPUs'
    return Choice('cuda', f'cuda{f.torch_cuda}-{arch_tag(archs)}',
                  {'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': archs},
                  (f'building mmcv with CUDA ops: nvcc {f.nvcc_cuda} matches torch\'s CUDA {f.torch_cuda}, '
                   f'TORCH_CUDA_ARCH_LIST={archs} ({source})',))


# --------------------------------------------------------------------------------------------------------------
def _run(cmd: Sequence[str]) -> Optional[str]:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _nvcc() -> Optional[str]:
    candidates = [shutil.which('nvcc')]
    for var in ('CUDA_HOME', 'CUDA_PATH'):
        if os.environ.get(var):
            candidates.append(os.path.join(os.environ[var], 'bin', 'nvcc'))
    for nvcc in candidates:
        if nvcc and os.path.isfile(nvcc):
            out = _run([nvcc, '--version']) or ''
            m = re.search(r'release (\d+\.\d+)', out)
            if m:
                return m.group(1)
    return None


def gather_facts() -> Facts:
    """Probe nvidia-smi, nvcc and torch (in this interpreter) and read the environment."""
    import torch
    smi = shutil.which('nvidia-smi')
    listed = _run([smi, '-L']) if smi else None
    smi_gpus = sum(1 for line in (listed or '').splitlines() if line.startswith('GPU '))
    driver = None
    if smi_gpus:
        out = _run([smi, '--query-gpu=driver_version', '--format=csv,noheader']) or ''
        driver = out.strip().splitlines()[0].strip() if out.strip() else None
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    caps = tuple('%d.%d' % torch.cuda.get_device_capability(i) for i in range(gpus))
    return Facts(smi_gpus=smi_gpus, driver=driver, torch_cuda=torch.version.cuda, torch_gpus=gpus, torch_caps=caps,
                 nvcc_cuda=_nvcc(), arch_list=os.environ.get('TORCH_CUDA_ARCH_LIST') or None,
                 force_cpu=os.environ.get('YOLOPOSE_FORCE_CPU_OPS', '0') == '1',
                 visible_devices=os.environ.get('CUDA_VISIBLE_DEVICES'))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--shell', action='store_true', help='print shell assignments for tools/install.sh')
    args = parser.parse_args(argv)
    facts = gather_facts()
    choice = decide(facts)
    for note in choice.notes:
        print(f'    {note}', file=sys.stderr)
    if choice.error:
        print(choice.error, file=sys.stderr)
        return 2
    if args.shell:
        env = ' '.join(shlex.quote(f'{k}={v}') for k, v in choice.build_env.items())
        print(f'CUDA_TAG={shlex.quote(choice.cache_tag)}')
        print(f'MMCV_BUILD_ENV=({env})')  # a bash array: env "${MMCV_BUILD_ENV[@]}" ...
    else:
        print(facts)
        print(choice)
    return 0


if __name__ == '__main__':
    sys.exit(main())
