# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""YOLOPoseMetric: COCO-official numbers equal xtcocotools' / pycocotools' COCOeval run directly, for COCO json and
YOLO-format ground truth, any K, with the dataset's sigmas; edge cases give numbers."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import yolopose_mm  # noqa: F401
from yolopose_mm.datasets.yolo_metainfo import mmpose_dataset_config
from yolopose_mm.evaluation import BOX_STAT_NAMES, KEYPOINT_STAT_NAMES, YOLOPoseMetric


def _meta(name: str) -> dict:
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    return parse_pose_metainfo(dict(from_file=mmpose_dataset_config(f'{name}.py')))


def _sample(img_id, w, h, kpts, kpt_scores, boxes, scores, anns=None):
    inst = dict(keypoints=np.asarray(kpts, np.float32), keypoint_scores=np.asarray(kpt_scores, np.float32),
                bboxes=np.asarray(boxes, np.float32).reshape(-1, 4), bbox_scores=np.asarray(scores, np.float32),
                labels=np.zeros(len(scores), np.int64))
    out = dict(img_id=img_id, ori_shape=(h, w), pred_instances=inst)
    if anns is not None:
        out['raw_ann_info'] = anns
    return out


def _evaluate(metric: YOLOPoseMetric, samples) -> dict:
    metric.process([], samples)
    return metric.evaluate(len(samples))


def _results(samples, with_kpts=True):
    """COCO results built directly from the samples (independent of the metric)."""
    res = []
    for s in samples:
        p = s['pred_instances']
        for i in range(len(p['bbox_scores'])):
            x0, y0, x1, y1 = (float(v) for v in p['bboxes'][i])
            r = dict(image_id=s['img_id'], category_id=1, bbox=[x0, y0, x1 - x0, y1 - y0],
                     score=float(p['bbox_scores'][i]))
            if with_kpts:
                r['keypoints'] = np.concatenate([p['keypoints'][i], p['keypoint_scores'][i][:, None]],
                                                1).reshape(-1).tolist()
            res.append(r)
    return res


def _direct(gt_json, results, iou_type, sigmas=None, use_area=True, api='xtcocotools'):
    """COCOeval run directly (no yolopose_mm code)."""
    with contextlib.redirect_stdout(io.StringIO()):
        if api == 'xtcocotools':
            from xtcocotools.coco import COCO
            from xtcocotools.cocoeval import COCOeval
            gt = COCO(str(gt_json))
            dt = gt.loadRes(copy.deepcopy(results))
            ev = COCOeval(gt, dt, iou_type, np.asarray(sigmas), use_area) if iou_type != 'bbox' else \
                COCOeval(gt, dt, 'bbox')
        else:
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
            gt = COCO(str(gt_json))
            dt = gt.loadRes(copy.deepcopy(results))
            ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _ours(metrics: dict, names, prefix='coco/'):
    return np.array([metrics[prefix + n] for n in names])


# ------------------------------------------------------------------ real predictions on COCO val images
@pytest.fixture(scope='module')
def coco_sample(data_dir, converted_yolo11n):
    """Fixed predictions of the converted yolo11n-pose on mmpose's 4 COCO val images (evaluation settings)."""
    from yolopose_mm.apis import inference, init_model
    root = data_dir / 'mmpose_coco_test'
    gt = json.loads((root / 'test_coco.json').read_text())
    model = init_model(str(converted_yolo11n))
    samples = []
    for img in gt['images']:
        pred = inference(model, str(root / img['file_name']), score_thr=0.001, nms_thr=0.7, max_per_img=300)
        p = pred.pred_instances
        samples.append(_sample(img['id'], img['width'], img['height'], p.keypoints, p.keypoint_scores, p.bboxes,
                               p.bbox_scores))
    return root / 'test_coco.json', samples


def test_coco_official_equals_direct_cocoeval(coco_sample, tmp_path):
    ann_file, samples = coco_sample
    metric = YOLOPoseMetric(ann_file=str(ann_file), outfile_prefix=str(tmp_path / 'r'))
    metric.dataset_meta = _meta('coco')
    ours = _evaluate(metric, copy.deepcopy(samples))
    kpt_res, box_res = _results(samples), _results(samples, with_kpts=False)
    assert sum(len(s['pred_instances']['bbox_scores']) for s in samples) == len(kpt_res) > 4
    sigmas = _meta('coco')['sigmas']
    kpt_x = _direct(ann_file, kpt_res, 'keypoints', sigmas)
    kpt_py = _direct(ann_file, kpt_res, 'keypoints', api='pycocotools')  # COCO's own 17 sigmas
    box_x = _direct(ann_file, box_res, 'bbox')
    box_py = _direct(ann_file, box_res, 'bbox', api='pycocotools')
    np.testing.assert_allclose(_ours(ours, KEYPOINT_STAT_NAMES), kpt_x, atol=1e-6)
    np.testing.assert_allclose(_ours(ours, KEYPOINT_STAT_NAMES), kpt_py, atol=1e-6)
    np.testing.assert_allclose(_ours(ours, BOX_STAT_NAMES), box_x, atol=1e-6)
    np.testing.assert_allclose(_ours(ours, BOX_STAT_NAMES), box_py, atol=1e-6)
    assert 0.6 < ours['coco/AP'] < 0.8 and 0.6 < ours['coco/bbox_AP'] < 0.9
    # the dumped results are those predictions
    dumped = json.loads((tmp_path / 'r.keypoints.json').read_text())
    assert len(dumped) == len(kpt_res)
    np.testing.assert_allclose([d['keypoints'] for d in dumped], [r['keypoints'] for r in kpt_res], atol=1e-4)
    np.testing.assert_allclose([d['score'] for d in dumped], [r['score'] for r in kpt_res], atol=1e-6)
    for key in ('yolo/precision(B)', 'yolo/recall(B)', 'yolo/mAP50(B)', 'yolo/mAP50-95(B)',
                'yolo/precision(P)', 'yolo/recall(P)', 'yolo/mAP50(P)', 'yolo/mAP50-95(P)'):
        assert 0.0 < ours[key] <= 1.0, key


def test_no_predictions_at_all(coco_sample):
    ann_file, samples = coco_sample
    empty = [_sample(s['img_id'], 10, 10, np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros((0, 4)), np.zeros(0))
             for s in samples]
    metric = YOLOPoseMetric(ann_file=str(ann_file))
    metric.dataset_meta = _meta('coco')
    out = _evaluate(metric, empty)
    assert out['coco/AP'] == 0.0 and out['coco/bbox_AP'] == 0.0
    assert out['yolo/mAP50-95(P)'] == 0.0 and out['yolo/recall(B)'] == 0.0


# ------------------------------------------------------------------ synthetic ground truth: edge cases
def _ann(ann_id, img_id, box, kpts, vis, crowd=0):
    flat = np.concatenate([np.asarray(kpts, float), np.asarray(vis, float)[:, None] * 2], 1).reshape(-1)
    return dict(id=ann_id, image_id=img_id, category_id=1, bbox=list(map(float, box)), keypoints=flat.tolist(),
                iscrowd=crowd, area=float(box[2] * box[3]), num_keypoints=int(np.sum(vis)))


def test_edge_cases_give_numbers_equal_to_cocoeval(tmp_path):
    rng = np.random.default_rng(1)
    k = 17
    person = rng.uniform(100, 200, (k, 2))
    anns1 = [_ann(1, 1, [90, 90, 120, 120], person, np.ones(k)),
             _ann(2, 1, [300, 300, 80, 150], rng.uniform(300, 400, (k, 2)), np.zeros(k)),  # no labelled keypoint
             _ann(3, 1, [0, 300, 200, 100], np.zeros((k, 2)), np.zeros(k), crowd=1)]  # crowd region
    anns3 = [_ann(4, 3, [50, 50, 100, 200], rng.uniform(50, 150, (k, 2)), np.ones(k))]
    good = person + rng.normal(0, 2, (k, 2))
    samples = [
        _sample(1, 640, 480, [good, rng.uniform(0, 200, (k, 2)), rng.uniform(0, 300, (k, 2))],
                np.full((3, k), 0.9), [[90, 90, 210, 210], [5, 305, 190, 395], [300, 300, 380, 450]],
                [0.9, 0.6, 0.5], anns1),
        _sample(2, 640, 480, [rng.uniform(0, 100, (k, 2))] * 2, np.full((2, k), 0.5),
                [[0, 0, 50, 50], [10, 10, 60, 60]], [0.8, 0.3], []),  # no ground truth, two predictions
        _sample(3, 640, 480, np.zeros((0, k, 2)), np.zeros((0, k)), np.zeros((0, 4)), np.zeros(0), anns3),
    ]
    metric = YOLOPoseMetric(outfile_prefix=str(tmp_path / 'e'))
    metric.dataset_meta = _meta('coco')
    out = _evaluate(metric, copy.deepcopy(samples))
    assert all(np.isfinite(v) for v in out.values())
    gt = dict(images=[dict(id=i, width=640, height=480) for i in (1, 2, 3)], annotations=anns1 + anns3,
              categories=[dict(id=1, name='person')])
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    sig = _meta('coco')['sigmas']
    np.testing.assert_allclose(_ours(out, KEYPOINT_STAT_NAMES),
                               _direct(tmp_path / 'gt.json', _results(samples), 'keypoints', sig), atol=1e-6)
    np.testing.assert_allclose(_ours(out, BOX_STAT_NAMES),
                               _direct(tmp_path / 'gt.json', _results(samples, False), 'bbox', api='pycocotools'),
                               atol=1e-6)
    # Ultralytics-style: crowd left out -> 3 people; the zero-keypoint person is found as a box, never as a pose
    assert out['yolo/recall(B)'] == pytest.approx(2 / 3, abs=1e-6)
    assert out['yolo/recall(P)'] <= 1 / 3 + 1e-6


# ------------------------------------------------------------------ YOLO-format datasets
def _write_yolo_dataset(root: Path, k: int, dim: int, sigmas=None) -> Path:
    import cv2
    rng = np.random.default_rng(k)
    for split in ('train', 'val'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'labels' / split).mkdir(parents=True)
        for i in range(2):
            w, h = 320, 240
            cv2.imwrite(str(root / 'images' / split / f'{i}.jpg'), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
            rows = []
            for _ in range(2):
                cx, cy, bw, bh = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.4), \
                    rng.uniform(0.2, 0.4)
                pts = np.stack([rng.uniform(cx - bw / 2, cx + bw / 2, k), rng.uniform(cy - bh / 2, cy + bh / 2, k)], 1)
                if dim == 3:
                    pts = np.concatenate([pts, np.full((k, 1), 2.0)], 1)
                rows.append(' '.join(f'{v:.6f}' for v in [0, cx, cy, bw, bh, *pts.reshape(-1)]))
            (root / 'labels' / split / f'{i}.txt').write_text('\n'.join(rows) + '\n')
    text = f'path:\ntrain: images/train\nval: images/val\nkpt_shape: [{k}, {dim}]\nnames:\n  0: thing\n'
    if sigmas is not None:
        text += f'kpt_oks_sigmas: {list(sigmas)}\n'
    (root / 'data.yaml').write_text(text)
    return root / 'data.yaml'


def _samples_from_dataset(ds, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kpts = info['keypoints'] + rng.normal(0, noise, info['keypoints'].shape)
        n = len(kpts)
        samples.append(_sample(info['img_id'], info['width'], info['height'], kpts, np.full(kpts.shape[:2], 0.9),
                               info['bbox'], np.linspace(0.9, 0.5, n), info['raw_ann_info']))
    return samples


def test_yolo_dataset_k5_dim2_uses_yaml_sigmas(tmp_path):
    from yolopose_mm.datasets import YOLOPoseDataset
    sigmas = [0.05, 0.06, 0.07, 0.08, 0.09]
    yaml_path = _write_yolo_dataset(tmp_path / 'k5', 5, 2, sigmas)
    ds = YOLOPoseDataset(str(yaml_path), split='val', test_mode=True, cache_dir=str(tmp_path / 'cache'))
    samples = _samples_from_dataset(ds, noise=3.0)
    metric = YOLOPoseMetric(outfile_prefix=str(tmp_path / 'k5r'))
    metric.dataset_meta = ds.metainfo
    out = _evaluate(metric, copy.deepcopy(samples))
    gt = json.loads((tmp_path / 'k5r.gt.json').read_text())
    # areas from boxes as Ultralytics' pose validator: box area x 0.53
    for a in gt['annotations']:
        assert a['area'] == pytest.approx(a['bbox'][2] * a['bbox'][3] * 0.53, rel=1e-5)
    res = _results(samples)
    direct = _direct(tmp_path / 'k5r.gt.json', res, 'keypoints', sigmas)
    np.testing.assert_allclose(_ours(out, KEYPOINT_STAT_NAMES), direct, atol=1e-6)
    other = _direct(tmp_path / 'k5r.gt.json', res, 'keypoints', [0.2] * 5)
    assert not np.allclose(direct, other)  # the sigmas matter, so the equality above checks they were used


def test_yolo_dataset_without_sigmas_falls_back_to_1_over_k_with_one_warning(tmp_path):
    from yolopose_mm.datasets import YOLOPoseDataset
    yaml_path = _write_yolo_dataset(tmp_path / 'k5n', 5, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ds = YOLOPoseDataset(str(yaml_path), split='val', test_mode=True, cache_dir=str(tmp_path / 'cache'))
        samples = _samples_from_dataset(ds, noise=3.0)
        metric = YOLOPoseMetric(outfile_prefix=str(tmp_path / 'k5n'))
        metric.dataset_meta = ds.metainfo
        out = _evaluate(metric, copy.deepcopy(samples))
    about_sigmas = [w for w in caught if '1/K' in str(w.message)]
    assert len(about_sigmas) == 1, [str(w.message) for w in caught]
    direct = _direct(tmp_path / 'k5n.gt.json', _results(samples), 'keypoints', [0.2] * 5)
    np.testing.assert_allclose(_ours(out, KEYPOINT_STAT_NAMES), direct, atol=1e-6)


def test_yolo_dataset_ignores_an_earlier_coco_datasets_ann_file(data_dir, tmp_path):
    """A COCO-json dataset named 'coco' registers its json in the MessageHub; a later YOLO dataset with the same
    dataset_name must still be evaluated against its own labels, not that stale json."""
    from mmengine.logging import MessageHub
    from mmpose.datasets import CocoDataset
    from yolopose_mm.datasets import YOLOPoseDataset
    hub = MessageHub.get_current_instance()
    saved = dict(hub.runtime_info)
    try:
        _check_stale_ann_file_is_ignored(CocoDataset, YOLOPoseDataset, data_dir, tmp_path)
    finally:  # later tests must not see this test's '<name>_ann_file'
        hub.runtime_info.clear()
        hub.runtime_info.update(saved)


def _check_stale_ann_file_is_ignored(CocoDataset, YOLOPoseDataset, data_dir, tmp_path):
    coco_ds = CocoDataset(data_root=str(data_dir / 'mmpose_coco_test'), ann_file='test_coco.json',
                          data_mode='bottomup', data_prefix=dict(img=''), test_mode=True)
    lent = YOLOPoseMetric()
    lent.dataset_meta = coco_ds.metainfo
    assert lent.coco is not None  # the COCO dataset does lend its json (so the check below can fail)
    ds = YOLOPoseDataset(str(data_dir / 'coco8-pose' / 'coco8-pose.yaml'), split='val', metainfo='coco',
                         test_mode=True, cache_dir=str(tmp_path / 'cache'))
    assert ds.metainfo['dataset_name'] == coco_ds.metainfo['dataset_name']
    metric = YOLOPoseMetric(outfile_prefix=str(tmp_path / 'c8'))
    metric.dataset_meta = ds.metainfo
    assert metric.coco is None
    samples = _samples_from_dataset(ds, noise=2.0)
    out = _evaluate(metric, copy.deepcopy(samples))
    direct = _direct(tmp_path / 'c8.gt.json', _results(samples), 'keypoints', ds.metainfo['sigmas'])
    np.testing.assert_allclose(_ours(out, KEYPOINT_STAT_NAMES), direct, atol=1e-6)


def test_crowdpose_uses_its_own_sigmas(data_dir):
    from mmpose.datasets import CrowdPoseDataset
    root = data_dir / 'crowdpose'
    ds = CrowdPoseDataset(data_root=str(root), ann_file='test_crowdpose.json', data_mode='bottomup',
                          data_prefix=dict(img=''), test_mode=True)
    meta = ds.metainfo
    assert meta['num_keypoints'] == 14
    rng = np.random.default_rng(3)
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kpts = info['keypoints'] + rng.normal(0, 4.0, info['keypoints'].shape)
        n = len(kpts)
        samples.append(_sample(info['img_id'], 640, 480, kpts, np.full((n, 14), 0.9), info['bbox'],
                               np.linspace(0.9, 0.4, n)))
    metric = YOLOPoseMetric(ann_file=str(root / 'test_crowdpose.json'), iou_type='keypoints_crowd', use_area=False)
    metric.dataset_meta = meta
    out = _evaluate(metric, copy.deepcopy(samples))
    direct = _direct(root / 'test_crowdpose.json', _results(samples), 'keypoints_crowd', meta['sigmas'],
                     use_area=False)
    from yolopose_mm.evaluation import CROWD_KEYPOINT_STAT_NAMES
    np.testing.assert_allclose(_ours(out, CROWD_KEYPOINT_STAT_NAMES), direct, atol=1e-6)
    coco_sigmas = _direct(root / 'test_crowdpose.json', _results(samples), 'keypoints_crowd',
                          np.full(14, 1 / 14), use_area=False)
    assert not np.allclose(direct, coco_sigmas)


# ------------------------------------------------------------------ errors
def test_errors(tmp_path):
    with pytest.raises(ValueError, match='metrics must be'):
        YOLOPoseMetric(metrics=['coco', 'mmpose'])
    with pytest.raises(ValueError, match='score_mode'):
        YOLOPoseMetric(score_mode='bbox_rle')
    with pytest.raises(ValueError, match='format_only'):
        YOLOPoseMetric(format_only=True)
    with pytest.raises(FileNotFoundError, match='ann_file'):
        YOLOPoseMetric(ann_file=str(tmp_path / 'missing.json'))
    metric = YOLOPoseMetric()
    metric.dataset_meta = _meta('coco')
    with pytest.raises(ValueError, match='raw_ann_info'):
        metric.process([], [_sample(0, 10, 10, np.zeros((1, 17, 2)), np.zeros((1, 17)), np.zeros((1, 4)), [0.5])])
    metric.process([], [_sample(0, 10, 10, np.zeros((1, 5, 2)), np.zeros((1, 5)), np.zeros((1, 4)), [0.5], [])])
    with pytest.raises(ValueError, match='5 keypoints but the dataset has 17'):
        metric.evaluate(1)


def test_result_keys_work_as_save_best():
    from mmengine.hooks import CheckpointHook
    keys = ['coco/AP', 'coco/bbox_AP', 'yolo/mAP50-95(P)', 'yolo/mAP50(B)']
    hook = CheckpointHook(save_best=keys, rule='greater')
    hook._init_rule(hook.rules, hook.save_best)
    assert hook.rules == ['greater'] * 4
    inferred = CheckpointHook(save_best='yolo/mAP50-95(P)')  # Ultralytics-style keys need no rule
    inferred._init_rule(inferred.rules, inferred.save_best)
    assert inferred.rules == ['greater']
    names = set(KEYPOINT_STAT_NAMES) | set(BOX_STAT_NAMES)
    assert {'AP', 'bbox_AP'} <= names
