# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pose and box precision-recall curves of the last validation (``PosePR_curve.png``, ``BoxPR_curve.png``)."""
from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS

from ...evaluation.yolo_ap import PR_RECALL_GRID
from ...plots import class_names, plot_pr_curve

_TITLES = {'P': ('PosePR_curve.png', 'pose (OKS 0.5)'), 'B': ('BoxPR_curve.png', 'box (IoU 0.5)')}


@HOOKS.register_module()
class PRCurvesHook(Hook):
    """After each validation, draw the precision-recall curves (at OKS 0.5 for poses, IoU 0.5 for boxes) that
    ``YOLOPoseMetric``'s Ultralytics-style evaluation computed: one line per class and the class mean, with AP50 in
    the legend. Does nothing when the validation has no ``YOLOPoseMetric`` with ``'yolo'`` metrics.

    Args:
        out_dir: where the files go (default: the work dir).
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self._failed = False
        self.written = []

    def after_val_epoch(self, runner: Runner, metrics=None) -> None:
        if self._failed or not is_main_process():
            return
        evaluator = getattr(getattr(runner, 'val_loop', None), 'evaluator', None)
        for metric in getattr(evaluator, 'metrics', []):
            summaries = getattr(metric, 'last_summaries', None)
            if not summaries:
                continue
            try:
                for tag, summary in summaries.items():
                    if summary.pr_curve is None or tag not in _TITLES:
                        continue
                    name, title = _TITLES[tag]
                    out = osp.join(self.out_dir or runner.work_dir, name)
                    plot_pr_curve(PR_RECALL_GRID, summary.pr_curve, summary.ap_per_class[:, 0],
                                  class_names(summary.classes, metric.dataset_meta), out, title)
                    if out not in self.written:
                        self.written.append(out)
            except Exception as e:  # pictures must never stop a run
                self._failed = True
                runner.logger.warning(f'PRCurvesHook: could not draw the PR curves ({type(e).__name__}: {e}); '
                                      'training goes on without them')
            return
