# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/analysis/compare_models.py: one table of params, FLOPs, eager / ONNX Runtime latency and keypoint AP."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / 'tools' / 'analysis' / 'compare_models.py'
OURS = REPO / 'configs' / 'yolopose_n_coco8.py'
YOLOXPOSE_TINY = 'mmpose::body_2d_keypoint/yoloxpose/coco/yoloxpose_tiny_4xb64-300e_coco-416.py'


def _tool():
    spec = importlib.util.spec_from_file_location('compare_models', TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules['compare_models'] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _rows(table: str) -> dict:
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and len(cells) == 6 and cells[0] not in ('model', '---'):
            rows[cells[0]] = cells[1:]
    return rows


def test_ours_and_mmpose_yoloxpose_in_one_table(capsys):
    tool = _tool()
    assert tool.main([f'{OURS}', YOLOXPOSE_TINY, '--no-eval', '--latency-size', '128', '--runs', '1',
                      '--warmup', '0', '--threads', '1']) == 0
    rows = _rows(capsys.readouterr().out)
    ours = rows['yolopose_n_coco8 (random init)']
    theirs = rows['yoloxpose_tiny_4xb64-300e_coco-416 (random init)']
    # params and GFLOPs@640 of ours equal a direct count on the same config
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from yolopose_mm.analysis import model_summary
    init_default_scope('mmpose')
    model = MODELS.build(Config.fromfile(str(OURS)).model)
    direct = model_summary(model, (640, 640))
    assert ours[:2] == [f'{sum(p.numel() for p in model.parameters()):,}', f'{direct["gflops"]:.2f}']
    assert ours[1] == '7.54'  # YOLO11n-pose at 640 (README model table)
    assert int(theirs[0].replace(',', '')) > 5_000_000 and float(theirs[1]) > 10
    for row in (ours, theirs):
        assert float(row[2]) > 0 and float(row[3]) > 0, row  # eager and ONNX Runtime both measured
        assert row[4] == '-'  # --no-eval


@pytest.mark.parametrize('argv, message', [
    (['missing.py'], 'config file missing.py not found'),
    ([f'{OURS}=missing.pth'], 'checkpoint missing.pth not found'),
    (['mmpose::no/such/config.py'], 'no such config in the installed mmpose'),
    ([f'{OURS}', '--latency-size', '100'], 'multiples of 32'),
    ([f'{OURS}', '--runs', '0'], '--runs must be >= 1'),
])
def test_bad_arguments_name_the_fix(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        _tool().parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.slow
def test_keypoint_ap_column_equals_tools_test(tmp_path, data_dir, converted_yolo11n):
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(TOOL), f'{OURS}={converted_yolo11n}', '--data-config', str(OURS),
                           '--latency-size', '128', '--runs', '1', '--warmup', '0', '--threads', '1'],
                          capture_output=True, text=True, env=env, timeout=600, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ap = float(_rows(proc.stdout)['yolopose_n_coco8'][4])
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'test.py'), str(OURS), str(converted_yolo11n),
                           '--work-dir', str(tmp_path)], capture_output=True, text=True, env=env, timeout=600,
                          cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = json.loads((tmp_path / 'metrics.json').read_text())['coco/AP']
    assert expected > 0.3 and ap == pytest.approx(expected, abs=1e-4)
