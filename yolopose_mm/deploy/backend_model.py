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

from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmdeploy.codebase.mmpose.deploy import pose_detection_model
from mmdeploy.utils import Backend
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import BottomupPoseEstimator

from ..models.heads import RawHeadOutputs
from ..models.heads.yolo_pose_head import _clip_to_image
from ..models.utils.decode import DecodedPose
from ..models.heads.yolo26_pose_head import select_predictions
from .layouts import OUTPUT_NAMES, from_ultralytics, get_layout, get_nms_params
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
        if backend in (Backend.OPENVINO, Backend.NCNN):
            from .backends import build_wrapper
            self.wrapper = build_wrapper(backend, backend_files, names, device)
        else:
            super()._init_wrapper(backend, backend_files, device, **kwargs)

    def forward(self, inputs: torch.Tensor, data_samples: List, mode: str = 'predict', **kwargs) -> List:
        """Run the backend on (B, 3, H, W) inputs; return the data samples with ``pred_instances`` (image space)."""
        if mode != 'predict':
            raise ValueError(f"YOLOPoseEnd2EndModel only supports mode='predict', got {mode!r}")
        outputs = self.wrapper({self.input_name: inputs.contiguous().to(self.device)})
        outputs = [o.detach().float().cpu() for o in self.wrapper.output_to_list(outputs)]
        preds = self.outputs_to_instances(outputs, data_samples, tuple(inputs.shape[2:]))
        return BottomupPoseEstimator.add_pred_to_datasample(self, preds, None, data_samples)

    def outputs_to_instances(self, outputs: List[torch.Tensor], data_samples: List,
                             input_hw: Tuple[int, int]) -> List[InstanceData]:
        """Backend outputs -> one ``InstanceData`` per image in input coordinates (as eager head ``predict``).

        Args:
            outputs: the backend's outputs in ``onnx_config.output_names`` order.
            data_samples: one per image, with the letterbox metainfo.
            input_hw: (H, W) of the network input (the ``'raw'`` layout derives its priors from it).
        """
        layout = get_layout(self.deploy_cfg)
        if layout == 'dets_keypoints':
            dets, kpts = outputs
            per_image = []
            for i in range(dets.shape[0]):
                keep = dets[i, :, 4] > 0
                per_image.append((dets[i, keep, :4], dets[i, keep, 4], torch.zeros(int(keep.sum()),
                                  dtype=torch.long), kpts[i, keep, :, :2], kpts[i, keep, :, 2]))
        elif layout == 'ultralytics_end2end':
            per_image = rows_from_ultralytics_end2end(outputs[0], self.head.keypoint_dim,
                                                      get_nms_params(self.deploy_cfg).score_thr)
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
            nms = get_nms_params(self.deploy_cfg)
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

    def _decode_raw(self, outputs: List[torch.Tensor], input_hw: Tuple[int, int]) -> DecodedPose:
        """Decode the ``'raw'`` layout with the head's own ``decode`` (the one decode path)."""
        sizes = tuple((-(-input_hw[0] // s), -(-input_hw[1] // s)) for s in self.head.featmap_strides)
        n = sum(h * w for h, w in sizes)
        box, cls, kpt = (o.reshape(o.shape[0], -1, n) for o in outputs)  # ncnn drops the batch dim
        return self.head.decode(RawHeadOutputs(box, cls, kpt, sizes))


__all__ = ['BACKEND_MODELS', 'YOLOPoseEnd2EndModel']
