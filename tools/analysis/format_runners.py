# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Models of every format behind one interface, for ``benchmark_formats.py`` (a benchmark helper, not the package).

Each runner has ``network(x)`` (one call of the model on a prepared (1, 3, H, W) tensor), ``predict(path, score)``
(image file -> people in image pixels: read, letterbox, network, NMS, map back) and ``name``. Ours run through the
package (``init_model`` / ``init_exported_model`` and ``yolopose_mm.apis.inference``); Ultralytics' through its own
``YOLO(...).predict`` (test-only reference, never imported by the package). :func:`evaluate` scores any runner on a
config's test set with the config's evaluator, so every row of the table is measured by the same metric.
"""
from __future__ import annotations

import copy
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

EVAL_NMS = dict(score_thr=0.001, nms_thr=0.7, max_per_img=300)


def square_config(config: str, size: int) -> Config:
    """The config with the square ``size`` test protocol (what a static export takes; ``tools/test.py --square``)."""
    from yolopose_mm.deploy.evaluate import square_test_protocol
    return square_test_protocol(Config.fromfile(config), size)


EVAL_SETS = ('config', 'coco8-pose-val', 'coco8-pose-train', 'ochuman')


def eval_set_config(cfg: Config, name: str, data: str) -> Config:
    """A copy of ``cfg`` whose test set (and evaluator) is ``name`` of :data:`EVAL_SETS` (``data``: the shared data
    folder): the config's own, coco8-pose's val or train split (4 images each, ground truth from the YOLO labels),
    or the 3 occluded OCHuman images (COCO-17 json); the test pipeline (square letterbox) is kept."""
    if name not in EVAL_SETS:
        raise ValueError(f'unknown evaluation set {name!r}; choose from {EVAL_SETS}')
    out = copy.deepcopy(cfg)
    if name == 'config':
        return out
    dataset = out.test_dataloader.dataset
    pipeline = dataset.pipeline
    if name.startswith('coco8-pose'):  # ground truth from the labels: the samples carry it (raw_ann_info)
        for step in pipeline:
            if step.get('type') == 'PackPoseInputs' and 'raw_ann_info' not in step.get('meta_keys', ()):
                step['meta_keys'] = tuple(step.get('meta_keys', ())) + ('raw_ann_info',)
        out.test_dataloader.dataset = dict(type='YOLOPoseDataset', data_yaml=f'{data}/coco8-pose/coco8-pose.yaml',
                                           split=name.rsplit('-', 1)[1], metainfo='coco', test_mode=True,
                                           pipeline=pipeline)
        out.test_evaluator = dict(type='YOLOPoseMetric', ann_file=None)
    else:
        dataset.update(data_root=f'{data}/ochuman/', ann_file='test_ochuman.json', data_prefix=dict(img=''))
        out.test_evaluator = dict(type='YOLOPoseMetric', ann_file=f'{data}/ochuman/test_ochuman.json')
    return out


def eval_set_images(cfg: Config) -> List[str]:
    """The image files of the config's test set."""
    from yolopose_mm.deploy.calibration import _dataset_images
    return _dataset_images(cfg, 'test')


def letterboxed_tensor(cfg: Config, img: str, size: int) -> torch.Tensor:
    """(1, 3, size, size) float32 network input of ``img`` (square letterbox + the config's data preprocessor)."""
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    pipe = Compose([dict(type='LoadImage'), dict(type='LetterBox', input_size=size, auto=False, pad_val=114),
                    dict(type='PackPoseInputs', meta_keys=('img_path',))])
    pre = MODELS.build(copy.deepcopy(cfg.model.data_preprocessor))
    with torch.no_grad():
        return pre(pseudo_collate([pipe(dict(img_path=img))]), False)['inputs'].float().contiguous()


class OursEager:
    """Our PyTorch model (BatchNorm folded, channels-last: ``init_model(..., optimize=True)``)."""

    def __init__(self, cfg: Config, checkpoint: str, size: int) -> None:
        from yolopose_mm.apis import init_model
        self.model = init_model(cfg, checkpoint, optimize=True)
        self.size, self.name = size, 'PyTorch'

    def network_input(self, cfg: Config, img: str, size: int) -> torch.Tensor:
        """What :meth:`network` takes for ``img``: the (1, 3, size, size) float32 letterboxed tensor."""
        return letterboxed_tensor(cfg, img, size)

    def network(self, x: torch.Tensor):
        with torch.inference_mode():
            return self.model.head.forward(self.model.extract_feat(x))

    def predict(self, path: str, score: float) -> InstanceData:
        from yolopose_mm.apis import inference
        nms = {**EVAL_NMS, 'score_thr': score}
        return inference(self.model, path, rect=False, input_size=self.size, **nms).pred_instances


class OursExported(OursEager):
    """An export of ours through mmdeploy's backend model (``init_exported_model``)."""

    def __init__(self, deploy_cfg: Config, cfg: Config, model_file: str, size: int, name: str) -> None:
        from yolopose_mm.deploy.evaluate import init_exported_model
        self.model = init_exported_model(deploy_cfg, cfg, model_file)
        self.size, self.name = size, name

    def network_input(self, cfg: Config, img: str, size: int) -> torch.Tensor:
        """The runtime's input for ``img`` as the backend model's own data preprocessor makes it (float32, or the
        uint8 image where the normalisation is folded into the graph)."""
        from mmengine.dataset import pseudo_collate

        from yolopose_mm.apis.inference import _load, build_inference_pipeline
        packed = build_inference_pipeline(self.model, auto=False, input_size=size)(_load(img, 0))
        with torch.no_grad():
            return self.model.data_preprocessor(pseudo_collate([packed]), False)['inputs'].contiguous()

    def network(self, x: torch.Tensor):
        return self.model.wrapper({self.model.input_name: x})


class Theirs:
    """An Ultralytics model or export, run by its own predictor (``YOLO(path).predict``)."""

    def __init__(self, path: str, size: int, name: str) -> None:
        from ultralytics import YOLO
        self.yolo, self.size, self.name = YOLO(path, task='pose'), size, name
        self._backend = None

    def _predict(self, source, score: float):
        return self.yolo.predict(source, conf=score, iou=EVAL_NMS['nms_thr'], max_det=EVAL_NMS['max_per_img'],
                                 imgsz=self.size, rect=False, verbose=False, device='cpu')[0]

    def network_input(self, cfg: Config, img: str, size: int) -> torch.Tensor:
        """The (1, 3, size, size) float32 letterboxed tensor (what their predictor feeds its backend)."""
        return letterboxed_tensor(cfg, img, size)

    def network(self, x: torch.Tensor):
        if self._backend is None:  # the predictor's AutoBackend: their exported network as their predictor calls it
            self._predict(np.full((self.size, self.size, 3), 114, np.uint8), 0.25)
            self._backend = self.yolo.predictor.model
        with torch.inference_mode():
            return self._backend(x)

    def predict(self, path: str, score: float) -> InstanceData:
        r = self._predict(path, score)
        kpts = r.keypoints
        return InstanceData(bboxes=r.boxes.xyxy.numpy(), bbox_scores=r.boxes.conf.numpy(),
                            labels=r.boxes.cls.numpy().astype(np.int64), keypoints=kpts.xy.numpy(),
                            keypoint_scores=(kpts.conf.numpy() if kpts.conf is not None
                                             else np.ones(kpts.xy.shape[:2], np.float32)))


def evaluate(cfg: Config, predict: Callable[[str], InstanceData], ours_model: Optional[torch.nn.Module] = None
             ) -> Dict[str, float]:
    """Score a model on the config's test set with the config's test evaluator.

    Args:
        cfg: the model config (square test letterbox).
        predict: image path -> people in image pixels (Ultralytics' runners).
        ours_model: our model: run on the packed test samples by ``test_step`` at the evaluation NMS, exactly as
            ``tools/test.py`` does (then ``predict`` is unused).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    if cfg.test_evaluator.get('ann_file') is None:  # no json: not the one an earlier CocoDataset left in the hub
        from mmengine.logging import MessageHub
        MessageHub.get_current_instance().update_info(f"{dataset.metainfo.get('dataset_name')}_ann_file", '')
    evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
    evaluator.dataset_meta = dataset.metainfo
    old = dict(ours_model.test_cfg or {}) if ours_model is not None else None
    if ours_model is not None:
        ours_model.test_cfg = {**old, **EVAL_NMS}
    try:
        for i in range(len(dataset)):
            packed = dataset[i]
            if ours_model is not None:
                with torch.no_grad():
                    samples = ours_model.test_step(pseudo_collate([packed]))
            else:
                sample = packed['data_samples']
                sample.pred_instances = predict(sample.img_path)
                samples = [sample]
            evaluator.process(samples)
    finally:
        if ours_model is not None:
            ours_model.test_cfg = old
    return evaluator.evaluate(len(dataset))


__all__ = ['EVAL_NMS', 'EVAL_SETS', 'eval_set_config', 'eval_set_images', 'square_config', 'letterboxed_tensor', 'OursEager', 'OursExported', 'Theirs', 'evaluate']
