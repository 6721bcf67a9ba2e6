#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Evaluation time: YOLOPoseMetric vs calling xtcocotools' COCOeval directly, on synthetic data.

    python tools/analysis/benchmark_eval.py [--images 300] [--dets 5000] [--repeat 3]

Builds ``--images`` synthetic images with 1-6 people each (COCO-17 keypoints) and ``--dets`` detections spread over
them (noisy copies of people plus random false positives), then times:

* ``xtcocotools keypoints``: COCO index + loadRes + COCOeval(keypoints) evaluate/accumulate/summarize;
* ``xtcocotools keypoints+bbox``: the same plus a box COCOeval (what our 'coco' family computes);
* ``ours coco``, ``ours yolo``, ``ours coco+yolo``: YOLOPoseMetric.process + evaluate with those families.

Prints the best of ``--repeat`` runs of each, and checks that our keypoint AP equals the direct one.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import time
from typing import Callable, List, Tuple

import numpy as np


def synthetic(num_images: int, num_dets: int, seed: int = 0) -> Tuple[dict, List[dict], List[dict]]:
    """(COCO ground-truth dict, data samples with predictions, COCO keypoint results of those predictions)."""
    rng = np.random.default_rng(seed)
    images, anns, people = [], [], {}
    for img_id in range(1, num_images + 1):
        images.append(dict(id=img_id, width=640, height=480))
        people[img_id] = []
        for _ in range(int(rng.integers(1, 7))):
            x, y = rng.uniform(0, 500), rng.uniform(0, 300)
            w, h = rng.uniform(30, 140), rng.uniform(60, 180)
            kpts = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)], 1)
            vis = (rng.uniform(0, 1, 17) < 0.8).astype(float) * 2
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=1, bbox=[x, y, w, h], area=w * h * 0.53,
                             iscrowd=0, num_keypoints=int((vis > 0).sum()),
                             keypoints=np.concatenate([kpts, vis[:, None]], 1).reshape(-1).tolist()))
            people[img_id].append((np.array([x, y, x + w, y + h]), kpts))
    gt = dict(images=images, annotations=anns, categories=[dict(id=1, name='person')])
    per_image = np.bincount(rng.integers(0, num_images, num_dets), minlength=num_images)
    samples, results = [], []
    for img_id, n in zip(range(1, num_images + 1), per_image):
        boxes, kpts = np.zeros((n, 4)), np.zeros((n, 17, 2))
        for i in range(n):
            if rng.uniform() < 0.5 and people[img_id]:
                box, pts = people[img_id][int(rng.integers(len(people[img_id])))]
                boxes[i] = box + rng.normal(0, 4, 4)
                kpts[i] = pts + rng.normal(0, 4, (17, 2))
            else:
                x, y = rng.uniform(0, 500), rng.uniform(0, 300)
                boxes[i] = [x, y, x + 80, y + 120]
                kpts[i] = np.stack([rng.uniform(x, x + 80, 17), rng.uniform(y, y + 120, 17)], 1)
        scores, kpt_scores = rng.uniform(0.001, 1, n), rng.uniform(0, 1, (n, 17))
        samples.append(dict(img_id=img_id, ori_shape=(480, 640),
                            pred_instances=dict(keypoints=kpts, keypoint_scores=kpt_scores, bboxes=boxes,
                                                bbox_scores=scores, labels=np.zeros(n, np.int64))))
        for i in range(n):
            b = boxes[i]
            results.append(dict(image_id=img_id, category_id=1, score=float(scores[i]),
                                bbox=[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                                keypoints=np.concatenate([kpts[i], kpt_scores[i][:, None]], 1).reshape(-1).tolist()))
    return gt, samples, results


def direct(gt: dict, results: List[dict], with_bbox: bool) -> float:
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    sigmas = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), 'keypoints', sigmas, True)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        if with_bbox:
            box_res = [{k: v for k, v in r.items() if k != 'keypoints'} for r in results]
            bev = COCOeval(coco, coco.loadRes(box_res), 'bbox')
            bev.evaluate()
            bev.accumulate()
            bev.summarize()
    return float(ev.stats[0])


def ours(gt: dict, samples: List[dict], metrics: Tuple[str, ...]) -> dict:
    from mmengine.logging import MMLogger
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    from yolopose_mm.datasets.yolo_metainfo import mmpose_dataset_config
    from yolopose_mm.evaluation import YOLOPoseMetric
    if not MMLogger.check_instance_created('benchmark_eval'):
        MMLogger.get_instance('benchmark_eval', log_level='WARNING')  # keep the tables out of the timing output
    anns = {img['id']: [] for img in gt['images']}
    for a in gt['annotations']:
        anns[a['image_id']].append(a)
    metric = YOLOPoseMetric(metrics=metrics)
    metric.dataset_meta = parse_pose_metainfo(dict(from_file=mmpose_dataset_config('coco.py')))
    batch = [dict(s, raw_ann_info=anns[s['img_id']]) for s in samples]
    metric.process([], batch)
    return metric.evaluate(len(batch))


def best_of(fn: Callable[[], object], repeat: int) -> Tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=300)
    parser.add_argument('--dets', type=int, default=5000)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    if min(args.images, args.dets, args.repeat) < 1:
        parser.error('--images, --dets and --repeat must be >= 1')
    gt, samples, results = synthetic(args.images, args.dets)
    print(f'{args.images} images, {len(gt["annotations"])} people, {len(results)} detections; best of {args.repeat}')
    rows = []
    t, ap_direct = best_of(lambda: direct(gt, results, False), args.repeat)
    rows.append(('xtcocotools keypoints (direct)', t))
    t, _ = best_of(lambda: direct(gt, results, True), args.repeat)
    rows.append(('xtcocotools keypoints+bbox (direct)', t))
    for families in (('coco',), ('yolo',), ('coco', 'yolo')):
        t, out = best_of(lambda: ours(gt, samples, families), args.repeat)
        rows.append((f'YOLOPoseMetric {"+".join(families)}', t))
        if 'coco' in families and abs(out['coco/AP'] - ap_direct) > 1e-9:
            raise SystemExit(f'keypoint AP differs: ours {out["coco/AP"]} vs direct {ap_direct}')
    width = max(len(name) for name, _ in rows)
    for name, t in rows:
        print(f'{name:<{width}}  {t:7.3f} s')
    print(f'keypoint AP (both): {ap_direct:.6f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
