# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The OKS evaluator: COCO-official keypoint/box AP-AR and Ultralytics-style P/R/mAP in one mmpose metric."""
from __future__ import annotations

import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MessageHub, print_log
from mmpose.evaluation.functional import oks_nms, soft_oks_nms, transform_pred
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS
from xtcocotools.coco import COCO

from ..datasets.yolo_metainfo import warn_once
from .coco_official import quiet, run_cocoeval
from .ground_truth import coco_from_samples, image_ground_truth
from .tables import format_table
from .yolo_ap import box_iou_matrix, image_true_positives, oks_matrix, summarize_detections

_FAMILIES = ('coco', 'yolo')


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class YOLOPoseMetric(CocoMetric):
    """COCO-official and Ultralytics-style pose evaluation of bottom-up predictions (any number of keypoints).

    * ``'coco'``: keypoint AP/AR (xtcocotools COCOeval with the dataset's OKS sigmas) and box AP/AR, against
      ``ann_file`` or the dataset's COCO json (mmpose ``CocoDataset``), or against ground truth converted from the
      samples' ``raw_ann_info`` (``YOLOPoseDataset``: areas = box area x 0.53, as Ultralytics).
    * ``'yolo'``: precision, recall, mAP50 and mAP50-95 for boxes (B) and poses (P) with the matching and
      interpolation of Ultralytics' pose validator (crowd annotations are left out: that validator has none).

    Result keys (no prefix unless ``prefix`` is given; all usable as ``save_best``):
    ``coco/AP``, ``coco/AP .5``, ... ``coco/AR (L)``, ``coco/bbox_AP``, ... and ``yolo/precision(B)``,
    ``yolo/recall(B)``, ``yolo/mAP50(B)``, ``yolo/mAP50-95(B)``, the same with ``(P)``.

    Args:
        ann_file: COCO keypoint json of the ground truth (None: the dataset's, or converted from the samples).
        metrics: which families to compute, any of ``'coco'``, ``'yolo'``.
        score_mode: instance score for the COCO keypoint results: ``'bbox'`` (the detection score, as YOLO),
            ``'bbox_keypoint'`` or ``'keypoint'`` (see mmpose ``CocoMetric``).
        keypoint_score_thr: keypoint score threshold of ``'bbox_keypoint'``.
        nms_mode: ``'none'`` (YOLO predictions are already NMS-ed), ``'oks_nms'`` or ``'soft_oks_nms'``.
        nms_thr: OKS threshold of the NMS.
        use_area: OKS scale from the ground truth ``area`` (COCO) rather than its box.
        iou_type: ``'keypoints'`` or ``'keypoints_crowd'`` (CrowdPose, needs ``crowd_index`` in the samples).
        outfile_prefix: when set, writes ``{prefix}.keypoints.json`` (COCO results: keypoints, bbox, score) and,
            for converted ground truth, ``{prefix}.gt.json``.
        results_json: write the COCO results to exactly this path (``tools/test.py --out``).
        format_only: only write the results (needs ``outfile_prefix`` or ``results_json``).
        pred_converter: ``dict(num_keypoints=K, mapping=[(src, dst), ...])`` to evaluate predictions of another
            keypoint set (mmpose ``KeypointConverter`` style).
        collect_device, prefix: as mmengine ``BaseMetric``.
    """

    default_prefix: Optional[str] = ''

    def __init__(self, ann_file: Optional[str] = None, metrics: Sequence[str] = _FAMILIES, score_mode: str = 'bbox',
                 keypoint_score_thr: float = 0.2, nms_mode: str = 'none', nms_thr: float = 0.9, use_area: bool = True,
                 iou_type: str = 'keypoints', outfile_prefix: Optional[str] = None,
                 results_json: Optional[str] = None, format_only: bool = False,
                 pred_converter: Optional[dict] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        unknown = [m for m in metrics if m not in _FAMILIES]
        if unknown or not metrics:
            raise ValueError(f"YOLOPoseMetric: metrics must be a non-empty subset of {list(_FAMILIES)}, got "
                             f'{list(metrics)}')
        if score_mode not in ('bbox', 'bbox_keypoint', 'keypoint'):
            raise ValueError(f"YOLOPoseMetric: score_mode must be 'bbox', 'bbox_keypoint' or 'keypoint', got "
                             f'{score_mode!r}')
        if iou_type not in ('keypoints', 'keypoints_crowd'):
            raise ValueError(f"YOLOPoseMetric: iou_type must be 'keypoints' or 'keypoints_crowd', got {iou_type!r}")
        if format_only and not (outfile_prefix or results_json):
            raise ValueError('YOLOPoseMetric: format_only=True needs outfile_prefix or results_json (where to '
                             'write the results)')
        if ann_file is not None and not osp.isfile(ann_file):
            raise FileNotFoundError(f'YOLOPoseMetric: ann_file not found: {ann_file}')
        if pred_converter is not None and not {'num_keypoints', 'mapping'} <= set(pred_converter):
            raise ValueError('YOLOPoseMetric: pred_converter needs num_keypoints and mapping, e.g. '
                             'dict(num_keypoints=14, mapping=[(5, 0), (6, 1), ...])')
        super().__init__(ann_file=ann_file, use_area=use_area, iou_type=iou_type, score_mode=score_mode,
                         keypoint_score_thr=keypoint_score_thr, nms_mode=nms_mode, nms_thr=nms_thr,
                         format_only=format_only, pred_converter=pred_converter, outfile_prefix=outfile_prefix,
                         collect_device=collect_device, prefix=prefix)
        self.metrics = metrics
        self.results_json = results_json
        self.last_summaries: Dict[str, Any] = {}  # Ultralytics-style summaries of the last evaluation (PR curves)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The dataset's metainfo (sigmas, num_keypoints, classes, dataset_name)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Set the metainfo; a COCO-json dataset (mmpose ``CocoDataset``) also lends its ann_file when none is set.

        A dataset whose metainfo says ``gt_in_samples`` (``YOLOPoseDataset``) lends none: its ground truth comes
        from the samples, whatever json an earlier dataset of the same name registered.
        """
        self._dataset_meta = dataset_meta
        if self.coco is None and dataset_meta and not dataset_meta.get('gt_in_samples', False):
            hub_file = MessageHub.get_current_instance().get_info(f"{dataset_meta.get('dataset_name')}_ann_file")
            if hub_file and osp.isfile(hub_file):  # YOLOPoseDataset registers '' (no json)
                self.coco = quiet(COCO, hub_file)
                self.ann_file = hub_file
                print_log(f'YOLOPoseMetric: ground truth from the dataset ann_file {hub_file}', logger='current')

    # ---------------------------------------------------------------- collection (per batch, on every rank)
    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        """Keep each image's predictions (numpy) and, without a COCO json, its ground truth annotations."""
        for sample in data_samples:
            where = f"image id={sample.get('img_id')} ({sample.get('img_path', 'no path')})"
            if 'pred_instances' not in sample:
                raise ValueError(f'YOLOPoseMetric: the data sample of {where} has no pred_instances')
            inst = sample['pred_instances']
            kpts = _numpy(inst['keypoints']).astype(np.float64)
            if kpts.ndim != 3 or kpts.shape[-1] != 2:
                raise ValueError(f'YOLOPoseMetric: predicted keypoints of {where} must be (N, K, 2), got '
                                 f'{kpts.shape}')
            n = len(kpts)
            pred = dict(
                img_id=int(sample['img_id']),
                keypoints=kpts,
                keypoint_scores=_numpy(inst.get('keypoint_scores', np.ones(kpts.shape[:2]))).reshape(kpts.shape[:2]),
                bboxes=_numpy(inst['bboxes']).reshape(n, 4) if 'bboxes' in inst else None,
                scores=_numpy(inst['bbox_scores']).reshape(n) if 'bbox_scores' in inst else np.ones(n),
                labels=_numpy(inst['labels']).reshape(n).astype(np.int64) if 'labels' in inst
                else np.zeros(n, np.int64))
            gt = dict(img_id=pred['img_id'])
            if self.coco is None:
                if 'ori_shape' not in sample:
                    raise ValueError(f"YOLOPoseMetric: the data sample of {where} has no 'ori_shape' (add it to "
                                     'meta_keys of PackPoseInputs)')
                gt.update(width=int(sample['ori_shape'][1]), height=int(sample['ori_shape'][0]))
                if 'raw_ann_info' not in sample:
                    raise ValueError(f"YOLOPoseMetric: the data sample of {where} carries no 'raw_ann_info'; add it "
                                     'to meta_keys of PackPoseInputs in the val pipeline, or set ann_file')
                anns = sample['raw_ann_info']
                gt['anns'] = [a for a in (anns if isinstance(anns, list) else [anns]) if a is not None]
            if self.iou_type == 'keypoints_crowd' and self.coco is None:
                if 'crowd_index' not in sample:
                    raise ValueError(f"YOLOPoseMetric: iou_type='keypoints_crowd' needs crowd_index in the data "
                                     f'sample of {where} (add it to meta_keys)')
                gt['crowd_index'] = float(sample['crowd_index'])
            self.results.append((pred, gt))

    # ---------------------------------------------------------------- evaluation (main rank)
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """COCO-official and/or Ultralytics-style metrics of all collected images; logs aligned tables."""
        preds, gts = self._unique_images(results)
        if self.pred_converter is not None:
            for p in preds:
                transform_pred(p, self.pred_converter['num_keypoints'], self.pred_converter['mapping'])
        num_kpts = self._num_keypoints(preds)
        for p in preds:
            if not len(p['keypoints']):  # no people: any K is fine
                p['keypoints'], p['keypoint_scores'] = np.zeros((0, num_kpts, 2)), np.zeros((0, num_kpts))
            elif p['keypoints'].shape[1] != num_kpts:
                raise ValueError(f"YOLOPoseMetric: image {p['img_id']} has predictions with "
                                 f"{p['keypoints'].shape[1]} keypoints but the dataset has {num_kpts}; set "
                                 'pred_converter to map them')
        sigmas = self._sigmas(num_kpts)
        coco_gt, converted = self._ground_truth(gts)
        cat_ids = sorted(coco_gt.getCatIds()) or [1]
        kpt_results, box_results = self._coco_results(preds, cat_ids, num_kpts, sigmas)
        self._write_outputs(kpt_results, coco_gt if converted else None)
        if self.format_only:
            return {}
        out: Dict[str, float] = OrderedDict()
        img_ids = sorted({g['img_id'] for g in gts})
        missing = [i for i in img_ids if i not in coco_gt.imgs]
        if missing:
            raise ValueError(f'YOLOPoseMetric: images {missing[:5]} are not in the ground truth json '
                             f'{self.ann_file or "(dataset)"}; evaluate the dataset that json describes')
        if 'coco' in self.metrics:
            kpt = run_cocoeval(coco_gt, kpt_results, self.iou_type, img_ids, sigmas, self.use_area)
            box = run_cocoeval(coco_gt, box_results, 'bbox', img_ids)
            out.update({f'coco/{k}': v for k, v in kpt.items()})
            out.update({f'coco/{k}': v for k, v in box.items()})
            self._log_coco(kpt, box, len(img_ids), num_kpts, len(kpt_results))
        if 'yolo' in self.metrics:
            summaries = self._yolo_metrics(preds, coco_gt, cat_ids, num_kpts, sigmas)
            for tag, summary in summaries.items():
                for name, value in (('precision', summary.precision), ('recall', summary.recall),
                                    ('mAP50', summary.map50), ('mAP50-95', summary.map50_95)):
                    out[f'yolo/{name}({tag})'] = value
        return out

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _unique_images(results: list) -> Tuple[List[dict], List[dict]]:
        """Drop repeated images (distributed samplers may pad with repeats); keep the first of each."""
        preds, gts, seen = [], [], set()
        for pred, gt in results:
            if gt['img_id'] in seen:
                continue
            seen.add(gt['img_id'])
            preds.append(dict(pred))
            gts.append(gt)
        return preds, gts

    def _num_keypoints(self, preds: List[dict]) -> int:
        meta = self.dataset_meta or {}
        if meta.get('num_keypoints'):
            return int(meta['num_keypoints'])
        shapes = {p['keypoints'].shape[1] for p in preds if len(p['keypoints'])}
        if len(shapes) != 1:
            raise ValueError('YOLOPoseMetric: cannot tell the number of keypoints (no dataset metainfo and '
                             f'predictions with {sorted(shapes) or "no"} keypoint counts)')
        return shapes.pop()

    def _sigmas(self, num_kpts: int) -> np.ndarray:
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is not None and len(sigmas) == num_kpts and np.all(np.asarray(sigmas) > 0):
            return np.asarray(sigmas, np.float64)
        name = (self.dataset_meta or {}).get('dataset_name', 'dataset')
        warn_once(f'metric-sigmas:{name}:{num_kpts}',
                  f'YOLOPoseMetric: the {name} metainfo has no valid sigmas for {num_kpts} keypoints; using 1/K = '
                  f'{1 / num_kpts:.4f} for every keypoint (set sigmas / kpt_oks_sigmas for meaningful OKS)')
        return np.full(num_kpts, 1.0 / num_kpts)

    def _ground_truth(self, gts: List[dict]):
        if self.coco is not None:
            return self.coco, False
        classes = (self.dataset_meta or {}).get('classes')
        categories = [dict(id=i + 1, name=str(n)) for i, n in enumerate(classes)] if classes else None
        images = [dict(id=g['img_id'], width=g['width'], height=g['height']) for g in gts]
        coco = coco_from_samples(images, {g['img_id']: g['anns'] for g in gts}, categories)
        if self.iou_type == 'keypoints_crowd':
            for g in gts:
                coco.imgs[g['img_id']]['crowdIndex'] = g['crowd_index']
        return coco, True

    def _instance_score(self, bbox_score: float, kpt_scores: np.ndarray) -> float:
        if self.score_mode == 'bbox':
            return float(bbox_score)
        if self.score_mode == 'keypoint':
            return float(np.mean(kpt_scores))
        valid = kpt_scores[kpt_scores > self.keypoint_score_thr]
        return float(bbox_score * (valid.mean() if len(valid) else 0.0))

    def _coco_results(self, preds: List[dict], cat_ids: List[int], num_kpts: int,
                      sigmas: np.ndarray) -> Tuple[List[dict], List[dict]]:
        """COCO keypoint results (with bbox) and box results of every prediction, NMS-ed as configured."""
        kpt_results, box_results = [], []
        for p in preds:
            n = len(p['keypoints'])
            if n == 0:
                continue
            if p['labels'].max() >= len(cat_ids):
                raise ValueError(f"YOLOPoseMetric: image {p['img_id']} has predicted class {p['labels'].max()} but "
                                 f'the ground truth has {len(cat_ids)} categories {cat_ids}')
            boxes = p['bboxes']
            if boxes is None:  # keypoint extent
                boxes = np.concatenate([p['keypoints'].min(1), p['keypoints'].max(1)], 1)
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
            items = []
            for i in range(n):
                kpts = np.concatenate([p['keypoints'][i], p['keypoint_scores'][i][:, None]], 1)
                items.append(dict(image_id=p['img_id'], category_id=cat_ids[int(p['labels'][i])],
                                  keypoints=kpts, bbox=xywh[i], box_score=float(p['scores'][i]),
                                  score=self._instance_score(p['scores'][i], p['keypoint_scores'][i]),
                                  area=float(xywh[i, 2] * xywh[i, 3])))
            if self.nms_mode != 'none':
                nms = oks_nms if self.nms_mode == 'oks_nms' else soft_oks_nms
                items = [items[k] for k in nms(items, self.nms_thr, sigmas=sigmas)]
            for it in items:
                bbox = [float(v) for v in it['bbox']]
                kpt_results.append(dict(image_id=it['image_id'], category_id=it['category_id'],
                                        keypoints=[float(v) for v in it['keypoints'].reshape(-1)],
                                        score=float(it['score']), bbox=bbox))
                box_results.append(dict(image_id=it['image_id'], category_id=it['category_id'], bbox=bbox,
                                        score=it['box_score']))
        return kpt_results, box_results

    def _write_outputs(self, kpt_results: List[dict], converted_gt) -> None:
        paths = []
        if self.results_json:
            paths.append(self.results_json)
        if self.outfile_prefix:
            paths.append(f'{self.outfile_prefix}.keypoints.json')
        for path in paths:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                json.dump(kpt_results, f)
            print_log(f'YOLOPoseMetric: wrote {len(kpt_results)} COCO results to {path}', logger='current')
        if self.outfile_prefix and converted_gt is not None:
            with open(f'{self.outfile_prefix}.gt.json', 'w', encoding='utf-8') as f:
                json.dump(converted_gt.dataset, f)

    def _yolo_metrics(self, preds: List[dict], coco_gt, cat_ids: List[int], num_kpts: int, sigmas: np.ndarray):
        tps: Dict[str, list] = dict(B=[], P=[])
        scores, labels, gt_labels = [], [], []
        num_images = 0
        for p in preds:
            gt = image_ground_truth(coco_gt.imgToAnns.get(p['img_id'], []), num_kpts)
            num_images += 1
            pred_cats = np.asarray(cat_ids)[p['labels']] if len(p['labels']) else np.zeros(0, np.int64)
            has_both = len(gt.labels) and len(pred_cats)
            boxes = p['bboxes'] if p['bboxes'] is not None else np.concatenate(
                [p['keypoints'].min(1), p['keypoints'].max(1)], 1)
            box_sim = box_iou_matrix(gt.bboxes, boxes) if has_both else None
            kpt_sim = oks_matrix(gt.keypoints, gt.visible, gt.areas, p['keypoints'], sigmas) if has_both else None
            tps['B'].append(image_true_positives(gt.labels, pred_cats, p['scores'], box_sim))
            tps['P'].append(image_true_positives(gt.labels, pred_cats, p['scores'], kpt_sim))
            scores.append(p['scores'])
            labels.append(pred_cats)
            gt_labels.append(gt.labels)
        conf = np.concatenate(scores) if scores else np.zeros(0)
        pred_cls = np.concatenate(labels) if labels else np.zeros(0)
        target = np.concatenate(gt_labels) if gt_labels else np.zeros(0)
        summaries = {tag: summarize_detections(np.concatenate(t) if t else np.zeros((0, 10), bool), conf, pred_cls,
                                               target) for tag, t in tps.items()}
        title = (f'Ultralytics-style metrics (matching of `yolo pose val`): {num_images} images, {len(target)} '
                 f'instances, {len(conf)} predictions')
        rows = {'Box(B)': [summaries['B'].precision, summaries['B'].recall, summaries['B'].map50,
                           summaries['B'].map50_95],
                'Pose(P)': [summaries['P'].precision, summaries['P'].recall, summaries['P'].map50,
                            summaries['P'].map50_95]}
        print_log('\n' + format_table(title, ['P', 'R', 'mAP50', 'mAP50-95'], rows), logger='current')
        self.last_summaries = summaries
        if len(target) == 0:
            print_log('YOLOPoseMetric: no ground-truth instances; Ultralytics-style metrics are 0',
                      logger='current', level=30)
        return summaries

    def _log_coco(self, kpt: Dict[str, float], box: Dict[str, float], num_images: int, num_kpts: int,
                  num_results: int) -> None:
        title = (f'COCO-official metrics (xtcocotools COCOeval, K={num_kpts}, {self.iou_type}): {num_images} images, '
                 f'{num_results} predictions')
        kpt_cols = list(kpt)
        box_cols = [k[len('bbox_'):] for k in box]
        text = format_table(title, kpt_cols, {'Pose': list(kpt.values())})
        text += '\n' + format_table('', box_cols, {'Box': list(box.values())})
        print_log('\n' + text, logger='current')
