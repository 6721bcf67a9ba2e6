# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Load ``load_from`` weights where their shapes fit the model and say what was transferred and what was not."""
from __future__ import annotations

from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmpose.registry import HOOKS

from ..weights_transfer import transferable_state


@HOOKS.register_module()
class TransferWeightsHook(Hook):
    """Filter the ``load_from`` checkpoint to the tensors whose name and shape match the model, before it loads.

    mmengine's Runner calls ``after_load_checkpoint`` with the checkpoint dict before loading it into the model
    (non-strict); this hook drops the entries of other shapes there (so they keep the model's own initialisation
    instead of failing the load) and logs ``Transferred 535/541 tensors ...`` with the skipped entries. Runs before
    ``EMAHook`` (priority 49), so the EMA copy starts from the same filtered weights. Resuming (``resume=True``) loads
    everything as saved: the hook does nothing then.

    Args:
        notes: lines logged before the report (what the run builder decided about the checkpoint, e.g. that its
            classes differ from the data's).
    """

    priority = 'HIGH'

    def __init__(self, notes: Optional[Sequence[str]] = None) -> None:
        self.notes = list(notes or [])
        self.report = None

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            return
        state = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state, dict):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        keep, self.report = transferable_state(model.state_dict(), state)
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = keep
        else:
            for key in [k for k in checkpoint if k not in keep]:
                del checkpoint[key]
        for line in self.notes:
            runner.logger.info(line)
        runner.logger.info(self.report.describe(str(runner._load_from or 'the checkpoint')))
