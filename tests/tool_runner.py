# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Run one of the repository's tools/ scripts in a subprocess, as its command line does (test helper)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]


def run_tool(tool: str, *args: str, data_dir: Path, timeout: float = 900, cwd: Optional[Path] = None,
             **env: str) -> str:
    """Run ``tools/<tool>`` with ``args``; assert it exits 0 (showing the end of its output if not).

    Args:
        tool: path under tools/, e.g. ``'train.py'``.
        data_dir: exported as ``YOLOPOSE_DATA``.
        timeout: seconds before the run is killed.
        cwd: working directory (default: the caller's).
        **env: further environment variables, e.g. ``OMP_NUM_THREADS='2'``.

    Returns:
        stdout followed by stderr.
    """
    full_env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO), **env)
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / tool), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=None if cwd is None else str(cwd))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr
