# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""COCO <-> YOLO dataset converters: the round trip on real COCO annotations, counts of what YOLO cannot hold."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from yolopose_mm.datasets import YOLOPoseDataset
from yolopose_mm.datasets.coco_yolo_convert import coco_to_yolo, infer_flip_idx, yolo_to_coco

REPO = Path(__file__).resolve().parents[1]


def _match(original: dict, back: dict) -> list:
    """Pairs (original person, returned person): same image file, nearest box."""
    names = {i['id']: Path(i['file_name']).name for i in original['images']}
    back_names = {i['id']: Path(i['file_name']).name for i in back['images']}
    pairs = []
    for a in original['annotations']:
        if a['iscrowd']:
            continue
        same = [b for b in back['annotations'] if back_names[b['image_id']] == names[a['image_id']]]
        pairs.append((a, min(same, key=lambda b: np.abs(np.subtract(a['bbox'], b['bbox'])).max())))
    return pairs


@pytest.mark.slow
def test_round_trip_on_real_coco_matches_to_1e3_px(tmp_path, data_dir):
    src = data_dir / 'mmpose_coco_test'
    original = json.loads((src / 'test_coco.json').read_text())
    # add a crowd region so the count of what YOLO cannot hold is exercised on real data
    crowd = dict(original['annotations'][0], id=999999, iscrowd=1, num_keypoints=0, keypoints=[0] * 51)
    original['annotations'].append(crowd)
    ann_file = tmp_path / 'with_crowd.json'
    ann_file.write_text(json.dumps(original))
    out = subprocess.run([sys.executable, str(REPO / 'tools/dataset_converters/coco2yolo.py'), str(ann_file),
                          str(src), str(tmp_path / 'yolo'), '--split', 'val', '--sigmas-from', 'coco'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '1 crowd regions dropped' in out.stdout and '14 people' in out.stdout
    assert '2 people without keypoints written as box-only rows' in out.stdout
    data = yaml.safe_load((tmp_path / 'yolo' / 'data.yaml').read_text())
    assert data['kpt_shape'] == [17, 3] and data['flip_idx'][1:3] == [2, 1] and len(data['kpt_oks_sigmas']) == 17
    back_file = tmp_path / 'back.json'
    back_out = subprocess.run([sys.executable, str(REPO / 'tools/dataset_converters/yolo2coco.py'),
                               str(tmp_path / 'yolo' / 'data.yaml'), '--split', 'val', '--out', str(back_file)],
                              capture_output=True, text=True, timeout=120)
    assert back_out.returncode == 0, back_out.stderr
    back = json.loads(back_file.read_text())
    # image sizes come from the image files and equal the json's
    assert sorted((Path(i['file_name']).name, i['width'], i['height']) for i in back['images']) == sorted(
        (Path(i['file_name']).name, i['width'], i['height']) for i in original['images'])
    pairs = _match(original, back)
    assert len(pairs) == len(back['annotations']) == 14
    assert len({id(b) for _, b in pairs}) == 14  # one to one
    worst = 0.0
    for a, b in pairs:
        worst = max(worst, float(np.abs(np.subtract(a['bbox'], b['bbox'])).max()))
        ka, kb = np.reshape(a['keypoints'], (17, 3)), np.reshape(b['keypoints'], (17, 3))
        np.testing.assert_array_equal(ka[:, 2], kb[:, 2])
        worst = max(worst, float(np.abs(ka[:, :2] - kb[:, :2]).max()))
        assert b['num_keypoints'] == a['num_keypoints'] and b['category_id'] == a['category_id']
    assert worst < 1e-3, worst
    print(f'round trip: worst box/keypoint difference {worst:.2e} px over {len(pairs)} people')
    # the converted dataset loads in training without problems
    ds = YOLOPoseDataset(str(tmp_path / 'yolo' / 'data.yaml'), 'val', cache_dir=str(tmp_path / 'cache'))
    assert len(ds) == 4 and not ds.problem_report()


def test_drop_empty_and_infer_flip(tmp_path, data_dir):
    src = data_dir / 'crowdpose'
    counts = coco_to_yolo(str(src / 'test_crowdpose.json'), str(src), str(tmp_path / 'cp'), 'train',
                          drop_empty=True, copy_images=True)
    data = yaml.safe_load((tmp_path / 'cp' / 'data.yaml').read_text())
    assert data['kpt_shape'] == [14, 3]
    names = data['kpt_names']
    for i, j in enumerate(data['flip_idx']):
        assert names[j] == names[i].replace('left', 'X').replace('right', 'left').replace('X', 'right')
    total = sum(1 for _ in json.loads((src / 'test_crowdpose.json').read_text())['annotations'])
    assert counts['people'] + counts['no_keypoints_dropped'] + counts['crowd_dropped'] \
        + counts['zero_area_dropped'] == total
    assert not (tmp_path / 'cp' / 'images' / 'train' / '103319.jpg').is_symlink()
    assert counts['skeleton_links_dropped'] == 3  # the sample kept COCO's 17-keypoint skeleton
    assert infer_flip_idx(['left_a', 'b']) is None  # no partner: no guess
    counts_back = yolo_to_coco(str(tmp_path / 'cp' / 'data.yaml'), 'train', str(tmp_path / 'cp.json'))
    assert counts_back['people'] == counts['people']
