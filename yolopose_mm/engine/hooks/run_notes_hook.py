# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Log what the run builder decided (data, head, weights, optimizer, input size) at the start of the run."""
from __future__ import annotations

from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS


@HOOKS.register_module()
class RunNotesHook(Hook):
    """Write ``notes`` to the run's log (console and log file) before anything else runs.

    ``tools/train.py --data ...`` decides things before the Runner (and its log file) exists; this hook puts them in
    the log, and the notes stay in the config dumped to the work dir.

    Args:
        notes: one line each.
    """

    priority = 'HIGHEST'

    def __init__(self, notes: Optional[Sequence[str]] = None) -> None:
        self.notes = [str(n) for n in (notes or [])]

    def before_run(self, runner: Runner) -> None:
        for line in self.notes:
            runner.logger.info(line)
