# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pictures of what the model sees and says: augmented training batches with their labels, and validation images
with the labels beside the predictions (``train_batch*.jpg``, ``val_batch*_labels.jpg``, ``val_batch*_pred.jpg``)."""
from __future__ import annotations

import os.path as osp
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpose.registry import HOOKS

from ...plots import TileInstances, draw_tiles, tile_meta

TILES = 16


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _instances(inst, with_scores: bool) -> TileInstances:
    """TileInstances from an InstanceData of labels (gt_instance_labels / gt_instances) or predictions."""
    kpts = _numpy(inst.keypoints).astype(np.float32) if 'keypoints' in inst else np.zeros((0, 0, 2), np.float32)
    n = len(kpts)
    boxes = _numpy(inst.bboxes).reshape(-1, 4) if 'bboxes' in inst else np.zeros((n, 4), np.float32)
    labels = _numpy(inst.labels).reshape(-1) if 'labels' in inst else np.zeros(len(boxes), np.int64)
    if with_scores:
        kscores = _numpy(inst.keypoint_scores).reshape(kpts.shape[:2]) if 'keypoint_scores' in inst \
            else np.ones(kpts.shape[:2], np.float32)
        scores = _numpy(inst.bbox_scores).reshape(-1) if 'bbox_scores' in inst else np.ones(len(boxes), np.float32)
    else:
        kscores = _numpy(inst.keypoints_visible).reshape(kpts.shape[:2]) if 'keypoints_visible' in inst \
            else np.ones(kpts.shape[:2], np.float32)
        scores = None
    return TileInstances(boxes, labels, kpts, kscores, scores)


def _labels_from_raw(anns: Sequence[dict]) -> TileInstances:
    """Labels in image pixels from COCO-style annotations (``raw_ann_info`` of YOLOPoseDataset / CocoDataset)."""
    anns = [a for a in anns if a and not a.get('iscrowd', 0) and a.get('keypoints') is not None]
    if not anns:
        return TileInstances(np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros((0, 1, 2)), np.zeros((0, 1)))
    kpts = np.asarray([a['keypoints'] for a in anns], np.float32).reshape(len(anns), -1, 3)
    boxes = np.asarray([a['bbox'] for a in anns], np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    labels = np.asarray([int(a.get('category_id', 1)) - 1 for a in anns], np.int64)
    return TileInstances(boxes, labels, kpts[..., :2], (kpts[..., 2] > 0).astype(np.float32))


def _to_image(inst: TileInstances, meta: dict) -> TileInstances:
    """Input-space labels mapped back to the image as mmpose's bottom-up estimator maps predictions."""
    if not {'input_size', 'input_center', 'input_scale'} <= set(meta):
        return inst
    size, center, scale = (np.asarray(meta[k], np.float32) for k in ('input_size', 'input_center', 'input_scale'))
    f = scale / size
    off = center - 0.5 * scale
    boxes = inst.bboxes.copy()
    boxes[:, :2] = boxes[:, :2] * f + off
    boxes[:, 2:] = boxes[:, 2:] * f + off
    return TileInstances(boxes, inst.labels, inst.keypoints * f + off, inst.keypoint_scores, inst.scores)


@HOOKS.register_module()
class BatchPicturesHook(Hook):
    """Draw the first ``train_batches`` training batches after augmentation (with the labels the loss sees:
    boxes, class names, keypoints, skeleton) and, at every validation, the first ``val_batches`` x 16 validation
    images twice: with their labels and with the predictions (score >= ``score_thr``).

    Files go to the work dir (``train_batch0.jpg`` ..., ``val_batch0_labels.jpg`` / ``val_batch0_pred.jpg`` ...);
    the validation pictures are redrawn at each validation. Only the main process draws; a drawing error is logged
    once and never stops training.

    Args:
        train_batches: training batches drawn at the start of the run.
        val_batches: groups of 16 validation images drawn at each validation.
        score_thr: predictions below it are not drawn.
        out_dir: where the files go (default: the work dir).
    """

    priority = 'LOW'

    def __init__(self, train_batches: int = 3, val_batches: int = 1, score_thr: float = 0.25,
                 out_dir: Optional[str] = None) -> None:
        if train_batches < 0 or val_batches < 0:
            raise ValueError(f'BatchPicturesHook: need train_batches, val_batches >= 0, got {train_batches}, '
                             f'{val_batches}')
        self.train_batches = train_batches
        self.val_batches = val_batches
        self.score_thr = score_thr
        self.out_dir = out_dir
        self._val: List[Tuple[str, TileInstances, TileInstances]] = []
        self._failed = False
        self.written: List[str] = []

    def _meta(self, runner: Runner, dataloader) -> dict:
        meta = getattr(getattr(dataloader, 'dataset', None), 'metainfo', None) or {}
        model = getattr(runner.model, 'module', runner.model)
        num_classes = int(getattr(getattr(model, 'head', None), 'num_classes', 1) or 1)
        return tile_meta(meta, num_classes)

    def _guard(self, runner: Runner, what: str, fn) -> None:
        if self._failed or not is_main_process():
            return
        try:
            fn()
        except Exception as e:  # pictures must never stop a run
            self._failed = True
            runner.logger.warning(f'BatchPicturesHook: could not draw {what} ({type(e).__name__}: {e}); training '
                                  'goes on without these pictures')

    def after_train_iter(self, runner: Runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        index = runner.iter  # the iteration just run (the loop counts it after calling the hooks)
        if data_batch is None or index >= self.train_batches:
            return
        self._guard(runner, 'a training batch', lambda: self._draw_train(runner, data_batch, index))

    def _draw_train(self, runner: Runner, data_batch: dict, index: int) -> None:
        inputs = data_batch['inputs']
        images = [_numpy(img).transpose(1, 2, 0).copy() for img in inputs][:TILES]
        samples = data_batch['data_samples'][:len(images)]
        insts = [_instances(s.gt_instance_labels if 'gt_instance_labels' in s and 'keypoints' in s.gt_instance_labels
                            else s.gt_instances, with_scores=False) for s in samples]
        titles = [osp.basename(s.metainfo.get('img_path', '')) for s in samples]
        out = osp.join(self.out_dir or runner.work_dir, f'train_batch{index}.jpg')
        draw_tiles(images, insts, self._meta(runner, runner.train_dataloader), out, titles)
        self.written.append(out)

    def before_val_epoch(self, runner: Runner) -> None:
        self._val = []

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or len(self._val) >= self.val_batches * TILES or self._failed or not is_main_process():
            return
        for sample in outputs:
            if len(self._val) >= self.val_batches * TILES:
                break
            meta = sample.metainfo
            raw = meta.get('raw_ann_info')
            if raw is not None:
                labels = _labels_from_raw(raw if isinstance(raw, list) else [raw])
            else:
                labels = _to_image(_instances(sample.gt_instances, with_scores=False), meta)
            self._val.append((meta.get('img_path', ''), labels, _instances(sample.pred_instances, True)))

    def after_val_epoch(self, runner: Runner, metrics=None) -> None:
        if self._val:
            self._guard(runner, 'the validation pictures', lambda: self._draw_val(runner))
        self._val = []

    def _draw_val(self, runner: Runner) -> None:
        meta = self._meta(runner, runner.val_dataloader)
        out_dir = self.out_dir or runner.work_dir
        for b in range(0, len(self._val), TILES):
            group = self._val[b:b + TILES]
            images = [mmcv.imread(path) for path, _, _ in group]
            titles = [osp.basename(path) for path, _, _ in group]
            n = b // TILES
            for kind, insts in (('labels', [g[1] for g in group]), ('pred', [g[2] for g in group])):
                out = osp.join(out_dir, f'val_batch{n}_{kind}.jpg')
                draw_tiles(images, insts, meta, out, titles, score_thr=self.score_thr)
                if out not in self.written:
                    self.written.append(out)
