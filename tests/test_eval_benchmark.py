# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/analysis/benchmark_eval.py runs (tiny sizes) and its own check (our AP == direct xtcocotools AP) holds."""
from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / 'tools' / 'analysis' / 'benchmark_eval.py'


def test_benchmark_eval_smoke(capsys):
    spec = importlib.util.spec_from_file_location('yolopose_benchmark_eval', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(['--images', '8', '--dets', '60', '--repeat', '1']) == 0
    out = capsys.readouterr().out
    assert 'YOLOPoseMetric coco+yolo' in out and 'keypoint AP (both)' in out
