# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Ultralytics-format pose datasets (a dataset yaml + images/ + labels/) as mmpose bottom-up datasets."""
from __future__ import annotations

import copy
from collections import Counter
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import MessageHub, print_log
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.registry import DATASETS

from .keyed_dataset import SampleKeyMixin, info_with_shared_metainfo
from .yolo_labels import LabelProblem, ScanResult, scan_split
from .yolo_metainfo import load_data_yaml, metainfo_from_spec, mmpose_dataset_config

# OKS area of a person from its box, as Ultralytics' pose validator does (box area x 0.53).
BOX_AREA_TO_OKS_AREA = 0.53


@DATASETS.register_module()
class YOLOPoseDataset(SampleKeyMixin, BaseCocoStyleDataset):
    """A YOLO-format pose split in mmpose's bottom-up sample format.

    Each sample holds one image and all its people: ``bbox`` (N, 4) xyxy pixels, ``keypoints`` (N, K, 2),
    ``keypoints_visible`` (N, K) (1 where labelled: v > 0 for dim 3, every keypoint for dim 2), ``category_id``
    (class + 1), ``area`` (box area x 0.53) and, with ``test_mode``, ``raw_ann_info`` (COCO-style annotations for
    the metrics; training samples do not carry it). Images
    without people are kept (background); images whose label file is invalid are skipped, and one summary warning
    counts them (details with :meth:`problem_report`). Takes ``SampleKey`` items from ``YOLOBatchSampler`` for
    reproducible augmentation (see :class:`SampleKeyMixin`).

    Args:
        data_yaml: Ultralytics dataset yaml (``path``, ``train``/``val``/``test``, ``kpt_shape``, ``names``,
            optional ``flip_idx``, ``kpt_names``, ``kpt_oks_sigmas``, ``skeleton``).
        split: 'train', 'val' or 'test'.
        data_root: overrides the yaml's ``path``.
        metainfo: mmpose metainfo to use instead of the one built from the yaml: a dict (e.g.
            ``dict(from_file='configs/_base_/datasets/coco.py')``) or the name of one of mmpose's bundled dataset
            metainfo files (``'coco'``, ``'crowdpose'``, ...). Its K must match the yaml's.
        cache_dir: where parsed labels are cached (default ``~/.cache/yolopose_mm/labels``).
        pipeline, test_mode, lazy_init, max_refetch: as in mmengine's BaseDataset.
    """

    def __init__(self, data_yaml: str, split: str = 'train', data_root: Optional[str] = None,
                 metainfo: Optional[Union[dict, str]] = None, data_mode: str = 'bottomup', cache_dir: Optional[str] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False, lazy_init: bool = False,
                 max_refetch: int = 1000, indices: Optional[Union[int, Sequence[int]]] = None) -> None:
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"YOLOPoseDataset: split must be 'train', 'val' or 'test', got {split!r}")
        if data_mode != 'bottomup':
            raise ValueError("YOLOPoseDataset supports data_mode='bottomup' only (one sample per image)")
        self.spec = load_data_yaml(data_yaml, data_root)
        if not self.spec.splits.get(split):
            raise ValueError(f"{data_yaml}: split '{split}' is empty; set '{split}:' in the yaml")
        self.split = split
        self.cache_dir = cache_dir
        self.scan: Optional[ScanResult] = None
        if isinstance(metainfo, str):
            metainfo = dict(from_file=mmpose_dataset_config(f'{metainfo}.py'))
        meta = copy.deepcopy(metainfo) if metainfo is not None else metainfo_from_spec(self.spec)
        hub = MessageHub.get_current_instance()
        saved = dict(hub.runtime_info)
        super().__init__(ann_file='', metainfo=meta, data_mode=data_mode, data_root=self.spec.root,
                         pipeline=list(pipeline), test_mode=test_mode, lazy_init=lazy_init,
                         max_refetch=max_refetch, indices=indices)
        # mmpose's base class publishes '<dataset_name>_ann_file' for CocoMetric; we have no annotation file (GT
        # comes from the samples' raw_ann_info), so restore whatever a real COCO dataset had put there.
        for key in [k for k in hub.runtime_info if k.endswith('_ann_file') and saved.get(k) != hub.runtime_info[k]]:
            if key in saved:
                hub.update_info(key, saved[key])
            else:
                hub.runtime_info.pop(key)
        k = self._metainfo.get('num_keypoints')
        if k is not None and k != self.spec.num_keypoints:
            raise ValueError(f'YOLOPoseDataset: metainfo has {k} keypoints but {data_yaml} has kpt_shape '
                             f'[{self.spec.num_keypoints}, {self.spec.keypoint_dim}]')
        if self.spec.flip_idx is None:
            self._metainfo['flip_indices'] = []  # YOLORandomFlip skips flipping (with a warning) on this
            self._metainfo['flip_pairs'] = []
        self._metainfo['classes'] = [self.spec.names[i] for i in sorted(self.spec.names)]
        # COCO categories (id = class + 1, as in raw_ann_info): mmpose's CocoMetric reads them without ann_file
        self._metainfo['CLASSES'] = [dict(id=i + 1, name=self.spec.names[i]) for i in sorted(self.spec.names)]
        self._metainfo['keypoint_dim'] = self.spec.keypoint_dim
        # ground truth travels in the samples (raw_ann_info): metrics must not fall back on the '<name>_ann_file'
        # that an earlier COCO-json dataset of the same dataset_name left in the MessageHub
        self._metainfo['gt_in_samples'] = True

    # mmengine calls this from full_init()
    def load_data_list(self) -> List[dict]:
        spec = self.spec
        self.scan = scan_split(spec.root, spec.splits[self.split], spec.num_keypoints, spec.keypoint_dim,
                               len(spec.names), self.cache_dir)
        data_list = [self._record_to_sample(i, rec) for i, rec in enumerate(self.scan.records)]
        self._report(len(data_list))
        if not data_list:
            details = '; '.join(str(p) for p in self.scan.problems[:3])
            raise ValueError(f'YOLOPoseDataset: no usable images in the {self.split} split of {spec.yaml_path} '
                             f'({self.scan.num_images} listed). {details}')
        return data_list

    def _record_to_sample(self, index: int, rec) -> dict:
        k, dim = self.spec.num_keypoints, self.spec.keypoint_dim
        rows = rec.rows
        n = len(rows)
        w, h = float(rec.width), float(rec.height)
        cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
        bbox = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32).reshape(n, 4)
        kpts = rows[:, 5:].reshape(n, k, dim)
        keypoints = (kpts[..., :2] * np.array([w, h], np.float32)).astype(np.float32)
        visible = (kpts[..., 2] > 0).astype(np.float32) if dim == 3 else np.ones((n, k), np.float32)
        keypoints[visible == 0] = 0.0
        area = (bw * bh * BOX_AREA_TO_OKS_AREA).astype(np.float32)
        category = [int(c) + 1 for c in rows[:, 0]]
        ids = [index * 10000 + j for j in range(n)]
        raw = []  # COCO-style annotations for the metrics: built for evaluation (test_mode) only
        for j in range(n if self.test_mode else 0):
            flat = np.concatenate([keypoints[j], visible[j, :, None] * 2], 1).reshape(-1)
            raw.append(dict(id=ids[j], image_id=index, category_id=category[j], iscrowd=0, area=float(area[j]),
                            bbox=[float(bbox[j, 0]), float(bbox[j, 1]), float(bw[j]), float(bh[j])],
                            keypoints=flat.tolist(), num_keypoints=int(visible[j].sum())))
        return dict(img_id=index, img_path=rec.img_path, ori_shape=(rec.height, rec.width), bbox=bbox,
                    bbox_score=np.ones(n, np.float32), keypoints=keypoints, keypoints_visible=visible,
                    area=area, iscrowd=np.zeros(n, np.int64), category_id=category,
                    num_keypoints=[int(v.sum()) for v in visible], id=ids, invalid_segs=[],
                    **(dict(raw_ann_info=raw) if self.test_mode else {}), width=rec.width, height=rec.height)

    def _report(self, used: int) -> None:
        scan = self.scan
        errors = [p for p in scan.problems if p.severity == 'error']
        warnings_ = [p for p in scan.problems if p.severity == 'warning']
        if not errors and not any(p.kind != 'missing_label' for p in warnings_):
            if warnings_:
                print_log(f'YOLOPoseDataset[{self.split}]: {used} images, {len(warnings_)} without labels '
                          '(background)', logger='current')
            return
        counts = Counter(p.kind for p in scan.problems)
        summary = ', '.join(f'{n} {kind}' for kind, n in sorted(counts.items()))
        print_log(f'YOLOPoseDataset[{self.split}] {self.spec.yaml_path}: {scan.num_images} images listed, '
                  f'{used} used, {scan.skipped()} skipped; problems: {summary}. First: {scan.problems[0]}. '
                  'Run tools/check_dataset.py on the yaml for every problem with file and line.',
                  logger='current', level=30)

    def problem_report(self) -> List[LabelProblem]:
        """Every problem found while loading (file, line, kind, message)."""
        return list(self.scan.problems) if self.scan else []

    def get_data_info(self, idx: int) -> dict:
        """The sample's annotations (fresh arrays) with the metainfo the pipeline needs (see
        :func:`info_with_shared_metainfo`) and ``keypoint_dim``."""
        info = info_with_shared_metainfo(self, idx)
        info['keypoint_dim'] = self.spec.keypoint_dim
        return info
