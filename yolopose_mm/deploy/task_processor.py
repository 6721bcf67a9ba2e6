# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""mmdeploy's mmpose ``PoseDetection`` task processor, registered in its place (``force=True``) for our models.

Two things mmdeploy 1.3.1 cannot do for our configs, everything else is mmdeploy's own code:

* **Data preprocessor.** mmdeploy builds a backend model's data preprocessor itself and accepts only
  ``PoseDataPreprocessor`` / ``mmdet.DetDataPreprocessor`` configs (an ``assert`` in ``build_pose_detection_model``);
  our configs use ``YOLOPoseDataPreprocessor`` (mmpose's, plus ``yolo val``'s batch padding).
  ``build_backend_model`` builds any other data-preprocessor config from mmpose's ``MODELS`` and hands mmdeploy the
  instance (which it accepts).
* **Static input shape.** Every input mmdeploy feeds a model (the export's sample in ``torch2onnx`` /
  ``torch2torchscript``, ``mmdeploy.apis.inference_model``, ``visualize_model``) comes from ``create_input``, which
  runs the model config's ``test_dataloader`` pipeline. Our configs evaluate with Ultralytics' rectangular protocol
  (``LetterBox rect=True``), so that pipeline gives each image its own shape: a static export traced from it takes
  only the sample image's rectangle (e.g. 1x3x512x672), and a 640x640 export fed by it fails in the runtime. For
  deploy configs of our backend model (``codebase_config.model_type='yolopose_end2end'``) ``create_input`` runs with
  :func:`export_model_cfg`: a static deploy config's input shape is the letterbox (square or any H x W, any
  stride), whatever the model config's test pipeline says. Other mmpose models keep mmdeploy's behaviour.

Evaluation is not changed here: ``tools/test.py`` refuses a static export with the rectangular protocol and names
``--square`` (:func:`yolopose_mm.deploy.evaluate.check_test_shapes`), because the two protocols score differently.
"""

from __future__ import annotations

import copy
from typing import Callable, Optional, Sequence, Tuple

import torch
from mmdeploy.codebase.mmpose.deploy.pose_detection import MMPOSE_TASK, PoseDetection
from mmdeploy.utils import Task, get_codebase_config
from mmengine.config import Config

MODEL_TYPE = 'yolopose_end2end'
# the data-preprocessor types mmdeploy 1.3.1 builds itself
_MMDEPLOY_TYPES = ('PoseDataPreprocessor', 'mmdet.DetDataPreprocessor')


def build_data_preprocessor_for_mmdeploy(cfg):
    """``cfg`` unchanged when mmdeploy can build it (or it is built already), else the module from mmpose's MODELS."""
    if not isinstance(cfg, dict) or cfg.get('type') in _MMDEPLOY_TYPES:
        return cfg
    import yolopose_mm  # noqa: F401  (registers YOLOPoseDataPreprocessor)
    from mmpose.registry import MODELS
    return MODELS.build(cfg)


def static_input_hw(deploy_cfg: Config) -> Optional[Tuple[int, int]]:
    """(H, W) of a static export (``onnx_config.input_shape`` is [W, H]) or None for a dynamic one."""
    from mmdeploy.utils import get_input_shape, is_dynamic_shape
    shape = get_input_shape(deploy_cfg)
    if shape is None or is_dynamic_shape(deploy_cfg):
        return None
    return int(shape[1]), int(shape[0])


def export_model_cfg(model_cfg: Config, hw: Optional[Tuple[int, int]]) -> Config:
    """A copy of ``model_cfg`` whose test pipeline makes what an export with input ``hw`` takes.

    Args:
        model_cfg: the model config (not changed).
        hw: (H, W) of a static export: every ``LetterBox`` of the test pipeline letterboxes to exactly that
            (``auto=False, rect=False``); None (dynamic): the pipeline is kept.

    Returns:
        The copy; a dataset ``metainfo`` given by name (``'coco'``, as ``YOLOPoseDataset`` takes it) becomes the
        ``dict(from_file=...)`` that mmdeploy's input builder (mmpose's ``_load_metainfo``) needs.
    """
    from ..datasets.yolo_metainfo import mmpose_dataset_config
    cfg = copy.deepcopy(model_cfg)
    if hw is not None:
        for step in cfg.test_dataloader.dataset.pipeline:
            if step.get('type') == 'LetterBox':
                step.update(input_size=(int(hw[1]), int(hw[0])), auto=False, rect=False)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset') or {}
        if isinstance(dataset.get('metainfo'), str):
            dataset['metainfo'] = dict(from_file=mmpose_dataset_config(dataset['metainfo'] + '.py'))
    return cfg


def is_yolopose_deploy(deploy_cfg: Config) -> bool:
    """Whether the deploy config builds our backend model."""
    return get_codebase_config(deploy_cfg).get('model_type') == MODEL_TYPE


@MMPOSE_TASK.register_module(Task.POSE_DETECTION.value, force=True)
class YOLOPoseDetection(PoseDetection):
    """mmdeploy's ``PoseDetection`` task: backend models accept any registered data preprocessor, and a yolopose
    deploy config's inputs have its export's static shape."""

    def build_backend_model(self, model_files: Sequence[str] = None,
                            data_preprocessor_updater: Optional[Callable] = None, **kwargs) -> torch.nn.Module:
        def updater(cfg):
            if data_preprocessor_updater is not None:
                cfg = data_preprocessor_updater(cfg)
            return build_data_preprocessor_for_mmdeploy(cfg)
        return super().build_backend_model(model_files, updater, **kwargs)

    def create_input(self, imgs, input_shape=None, data_preprocessor=None, **kwargs):
        """mmdeploy's ``create_input`` through :func:`export_model_cfg` (yolopose deploy configs only)."""
        if not is_yolopose_deploy(self.deploy_cfg):
            return super().create_input(imgs, input_shape, data_preprocessor, **kwargs)
        original = self.model_cfg
        self.model_cfg = export_model_cfg(original, static_input_hw(self.deploy_cfg))
        try:
            return super().create_input(imgs, input_shape, data_preprocessor, **kwargs)
        finally:
            self.model_cfg = original


__all__ = ['MODEL_TYPE', 'static_input_hw', 'export_model_cfg', 'is_yolopose_deploy',
           'build_data_preprocessor_for_mmdeploy',
           'YOLOPoseDetection']
