# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pack a training sample as mmpose's ``PackPoseInputs`` does, without its copies."""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import TRANSFORMS
from mmpose.structures import PoseDataSample


def _tensor(value):
    """A label as ``PackPoseInputs`` packs it: lists stacked, arrays as tensors (sharing memory), others as is."""
    if isinstance(value, list):
        value = np.stack(value)
    return torch.from_numpy(value) if isinstance(value, np.ndarray) else value


@TRANSFORMS.register_module()
class YOLOPackPoseInputs(PackPoseInputs):
    """mmpose's ``PackPoseInputs`` (same arguments, same ``inputs`` values and data sample fields) without the copies
    that cost as much as a colour conversion per sample:

    * ``inputs`` is a (3, H, W) view of the (H, W, 3) image, not a contiguous copy: the data preprocessor copies the
      batch anyway (channel order, float, normalisation, padding), on the GPU when training there;
    * ``gt_instance_labels`` are tensors from the start (no numpy ``InstanceData`` converted afterwards);
    * metainfo values are set without a deep copy (the dataset hands out fresh copies already);
    * with an ``img_slot`` (a batch from ``SampleKeyMixin.__getitems__``) the image is the slot's view of the batch
      tensor, copied there only when no earlier transform wrote it there.

    Samples with pixel-level targets (``field_mapping_table`` keys, e.g. heatmaps) are packed by the base class.
    """

    def transform(self, results: Dict) -> Dict:
        img = results.get('img')
        fields = results.get('field_mapping_table', self.field_mapping_table)
        if not isinstance(img, np.ndarray) or any(key in results for key in fields):
            return super().transform(results)
        sample = PoseDataSample()
        gt_instances = InstanceData()
        for key, packed in results.get('instance_mapping_table', self.instance_mapping_table).items():
            if key in results:
                gt_instances.set_field(results[key], packed)
        if self.pack_transformed and 'transformed_keypoints' in results:
            gt_instances.set_field(results['transformed_keypoints'], 'transformed_keypoints')
        sample.gt_instances = gt_instances
        labels = InstanceData()
        for key, packed in results.get('label_mapping_table', self.label_mapping_table).items():
            if key in results:
                labels.set_field(_tensor(results[key]), packed)
        sample.gt_instance_labels = labels
        for key in self.meta_keys:
            if key in results:
                sample.set_field(results[key], key, field_type='metainfo')
        if img.ndim == 2:
            img = img[..., None]
        slot = results.get('img_slot')
        if slot is not None and not slot.holds(img):
            dst = slot.out(img)
            if dst is not None:
                np.copyto(dst, img)
                img = dst
        if slot is not None and slot.holds(img):  # a view of the batch tensor (yolo_pose_collate keeps it)
            return dict(inputs=slot.tensor().permute(2, 0, 1), data_samples=sample)
        if not img.flags.writeable:  # e.g. a cached decoded image: the tensor must not alias it
            img = img.copy()
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1), data_samples=sample)
