# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""tools/test.py end to end (COCO sample vs Ultralytics' predictions + pycocotools), the val loop on coco8-pose vs
Ultralytics' own `val`, and the command line's errors."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / 'tools' / 'test.py'


def _tool():
    spec = importlib.util.spec_from_file_location('yolopose_tools_test', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_tool(args, data_dir, cwd):
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONWARNINGS='ignore')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


COCO_SIGMAS = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089]
YOLO_KEYS = [f'{name}({tag})' for tag in 'BP' for name in ('precision', 'recall', 'mAP50', 'mAP50-95')]


def _ultralytics_val(pt, yaml: Path, batch: int, project: Path):
    """`YOLO(pt).val(batch=...)` (its rectangular protocol): (metrics, its COCO-format predictions)."""
    from ultralytics import YOLO
    validator = YOLO(str(pt)).val(data=str(yaml), batch=batch, device='cpu', plots=False, verbose=False,
                                  save_json=True, project=str(project), name='val', exist_ok=True)
    return validator.results_dict, json.loads((project / 'val' / 'predictions.json').read_text())


def _keypoint_ap(gt_json: Path, results: list) -> float:
    """xtcocotools keypoint AP of ``results`` (image_id: the GT's id or the image's file stem)."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_json))
        by_stem = {Path(im['file_name']).stem: im['id'] for im in gt.dataset['images']}
        by_stem.update({int(k): v for k, v in list(by_stem.items()) if k.isnumeric()})
        results = [dict(r, image_id=by_stem.get(r['image_id'], r['image_id']), category_id=1) for r in results]
        ev = COCOeval(gt, gt.loadRes(results), 'keypoints', np.array(COCO_SIGMAS), use_area=True)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def _assert_same_metrics(ours: dict, ref: dict, ours_ap: float, ref_ap: float) -> None:
    for key in YOLO_KEYS:
        assert round(ours[f'yolo/{key}'], 4) == round(ref[f'metrics/{key}'], 4), (key, ours, ref)
    assert round(ours['coco/AP'], 4) == round(ref_ap, 4) and abs(ours_ap - ours['coco/AP']) < 1e-9


@pytest.mark.slow
def test_tool_on_coco_sample_equals_yolo_val(data_dir, yolo11n_pose_pt, ultralytics, tmp_path):
    """configs/yolopose_n_coco_sample.py (COCO json, the rectangular protocol) vs `val(batch=4)` on its YOLO
    conversion: the Ultralytics-style metrics to 4 digits, and COCO keypoint AP of both predictions alike."""
    from yolopose_mm.datasets import coco_to_yolo
    root = data_dir / 'mmpose_coco_test'
    out = _run_tool(['configs/yolopose_n_coco_sample.py', yolo11n_pose_pt, '--work-dir', tmp_path / 'wd',
                     '--out', tmp_path / 'results.json', '--show-dir', tmp_path / 'vis',
                     '--cfg-options', 'test_dataloader.batch_size=4'], data_dir, REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / 'wd' / 'metrics.json').read_text())
    yolo_root = tmp_path / 'sample_yolo'
    coco_to_yolo(str(root / 'test_coco.json'), str(root), str(yolo_root), split='val', copy_images=True,
                 kpt_oks_sigmas=COCO_SIGMAS)
    yaml = yolo_root / 'data.yaml'  # Ultralytics resolves a relative `path` against its own datasets folder
    yaml.write_text(yaml.read_text().replace('path: .', f'path: {yolo_root}', 1))
    ref, ref_preds = _ultralytics_val(yolo11n_pose_pt, yaml, 4, tmp_path / 'ul')
    ours_results = json.loads((tmp_path / 'results.json').read_text())
    assert len(ours_results) == len(ref_preds)
    _assert_same_metrics(metrics, ref, _keypoint_ap(root / 'test_coco.json', ours_results),
                         _keypoint_ap(root / 'test_coco.json', ref_preds))
    assert 'COCO-official metrics' in out.stdout + out.stderr and 'Ultralytics-style metrics' in out.stdout + out.stderr
    assert ours_results and len(ours_results[0]['keypoints']) == 17 * 3
    assert len(list((tmp_path / 'vis').glob('*.jpg'))) == 4


@pytest.fixture()
def coco8_copy(data_dir, tmp_path) -> Path:
    """coco8-pose copied to tmp (Ultralytics writes a label cache next to the labels)."""
    dst = tmp_path / 'coco8-pose'
    shutil.copytree(data_dir / 'coco8-pose', dst)
    for path in dst.rglob('*'):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dst


def _test_in_process(tmp_path, name, checkpoint, yaml, batch, capsys) -> tuple:
    wd = tmp_path / name
    code = _tool().main([str(REPO / 'configs' / 'yolopose_n_coco8.py'), str(checkpoint), '--work-dir', str(wd),
                         '--out', str(wd / 'results.json'),
                         '--cfg-options', f'test_dataloader.batch_size={batch}',
                         f'test_dataloader.dataset.data_yaml={yaml}', f'test_dataloader.dataset.cache_dir={wd}/c'])
    capsys.readouterr()
    assert code == 0
    return json.loads((wd / 'metrics.json').read_text()), json.loads((wd / 'results.json').read_text())


@pytest.mark.slow
def test_tool_on_coco8_equals_yolo_val_and_dist_test(coco8_copy, yolo11n_pose_pt, converted_yolo11n, ultralytics,
                                                     tmp_path, capsys):
    """tools/test.py on coco8-pose val with the configs' rectangular protocol equals `val(batch=4)` (both metric
    families to 4 digits); batch 2 (two shapes) over 2 gloo processes equals batch 2 in one process exactly."""
    from yolopose_mm.datasets import yolo_to_coco
    yaml = coco8_copy / 'coco8-pose.yaml'
    ref, ref_preds = _ultralytics_val(yolo11n_pose_pt, yaml, 4, tmp_path / 'ul')
    ours, ours_results = _test_in_process(tmp_path, 'b4', converted_yolo11n, yaml, 4, capsys)
    gt = tmp_path / 'coco8_val.json'
    yolo_to_coco(str(yaml), 'val', str(gt))
    _assert_same_metrics(ours, ref, _keypoint_ap(gt, [dict(r, image_id=Path(p).stem) for r, p in
                                                      _with_paths(ours_results, coco8_copy)]),
                         _keypoint_ap(gt, ref_preds))
    single, _ = _test_in_process(tmp_path, 'b2', converted_yolo11n, yaml, 2, capsys)
    assert single['yolo/mAP50(P)'] != ours['yolo/mAP50(P)']  # the batch's shape matters: 2 batches, 2 shapes
    env = dict(os.environ, YOLOPOSE_DATA=str(coco8_copy.parent), PYTHON=sys.executable, PORT='29613',
               PYTHONWARNINGS='ignore')
    proc = subprocess.run(['bash', str(REPO / 'tools' / 'dist_test.sh'), str(REPO / 'configs' / 'yolopose_n_coco8.py'),
                           str(converted_yolo11n), '2', '--work-dir', str(tmp_path / 'dist'), '--cfg-options',
                           'test_dataloader.batch_size=2', f'test_dataloader.dataset.data_yaml={yaml}',
                           f'test_dataloader.dataset.cache_dir={tmp_path}/dist/c'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dist = json.loads((tmp_path / 'dist' / 'metrics.json').read_text())
    assert dist == single


def _with_paths(results: list, root: Path):
    """Our COCO results carry our image ids (dataset indices): attach each one's image file."""
    from yolopose_mm.datasets import YOLOPoseDataset
    ds = YOLOPoseDataset(data_yaml=str(root / 'coco8-pose.yaml'), split='val', test_mode=True, lazy_init=False,
                         cache_dir=str(root / '.c'))
    paths = {ds.get_data_info(i)['img_id']: ds.get_data_info(i)['img_path'] for i in range(len(ds))}
    return [(r, paths[r['image_id']]) for r in results]


def test_config_evaluators_are_ours():
    from mmengine.config import Config
    for name in ('yolopose_n_coco8.py', 'yolopose_n_coco.py', 'yolopose_n_coco_sample.py'):
        cfg = Config.fromfile(str(REPO / 'configs' / name))
        assert cfg.val_evaluator['type'] == 'YOLOPoseMetric', name
        assert cfg.test_evaluator['type'] == 'YOLOPoseMetric', name


def test_command_line_errors(tmp_path, capsys):
    tool = _tool()
    with pytest.raises(SystemExit):
        tool.parse_args(['cfg.py', 'ckpt.pth', '--out', 'results.txt'])
    assert '--out must end with .json' in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'missing.py'), 'ckpt.pth']) == 2
    assert 'config not found' in capsys.readouterr().err
    assert tool.main([str(REPO / 'configs' / 'yolopose_n_coco_sample.py'), str(tmp_path / 'missing.pth'),
                      '--work-dir', str(tmp_path / 'wd')]) == 2
    assert 'checkpoint not found' in capsys.readouterr().err


def test_out_options_edit_a_copy_of_the_evaluator_config(tmp_path):
    from mmengine.config import Config
    tool = _tool()
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco_sample.py'))
    args = tool.parse_args([str(REPO / 'configs' / 'yolopose_n_coco_sample.py'), 'x.pth', '--out',
                            str(tmp_path / 'r.json')])
    cfg = tool.merge_args(cfg, args)
    assert cfg.test_evaluator['results_json'] == str(tmp_path / 'r.json')
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco_sample.py'))
    cfg = tool.merge_args(cfg, tool.parse_args(['c.py', 'x.pth', '--out', 'raw.pkl']))
    assert [e['type'] for e in cfg.test_evaluator] == ['YOLOPoseMetric', 'DumpResults']
    cfg.test_evaluator = dict(type='CocoMetric')
    with pytest.raises(ValueError, match='YOLOPoseMetric'):
        tool.merge_args(cfg, tool.parse_args(['c.py', 'x.pth', '--out', 'r.json']))
