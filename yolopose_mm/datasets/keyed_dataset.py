# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Datasets that take :class:`SampleKey` items: each sample's augmentation is a pure function of its key."""
from __future__ import annotations

import random
from typing import Any, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmpose.datasets.datasets.body import CocoDataset
from mmpose.registry import DATASETS
from torch.utils.data import get_worker_info

from .image_batch import ImageBatch, ImageSlot
from .sample_key import SampleKey, seeded_rngs
from .transforms.mosaic import check_lazy_mosaic


# metainfo mmpose's BaseCocoStyleDataset puts into every sample
PIPELINE_METAINFO = ('dataset_name', 'upper_body_ids', 'lower_body_ids', 'flip_pairs', 'dataset_keypoint_weights',
                     'flip_indices', 'skeleton_links')


def info_with_shared_metainfo(dataset: BaseDataset, idx: int) -> dict:
    """``dataset.get_data_info(idx)`` of an mmpose COCO-style dataset without deep-copying the metainfo for every
    sample (mmpose's does; it cost more than the rest of a mosaic's bookkeeping): the annotations are fresh copies
    (mmengine's), metainfo lists are shallow copies and arrays read-only views."""
    info = BaseDataset.get_data_info(dataset, idx)
    for key in PIPELINE_METAINFO:
        value = dataset._metainfo[key]
        if isinstance(value, np.ndarray):
            value = value.view()
            value.flags.writeable = False
        elif isinstance(value, list):
            value = list(value)
        info[key] = value
    return info


class SampleKeyMixin:
    """Lets an mmengine / mmpose dataset take a :class:`SampleKey` (from ``YOLOBatchSampler``) as well as an int.

    For a key, numpy's global RNG and Python's ``random`` are seeded from (seed, epoch, index) for the sample, and
    the key is put in the pipeline's input as ``sample_key`` (``YOLOMosaic`` draws partners from its pool). The
    sample then depends only on the key: not on the worker, the number of workers, whether they persist, or what
    ran before; a resumed run redraws exactly the samples of the uninterrupted one. A pipeline that returns None is
    retried on another image drawn from the same seeded stream. An int index behaves as in mmengine.

    A batch of keys (``__getitems__``, which torch's dataloader calls with a batch sampler) also gets one
    :class:`ImageBatch`: each sample's pipeline input carries its ``img_slot``, the place in the batch tensor its
    final image is written into (see ``image_batch``); the samples are the same as one by one.
    """

    accepts_sample_keys = True

    def full_init(self) -> None:
        super().full_init()
        check_lazy_mosaic(getattr(self.pipeline, 'transforms', []))

    def __getitem__(self, idx: Any) -> Any:
        if not isinstance(idx, SampleKey):
            return super().__getitem__(idx)
        return self._keyed_item(idx, None)

    def __getitems__(self, keys: Sequence[Any]) -> List[Any]:
        if not keys or not all(isinstance(k, SampleKey) for k in keys):
            return [self[k] for k in keys]
        return [self._keyed_item(k, slot) for k, slot in zip(keys, ImageBatch(len(keys)).slots())]

    def _keyed_item(self, idx: SampleKey, slot: Optional[ImageSlot]) -> Any:
        if not self._fully_initialized:
            self.full_init()
        key = idx
        # in a worker nobody else uses the global generators; in the main process, leave them running afterwards
        with seeded_rngs(key, restore=get_worker_info() is None):
            for _ in range(self.max_refetch + 1):
                data = self.prepare_keyed(key, slot)
                if data is not None:
                    return data
                key = key._replace(index=random.randrange(len(self)))
        raise RuntimeError(f'{type(self).__name__}: the pipeline returned None for {self.max_refetch + 1} samples in '
                           f'a row (starting from {idx}); check the transforms that drop samples')

    def prepare_keyed(self, key: SampleKey, slot: Optional[ImageSlot] = None) -> Any:
        """The pipeline's output for ``key`` (its RNGs already seeded); ``slot``: where its image may go."""
        data_info = self.get_data_info(key.index)
        data_info['dataset'] = self
        data_info['sample_key'] = key
        if slot is not None:
            data_info['img_slot'] = slot
        return self.pipeline(data_info)


@DATASETS.register_module()
class YOLOCocoDataset(SampleKeyMixin, CocoDataset):
    """mmpose's ``CocoDataset`` (COCO keypoint json) that also takes sample keys, for the YOLO training recipe's
    reproducible augmentation (see :class:`SampleKeyMixin`), and shares its metainfo between samples instead of
    deep-copying it (:func:`info_with_shared_metainfo`); same arguments as ``CocoDataset``."""

    def get_data_info(self, idx: int) -> dict:
        return info_with_shared_metainfo(self, idx)
