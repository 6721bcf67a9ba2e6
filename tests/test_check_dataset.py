# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A zoo of malformed datasets: each problem gives its documented error in tools/check_dataset.py and the same
counted skip (or clear error) in the training-time YOLOPoseDataset; training on a partly bad dataset completes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from yolopose_mm.datasets import DatasetYamlError, YOLOPoseDataset
from yolopose_mm.datasets.dataset_check import check_path

REPO = Path(__file__).resolve().parents[1]
GOOD = '0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.4 2 0.5 0.6 1'  # K=3, dim 3
YAML = 'path: .\ntrain: images/train\nval: images/train\nkpt_shape: [3, 3]\nflip_idx: [1, 0, 2]\nnames:\n  0: thing\n'

# label text per image name, and the problem kind (severity) each must produce
ZOO = {
    'good': (GOOD + '\n', None),
    'columns': (GOOD + ' 0.5\n', ('columns', 'error')),
    'kpt_count': ('0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.4 2\n', ('columns', 'error')),  # 2 keypoints, kpt_shape 3
    'nan': (GOOD.replace('0.6 0.4', 'abc 0.4') + '\n', ('not_a_number', 'error')),
    'range': (GOOD.replace('0 0.5 0.5', '0 1.5 0.5', 1) + '\n', ('out_of_range', 'error')),
    'vis': (GOOD[:-1] + '3\n', ('visibility', 'error')),
    'zero': (GOOD + '\n' + GOOD.replace('0.4 0.4 0.4', '0.0 0.4 0.4', 1) + '\n', ('zero_area', 'warning')),
    'dup': (GOOD + '\n' + GOOD + '\n', ('duplicate', 'warning')),
    'nolabel': (None, ('missing_label', 'warning')),
}


def _image(path: Path, size=(64, 48), exif_orientation: int = 1) -> None:
    im = Image.new('RGB', size, (120, 60, 30))
    exif = im.getexif()
    if exif_orientation != 1:
        exif[0x0112] = exif_orientation
    im.save(path, exif=exif.tobytes())


def make_zoo(root: Path) -> Path:
    """Write the zoo dataset; returns its yaml."""
    for sub in ('images/train', 'labels/train'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, (text, _) in ZOO.items():
        _image(root / 'images/train' / f'{name}.jpg')
        if text is not None:
            (root / 'labels/train' / f'{name}.txt').write_text(text)
    (root / 'images/train/broken.jpg').write_bytes(b'not an image at all')
    _image(root / 'images/train/trunc.jpg', (200, 150))
    data = (root / 'images/train/trunc.jpg').read_bytes()
    (root / 'images/train/trunc.jpg').write_bytes(data[:len(data) - 40])
    _image(root / 'images/train/exif.jpg', (64, 48), exif_orientation=6)  # stored 64x48, shown 48x64
    for name in ('broken', 'trunc', 'exif'):
        (root / 'labels/train' / f'{name}.txt').write_text(GOOD + '\n')
    (root / 'labels/train/orphan.txt').write_text(GOOD + '\n')
    (root / 'data.yaml').write_text(YAML)
    return root / 'data.yaml'


EXPECTED = Counter({('columns', 'error'): 2, ('not_a_number', 'error'): 1, ('out_of_range', 'error'): 1,
                    ('visibility', 'error'): 1, ('zero_area', 'warning'): 1, ('duplicate', 'warning'): 1,
                    ('missing_label', 'warning'): 1, ('unreadable_image', 'error'): 1,
                    ('truncated_image', 'error'): 1, ('exif_rotated', 'warning'): 1,
                    ('label_without_image', 'warning'): 1})


def test_checker_reports_every_problem_with_file_and_line(tmp_path):
    yaml_path = make_zoo(tmp_path / 'zoo')
    report = check_path(str(yaml_path), ['train'])
    assert Counter((p.kind, p.severity) for p in report.problems) == EXPECTED
    by_kind = {p.kind: p for p in report.problems}
    assert by_kind['not_a_number'].path.endswith('labels/train/nan.txt')
    assert by_kind['not_a_number'].line == 1 and "'abc'" in by_kind['not_a_number'].message
    assert by_kind['duplicate'].line == 2 and 'line 1' in by_kind['duplicate'].message
    assert by_kind['zero_area'].line == 2
    assert 'kpt_shape [3, 3]' in [p for p in report.problems if p.path.endswith('kpt_count.txt')][0].message
    assert by_kind['label_without_image'].path.endswith('orphan.txt')
    assert report.usable['train'] == 5  # good, zero, dup, nolabel (background), exif
    assert report.num_errors == 7


@pytest.mark.slow
def test_checker_cli_exit_codes_and_summary(tmp_path, data_dir):
    yaml_path = make_zoo(tmp_path / 'zoo')
    tool = [sys.executable, str(REPO / 'tools' / 'check_dataset.py')]
    bad = subprocess.run(tool + [str(yaml_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stderr
    assert f'{tmp_path}/zoo/labels/train/vis.txt:1: [visibility]' in bad.stdout
    assert '     2 columns (error)' in bad.stdout and '7 errors, 5 warnings' in bad.stdout
    good = subprocess.run(tool + [str(data_dir / 'coco8-pose' / 'coco8-pose.yaml')], capture_output=True,
                          text=True, timeout=120)
    assert good.returncode == 0 and '0 errors, 0 warnings' in good.stdout
    missing = subprocess.run(tool + [str(tmp_path / 'nope.yaml')], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and 'does not exist' in missing.stderr and 'Traceback' not in missing.stderr


@pytest.mark.parametrize('line, kind, text', [
    ('flip_idx: [1, 1, 2]\n', 'flip_idx', 'permutation of 0..2'),
    ('flip_idx: [1, 0]\n', 'flip_idx', '(3 entries)'),
    ('kpt_oks_sigmas: [0.1, 0.2]\n', 'kpt_oks_sigmas', '3 positive numbers'),
])
def test_yaml_keys_checker_line_and_dataset_error(tmp_path, line, kind, text):
    yaml_path = make_zoo(tmp_path / 'zoo')
    yaml_path.write_text(YAML.replace('flip_idx: [1, 0, 2]\n', '') + line)
    report = check_path(str(yaml_path), ['train'])
    problem = [p for p in report.problems if p.kind == kind][0]
    assert problem.severity == 'error' and text in problem.message and problem.line == 7
    with pytest.raises(DatasetYamlError, match=f'{kind} must'):
        YOLOPoseDataset(str(yaml_path), 'train')


def test_dataset_skips_and_counts_the_same_problems(tmp_path, caplog):
    yaml_path = make_zoo(tmp_path / 'zoo')
    ds = YOLOPoseDataset(str(yaml_path), 'train', cache_dir=str(tmp_path / 'cache'))
    assert Counter((p.kind, p.severity) for p in ds.problem_report()) == EXPECTED
    info = {Path(ds.get_data_info(i)['img_path']).stem: ds.get_data_info(i) for i in range(len(ds))}
    assert set(info) == {'dup', 'exif', 'good', 'nolabel', 'zero'}
    assert len(info['dup']['bbox']) == 1 and len(info['zero']['bbox']) == 1 and len(info['nolabel']['bbox']) == 0
    assert info['exif']['ori_shape'] == (64, 48)  # EXIF rotation applied: 48 wide, 64 high
    # a second load comes from the cache and reports the same
    again = YOLOPoseDataset(str(yaml_path), 'train', cache_dir=str(tmp_path / 'cache'))
    assert Counter(p.kind for p in again.problem_report()) == Counter(p.kind for p in ds.problem_report())


def test_dataset_with_zero_usable_samples_stops_clearly(tmp_path):
    yaml_path = make_zoo(tmp_path / 'zoo')
    for name in ('good', 'zero', 'dup', 'nolabel', 'exif'):
        (tmp_path / 'zoo/images/train' / f'{name}.jpg').unlink()
    with pytest.raises(ValueError, match='no usable images in the train split'):
        YOLOPoseDataset(str(yaml_path), 'train', cache_dir=str(tmp_path / 'cache'))


def test_coco_checker_shares_the_row_checks(tmp_path, data_dir):
    coco = json.loads((data_dir / 'mmpose_coco_test' / 'test_coco.json').read_text())
    anns = coco['annotations']
    anns[1]['keypoints'] = anns[1]['keypoints'][:-3]  # 16 keypoints
    anns[2]['bbox'][2] = 0.0  # zero width
    anns[4]['keypoints'][2] = 5  # visibility 5
    anns[5]['image_id'] = 999
    coco['images'][0]['width'] += 1  # its one annotation (anns[0]) then has no usable image either
    ann_file = tmp_path / 'bad.json'
    ann_file.write_text(json.dumps(coco))
    report = check_path(str(ann_file), img_dir=str(data_dir / 'mmpose_coco_test'))
    where = {(p.kind, p.line) for p in report.problems}
    assert where == {('image_size', 1), ('image_id', 1), ('columns', 2), ('zero_area', 3), ('visibility', 5),
                     ('image_id', 6)}, where
    assert report.num_errors == 5
    clean = check_path(str(data_dir / 'mmpose_coco_test' / 'test_coco.json'))
    assert clean.num_errors == 0


@pytest.mark.slow
def test_training_on_a_partly_bad_dataset_completes_and_reports(tmp_path, data_dir):
    root = tmp_path / 'mixed'
    yaml_path = make_zoo(root)
    yaml_path.write_text(YAML.replace('kpt_shape: [3, 3]', 'kpt_shape: [17, 3]').replace(
        'flip_idx: [1, 0, 2]', 'flip_idx: [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]'))
    # the zoo's K=3 rows are 'columns' errors under K=17: only coco8's 4 images and the background one are used
    src = data_dir / 'coco8-pose'
    for img in sorted((src / 'images/train').glob('*.jpg')):
        shutil.copy(img, root / 'images/train' / img.name)
        shutil.copy(src / 'labels/train' / f'{img.stem}.txt', root / 'labels/train' / f'{img.stem}.txt')
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir), PYTHONPATH=str(REPO))
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(REPO / 'tests/configs/coco8_tiny_plain.py'),
           '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=1',
           f'train_dataloader.dataset.data_yaml={yaml_path}', 'train_dataloader.batch_size=4']
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'used, ' in out and 'Run tools/check_dataset.py' in out
    line = [s for s in out.splitlines() if 'images listed' in s][0]
    assert '16 images listed, 5 used, 11 skipped' in line, line
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_checker_on_configs(data_dir, monkeypatch):
    monkeypatch.setenv('YOLOPOSE_DATA', str(data_dir))
    report = check_path(str(REPO / 'configs' / 'yolopose_n_coco8.py'))
    assert report.num_errors == 0 and report.usable == {'train': 4, 'val': 4}
    # a config whose train set (full COCO) is absent: reported, and its other datasets still checked
    report = check_path(str(REPO / 'configs' / 'yolopose_n_coco_sample.py'))
    assert [p.kind for p in report.problems] == ['missing_annotations'] and report.usable == {'test_coco.json': 4}
