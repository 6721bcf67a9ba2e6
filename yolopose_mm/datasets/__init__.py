# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
from . import transforms  # noqa: F401  (registration-only)
from .coco_yolo_convert import coco_to_yolo, yolo_to_coco
from .collate import yolo_pose_collate
from .dataset_check import CheckReport, check_path
from .keyed_dataset import SampleKeyMixin, YOLOCocoDataset
from .sample_key import SampleKey, sample_seed, seeded_rngs
from .samplers import YOLOBatchSampler
from .yolo_labels import LabelProblem, scan_split
from .yolo_metainfo import DatasetYamlError, load_data_yaml, metainfo_from_spec
from .yolo_pose_dataset import YOLOPoseDataset
from .yolo_rect_batch_sampler import YOLORectBatchSampler, ultralytics_val_order  # noqa: F401  (DATA_SAMPLERS)

__all__ = ['YOLOPoseDataset', 'YOLOCocoDataset', 'SampleKeyMixin', 'SampleKey', 'sample_seed', 'seeded_rngs',
           'YOLOBatchSampler', 'LabelProblem', 'scan_split', 'DatasetYamlError', 'load_data_yaml',
           'metainfo_from_spec', 'check_path', 'CheckReport', 'coco_to_yolo', 'yolo_to_coco', 'YOLORectBatchSampler',
           'ultralytics_val_order', 'yolo_pose_collate']
