# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The backend model that turns an exported YOLO pose network's outputs into mmpose ``PoseDataSample``s.

Registered in mmdeploy's pose-detection backend-model registry as ``'yolopose_end2end'``; a deploy config picks it
with ``codebase_config.model_type='yolopose_end2end'``, so ``mmdeploy.apis.inference_model`` and
``task_processor.build_backend_model`` return the same ``PoseDataSample``s as the eager model: the same
``pred_instances`` fields (``bboxes``, ``bbox_scores``, ``labels``, ``keypoints``, ``keypoint_scores``,
``keypoints_visible``), clipped to the image like eager ``predict`` and mapped to the image by mmpose's own
``BottomupPoseEstimator.add_pred_to_datasample``.
"""
from __future__ import annotations

import os
from logging import WARNING
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdeploy.codebase.mmpose.deploy import pose_detection_model
from mmdeploy.utils import Backend
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import BottomupPoseEstimator

from ..models.heads import RawHeadOutputs
from ..models.heads.yolo_pose_head import _clip_to_image
from ..models.utils.decode import DecodedPose
from ..models.heads.yolo26_pose_head import select_predictions
from .export_metadata import graph_nms, read_metadata
from .folded_input import UInt8InputPreprocessor, foldable_normalization
from .layouts import OUTPUT_NAMES, NMSParams, from_ultralytics, get_layout, get_nms_params
from .model_files import exported_input_shape, require_backend
from .yolo26_rewriter import nms_free_after_network, rows_from_ultralytics_end2end

# mmdeploy keeps this registry in a module-level name with two leading underscores (no public accessor).
BACKEND_MODELS = vars(pose_detection_model)['__BACKEND_MODEL']


@BACKEND_MODELS.register_module('yolopose_end2end')
class YOLOPoseEnd2EndModel(pose_detection_model.End2EndModel):
    """mmdeploy ``End2EndModel`` for YOLO pose exports in any layout of :mod:`.layouts`.

    Backends: mmdeploy's wrappers (ONNX Runtime, TensorRT, ...), and ours for OpenVINO and ncnn
    (:mod:`.backends`), whose mmdeploy 1.3.1 wrappers need removed APIs or libraries its wheel lacks.
    """

    def _init_wrapper(self, backend: Backend, backend_files: Sequence[str], device: str, **kwargs) -> None:
        layout = get_layout(self.deploy_cfg)
        names = list(self.output_names)
        if tuple(names) != OUTPUT_NAMES[layout]:
            raise ValueError(f'deploy config: onnx_config.output_names must be {list(OUTPUT_NAMES[layout])} for '
                             f"output_layout='{layout}', got {names}")
        require_backend(backend)
        self.backend_files = [str(f) for f in backend_files]
        if backend in (Backend.OPENVINO, Backend.NCNN):
            from mmdeploy.utils import get_backend_config

            from .backends import build_wrapper
            folded = self._folded_preprocessing() if backend == Backend.OPENVINO else None
            precision = get_backend_config(self.deploy_cfg).get('inference_precision', 'f32')
            self.wrapper = build_wrapper(backend, backend_files, names, device, folded, precision)
            if folded and self.wrapper.input_dtype == torch.uint8:  # the wrapper folds static-shape models only
                self.data_preprocessor = UInt8InputPreprocessor(folded['pad_size_divisor'], folded['pad_value'])
        else:
            super()._init_wrapper(backend, backend_files, device, **kwargs)
        self.input_shape = exported_input_shape(self.deploy_cfg, self.wrapper)
        self.export_meta = read_metadata(self.wrapper)
        if self.export_meta.get('output_layout', layout) != layout:
            raise ValueError(f"{os.path.basename(self.backend_files[0])} was exported with output_layout="
                             f"'{self.export_meta['output_layout']}', the deploy config says '{layout}': pass the "
                             'deploy config it was exported with')
        self.test_cfg: dict = {}  # runtime NMS overrides (score_thr, nms_thr, max_per_img), e.g. from inference()
        self._warned: set = set()

    def _folded_preprocessing(self) -> Optional[dict]:
        """The data preprocessor's normalisation for the graph to do (OpenVINO), or None to keep it on the host:
        ``backend_config.fold_preprocessing`` (default True) and a preprocessor the graph can stand in for."""
        from mmdeploy.utils import get_backend_config
        if not get_backend_config(self.deploy_cfg).get('fold_preprocessing', True):
            return None
        return foldable_normalization(self.data_preprocessor)

    @property
    def fixed_input_hw(self) -> Optional[Tuple[int, int]]:
        """(H, W) the exported model is fixed to, or None when it takes any size."""
        h, w = self.input_shape[2:]
        return (int(h), int(w)) if h is not None and w is not None else None

    def nms_params(self) -> NMSParams:
        """NMS of the deploy config's ``post_processing`` (for NMS in the graph: the export's), overridden by
        :attr:`test_cfg` (score_thr, nms_thr, max_per_img). NMS in the graph can only be filtered further (a higher
        score, fewer people)."""
        in_graph = get_layout(self.deploy_cfg) == 'dets_keypoints'
        base = self.graph_nms_params() if in_graph else get_nms_params(self.deploy_cfg)
        cfg = self.test_cfg or {}
        return NMSParams(float(cfg.get('score_thr', base.score_thr)), float(cfg.get('nms_thr', base.iou_thr)),
                         int(cfg.get('max_per_img', base.max_per_img)))

    def forward(self, inputs: torch.Tensor, data_samples: List, mode: str = 'predict', **kwargs) -> List:
        """Run the backend on (B, 3, H, W) inputs; return the data samples with ``pred_instances`` (image space).

        A model exported with a fixed batch size runs the batch in chunks of that size; a fixed input size must
        match (a clear error names the fix otherwise).
        """
        if mode != 'predict':
            raise ValueError(f"YOLOPoseEnd2EndModel only supports mode='predict', got {mode!r}")
        hw = self.fixed_input_hw
        if hw is not None and tuple(inputs.shape[2:]) != hw:
            raise ValueError(
                f'{os.path.basename(self.backend_files[0])} takes only {hw[0]}x{hw[1]} (H x W) inputs (a static '
                f'export), got a {inputs.shape[2]}x{inputs.shape[3]} batch: letterbox to that size (LetterBox '
                f'input_size={(hw[1], hw[0])}, auto=False, rect=False) or export with a dynamic deploy config')
        step = int(self.input_shape[0]) if self.input_shape[0] is not None else inputs.shape[0]
        preds: List[InstanceData] = []
        for start in range(0, inputs.shape[0], step):
            chunk = inputs[start:start + step].contiguous().to(self.device)
            outputs = self.wrapper({self.input_name: chunk})
            outputs = [o.detach().float().cpu() for o in self.wrapper.output_to_list(outputs)]
            preds.extend(self.outputs_to_instances(outputs, data_samples[start:start + step],
                                                   tuple(chunk.shape[2:])))
        return BottomupPoseEstimator.add_pred_to_datasample(self, preds, None, data_samples)

    def check_outputs(self, outputs: List[torch.Tensor]) -> None:
        """Refuse outputs whose keypoint (or class) count differs from the model config's head, with the fix."""
        head = self.model_cfg.model.head
        k, dim, c = (int(head.get('num_keypoints', 17)), int(head.get('keypoint_dim', 3)),
                     int(head.get('num_classes', 1)))
        layout = get_layout(self.deploy_cfg)
        found = None
        if layout == 'dets_keypoints':
            kpts = outputs[1]
            if kpts.ndim != 4 or kpts.shape[-1] != 3:
                found = f'keypoints of shape {tuple(kpts.shape)}'
            elif kpts.shape[2] != k:
                found = f'{kpts.shape[2]} keypoints per person'
        elif layout == 'decoded':  # ncnn drops size-1 dims: count values per prior
            n = max(outputs[0].numel() // 4, 1)
            kpt, cls = outputs[2].numel() / (n * 3), outputs[1].numel() / n
            if (kpt, cls) != (k, c):
                found = f'{kpt:g} keypoints and {cls:g} class(es) per prior'
        elif layout == 'raw':
            n = max(outputs[1].shape[0] * outputs[1].shape[-1], 1)
            kvals, cls = outputs[2].numel() / n, outputs[1].numel() / n
            if (kvals, cls) != (k * dim, c):
                found = f'{kvals:g} keypoint values (K x dim) and {cls:g} class(es) per prior'
        else:
            if outputs[0].ndim != 3 or outputs[0].shape[1] != 4 + c + k * dim:
                found = f'output0 of shape {tuple(outputs[0].shape)} (expected 4 + {c} + {k} x {dim} rows)'
        if found is not None:
            raise ValueError(f'{os.path.basename(self.backend_files[0])} outputs {found}, but the model config has '
                             f'{k} keypoints (dim {dim}) and {c} class(es): it was exported from another model; '
                             'evaluate it with the config it was exported from, or export this config\'s model')

    def outputs_to_instances(self, outputs: List[torch.Tensor], data_samples: List,
                             input_hw: Tuple[int, int]) -> List[InstanceData]:
        """Backend outputs -> one ``InstanceData`` per image in input coordinates (as eager head ``predict``).

        Args:
            outputs: the backend's outputs in ``onnx_config.output_names`` order.
            data_samples: one per image, with the letterbox metainfo.
            input_hw: (H, W) of the network input (the ``'raw'`` layout derives its priors from it).
        """
        self.check_outputs(outputs)
        layout = get_layout(self.deploy_cfg)
        nms = self.nms_params()
        if layout == 'dets_keypoints':
            self._check_graph_nms(nms)
            dets, kpts = outputs
            per_image = []
            for i in range(dets.shape[0]):
                keep = (dets[i, :, 4] > max(nms.score_thr, 0.0)).nonzero().view(-1)[:nms.max_per_img]
                per_image.append((dets[i, keep, :4], dets[i, keep, 4], torch.zeros(len(keep), dtype=torch.long),
                                  kpts[i, keep, :, :2], kpts[i, keep, :, 2]))
        elif layout == 'ultralytics_end2end':
            per_image = rows_from_ultralytics_end2end(outputs[0], self.head.keypoint_dim, nms.score_thr)
        else:
            if layout == 'raw':
                decoded = self._decode_raw(outputs, input_hw)
            elif layout == 'decoded':
                bboxes, scores, kpts = outputs
                # ncnn drops size-1 dims: restore (B, N, 4), (B, N, C), (B, N, K, 3)
                bboxes = bboxes.reshape(bboxes.shape[0], -1, 4)
                scores = scores.reshape(*bboxes.shape[:2], -1)
                kpts = kpts.reshape(*bboxes.shape[:2], -1, 3)
                decoded = DecodedPose(bboxes, scores, kpts[..., :2], kpts[..., 2])
            else:
                head = self.model_cfg.model.head
                decoded = from_ultralytics(outputs[0], int(head.get('num_classes', 1)),
                                           int(head.get('num_keypoints', 17)), int(head.get('keypoint_dim', 3)))
            kept = select_predictions(decoded, nms_free_after_network(self.head, self.deploy_cfg), nms.score_thr,
                                      nms.iou_thr, nms.max_per_img)
            per_image = [(decoded.bboxes[i][idx], scores, labels, decoded.keypoints[i][idx],
                          decoded.keypoint_scores[i][idx]) for i, (idx, scores, labels) in enumerate(kept)]
        results = []
        for (bboxes, scores, labels, keypoints, kpt_scores), sample in zip(per_image, data_samples):
            bboxes, keypoints = _clip_to_image(bboxes, keypoints, sample.metainfo)
            results.append(InstanceData(bboxes=bboxes.numpy(), bbox_scores=scores.numpy(),
                                        labels=labels.numpy(), keypoints=keypoints.numpy(),
                                        keypoint_scores=kpt_scores.numpy().astype(np.float32)))
        return results

    def graph_nms_params(self) -> NMSParams:
        """The NMS inside an exported graph: as recorded in the model file, else the deploy config's."""
        return graph_nms(self.export_meta) or get_nms_params(self.deploy_cfg)

    def _check_graph_nms(self, nms: NMSParams) -> None:
        """Warn once when runtime settings ask for more than the NMS inside the exported graph can give."""
        graph = self.graph_nms_params()
        if (nms.score_thr < graph.score_thr or nms.iou_thr != graph.iou_thr or nms.max_per_img > graph.max_per_img) \
                and nms not in self._warned:
            self._warned.add(nms)
            source = 'recorded in the file' if graph_nms(self.export_meta) else 'from the deploy config'
            print_log(f'{os.path.basename(self.backend_files[0])} has its NMS inside the graph (score > '
                      f'{graph.score_thr:g}, IoU {graph.iou_thr:g}, {graph.max_per_img} per image, {source}): '
                      f'score_thr {nms.score_thr:g} / nms_thr {nms.iou_thr:g} / max_per_img {nms.max_per_img} can '
                      'only filter its output further; export with codebase_config.post_processing set to those '
                      '(tools/test.py CONFIG CHECKPOINT --deploy-cfg ... exports with the config\'s test_cfg)',
                      logger='current', level=WARNING)

    def _decode_raw(self, outputs: List[torch.Tensor], input_hw: Tuple[int, int]) -> DecodedPose:
        """Decode the ``'raw'`` layout with the head's own ``decode`` (the one decode path)."""
        sizes = tuple((-(-input_hw[0] // s), -(-input_hw[1] // s)) for s in self.head.featmap_strides)
        n = sum(h * w for h, w in sizes)
        box, cls, kpt = (o.reshape(o.shape[0], -1, n) for o in outputs)  # ncnn drops the batch dim
        return self.head.decode(RawHeadOutputs(box, cls, kpt, sizes))


__all__ = ['BACKEND_MODELS', 'YOLOPoseEnd2EndModel']
