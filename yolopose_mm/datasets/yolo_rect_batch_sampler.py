# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Batches of images in the order ``yolo val`` builds them, for its rectangular validation protocol.

Ultralytics' validation loader lists the image files sorted by path, sorts them by aspect ratio (h / w, numpy's
default ``argsort``), and cuts that order into consecutive batches; each batch is then padded to one shape
computed from its aspect ratios (:func:`~yolopose_mm.datasets.transforms.letterbox.rect_batch_shape`, applied by
the model's ``YOLOPoseDataPreprocessor``). Predictions depend on that shape, so the same batches give the same numbers.
"""
from __future__ import annotations

import math
from typing import Iterator, List, Sequence, Tuple

import numpy as np
from mmengine.dist import get_dist_info
from mmpose.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from .yolo_labels import image_size


def ultralytics_val_order(img_paths: Sequence[str], sizes_hw: Sequence[Tuple[int, int]]) -> List[int]:
    """Indices of ``img_paths`` in the order of Ultralytics' rectangular validation loader.

    Args:
        img_paths: image file of each dataset index.
        sizes_hw: (h, w) of each image after its EXIF rotation.

    Returns:
        Dataset indices: sorted by path, then stably re-ordered by h / w exactly as ``np.argsort`` does there.
    """
    by_path = sorted(range(len(img_paths)), key=lambda i: str(img_paths[i]))
    shapes = np.array([sizes_hw[i] for i in by_path], dtype=np.int64).reshape(-1, 2)
    aspect = shapes[:, 0] / shapes[:, 1]
    return [by_path[i] for i in aspect.argsort()]


def _image_hw(info: dict) -> Tuple[int, int]:
    if info.get('width') and info.get('height'):  # YOLOPoseDataset records the EXIF-rotated size
        return int(info['height']), int(info['width'])
    w, h = image_size(info['img_path'])  # header only, EXIF orientation applied
    return h, w


@DATA_SAMPLERS.register_module()
class YOLORectBatchSampler(Sampler[List[int]]):
    """Batch sampler of Ultralytics' rectangular validation protocol (a dataloader's ``batch_sampler``).

    Images are ordered as :func:`ultralytics_val_order` and cut into batches of ``batch_size`` (the dataloader's
    ``batch_size``); each batch holds images of similar aspect ratio, and ``YOLOPoseDataPreprocessor`` pads it to one shape.
    With several processes each takes whole batches in turn (batch ``b`` to rank ``b % world_size``), so every
    image is seen in the same batch, hence the same shape, as with one process: the metrics do not depend on the
    number of processes.

    Args:
        sampler: the dataloader's sampler; only its ``dataset`` is used (its order and sharding are not).
        batch_size: images per batch (Ultralytics' ``batch``).
        drop_last: must be False: evaluation sees every image.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'YOLORectBatchSampler: batch_size must be a positive int, got {batch_size!r}')
        if drop_last:
            raise ValueError('YOLORectBatchSampler: drop_last=True would leave images out of the evaluation; set '
                             'drop_last=False')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None or not hasattr(dataset, 'get_data_info'):
            raise TypeError('YOLORectBatchSampler: the sampler must carry an mmengine dataset (sampler.dataset with '
                            f'get_data_info), got {type(sampler).__name__}; use DefaultSampler')
        self.sampler, self.batch_size = sampler, batch_size
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        order = ultralytics_val_order([d['img_path'] for d in infos], [_image_hw(d) for d in infos])
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        self.rank, self.world_size = get_dist_info()
        self.batches = batches[self.rank::self.world_size]
        self.num_images = len(order)

    def __iter__(self) -> Iterator[List[int]]:
        yield from (list(b) for b in self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def set_epoch(self, epoch: int) -> None:
        """Evaluation order does not change between epochs."""

    @property
    def total_batches(self) -> int:
        return math.ceil(self.num_images / self.batch_size)


__all__ = ['YOLORectBatchSampler', 'ultralytics_val_order']
