# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""``track``: pose estimation over a video, a webcam or an image sequence with persistent person IDs."""
from __future__ import annotations

import os
import queue
import threading
import warnings
import weakref
from typing import Any, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmpose.structures import PoseDataSample
from torch import nn

from .cpu_memory import retain_freed_memory
from .inference import inference, read_image
from .sources import DEFAULT_FPS, VideoReader, resolve_input
from .tracker import PoseTracker

class FrameSkippedWarning(UserWarning):
    """An image of a sequence could not be read and was skipped (its frame index is not reused)."""


Source = Union[str, os.PathLike, int, Iterable[Union[np.ndarray, str, os.PathLike]]]


def _frames(source: Source) -> Tuple[Iterator[Tuple[Optional[str], Optional[np.ndarray]]], float, Any]:
    """(iterator of (path or None, BGR frame or None when unreadable), fps, reader to close or None)."""
    if isinstance(source, VideoReader):  # already opened (the demo opens it before loading the model)
        return ((None, f) for f in source), source.fps, source
    if isinstance(source, int) or isinstance(source, (str, os.PathLike)):
        spec = resolve_input(str(source))
        if spec.kind != 'images':
            reader = VideoReader(int(spec.items[0]) if spec.kind == 'webcam' else spec.items[0])
            return ((None, f) for f in reader), reader.fps, reader
        items: Iterable = spec.items
    elif isinstance(source, np.ndarray):
        raise TypeError('track: source is one image array; pass a list (or iterator) of frames, a video, a webcam '
                        'index or an image folder')
    else:
        try:
            items = iter(source)
        except TypeError:
            raise TypeError(f'track: source must be a video, webcam index, folder, glob or an iterable of frames, '
                            f'got {type(source).__name__}') from None

    def load() -> Iterator[Tuple[Optional[str], Optional[np.ndarray]]]:
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray):
                if item.ndim != 3 or item.shape[2] != 3 or item.dtype != np.uint8:
                    raise ValueError(f'track: frame {i} must be a uint8 H x W x 3 (BGR) array, got shape '
                                     f'{item.shape} dtype {item.dtype}')
                yield None, item
                continue
            try:
                yield str(item), read_image(item)
            except (FileNotFoundError, ValueError) as e:
                warnings.warn(f'track: frame {i} skipped: {e}', FrameSkippedWarning)
                yield str(item), None
    return load(), DEFAULT_FPS, None


def track(model: nn.Module, source: Source, tracker: Any = 'bytetrack', *, smoothing: Any = None,
          batch_size: Optional[int] = None, input_size: Optional[int] = None, nms_thr: float = 0.7,
          fps: Optional[float] = None,
          prefetch: Optional[bool] = None, **tracker_cfg: Any) -> Iterator[PoseDataSample]:
    """Track people over the frames of ``source``; one ``PoseDataSample`` per frame, in order.

    :func:`track_frames` takes the same arguments and yields ``(frame, sample)`` pairs (to draw on the frame).

    Settings and the source are checked (and a video or camera opened) when ``track`` is called, before the first
    frame, so a bad tracker name or setting raises at once. With a model on the CPU the process keeps freed heap
    memory for reuse from then on (:func:`~yolopose_mm.apis.cpu_memory.retain_freed_memory`, glibc only;
    ``YOLOPOSE_RETAIN_MEMORY=0`` turns it off).

    Args:
        model: from :func:`~yolopose_mm.apis.init_model` (``optimize=True`` is faster).
        source: a video file, a webcam index (``0`` or ``'0'``), an image folder or glob (sorted), an opened
            :class:`~yolopose_mm.apis.VideoReader`, or an iterable of BGR uint8 frames (H, W, 3) or image paths.
        tracker: ``'bytetrack'`` (default), ``'ocsort'``, a tracker config file (``configs/trackers/*.py``) or dict.
        smoothing: One-Euro keypoint smoothing over each track: None (the config's, off by default), True (its
            defaults) or a dict of ``min_cutoff`` (Hz), ``beta``, ``d_cutoff`` (Hz).
        batch_size: frames per forward pass; default 1 for a webcam (lowest latency), else 4 (less work per frame
            on a file or an image sequence).
        input_size: letterbox size (default: the model config's, 640).
        nms_thr: NMS IoU threshold of the detector. People are detected down to the tracker's lowest score
            threshold (ByteTrack's ``obj_score_thrs.low``), as ByteTrack needs the weak detections too.
        fps: frames per second for the smoothing filter (default: the video's, else 30).
        prefetch: read frames and run the network in a background thread, up to two batches ahead of the
            tracker and of the caller's loop (which then overlap with it); False: all in the calling thread.
            Default (None): the background thread when the model is on a GPU or when torch's CPU threads
            (``torch.get_num_threads()``) leave a core of this process free; with every core in torch's thread
            pool, a second busy thread slows them down (measured on 2 cores with 2 threads: 0.8x the frames
            per second).
            Several tracks over one model take turns; but do not call :func:`inference` on that model from
            another thread meanwhile (it sets the model's ``test_cfg`` for the duration of a call).
        **tracker_cfg: tracker settings over the config's, e.g. ``num_frames_retain=60``,
            ``obj_score_thrs=dict(high=0.5, low=0.1)``, ``match_iou_thrs=dict(high=0.3)``.

    Yields:
        ``PoseDataSample`` per frame, in image pixels: ``pred_instances`` are the people on a confirmed track
        (``bboxes``, ``bbox_scores``, ``keypoints``, ``keypoint_scores``, ``labels`` and ``track_ids`` (M,) int64,
        1-based, in the order tracks were confirmed); ``untracked_instances`` the other detections; metainfo
        ``frame_id`` (0-based index in the source) and ``img_path`` for image files. Unreadable images of a
        sequence are skipped with a warning (their frame index is not reused).

    Raises:
        TrackerConfigError: a bad tracker name or setting. InputError: a missing source or a camera that cannot
        be opened. ValueError / TypeError: bad arguments or frames.
    """
    pairs = track_frames(model, source, tracker, smoothing=smoothing, batch_size=batch_size, input_size=input_size,
                         nms_thr=nms_thr, fps=fps, prefetch=prefetch, **tracker_cfg)
    return (sample for _, sample in pairs)


def track_frames(model: nn.Module, source: Source, tracker: Any = 'bytetrack', *, smoothing: Any = None,
                 batch_size: Optional[int] = None, input_size: Optional[int] = None, nms_thr: float = 0.7,
                 fps: Optional[float] = None, prefetch: Optional[bool] = None,
                 **tracker_cfg: Any) -> Iterator[Tuple[np.ndarray, PoseDataSample]]:
    """:func:`track`, yielding ``(frame, sample)``: the BGR frame (H, W, 3) and its ``PoseDataSample``."""
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f'track: batch_size must be >= 1, got {batch_size!r}')
    if not 0.0 <= float(nms_thr) <= 1.0:
        raise ValueError(f'track: nms_thr must be within [0, 1], got {nms_thr!r}')
    if fps is not None and not fps > 0:
        raise ValueError(f'track: fps must be > 0, got {fps!r}')
    from .tracker_config import load_tracker_config
    settings = load_tracker_config(tracker, smoothing, **tracker_cfg)  # check before opening anything
    frames, source_fps, reader = _frames(source)
    pose_tracker = PoseTracker(settings, fps=fps or source_fps)
    on_cpu = _on_cpu(model)
    if on_cpu:
        retain_freed_memory()  # feature maps reuse freed heap blocks instead of page-faulting in anew
    if prefetch is None:
        prefetch = not on_cpu or torch.get_num_threads() < _usable_cpus()
    if batch_size is None:
        batch_size = 1 if isinstance(reader, VideoReader) and reader.frame_count is None else 4  # a webcam: 1
    return _run(model, frames, reader, pose_tracker, int(batch_size), input_size, float(nms_thr), bool(prefetch))


def _on_cpu(model: nn.Module) -> bool:
    param = next(model.parameters(), None)
    return param is None or param.device.type == 'cpu'


def _usable_cpus() -> int:
    """CPU cores this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_MODEL_LOCKS: 'weakref.WeakKeyDictionary[nn.Module, threading.Lock]' = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


def _model_lock(model: nn.Module) -> threading.Lock:
    """One lock per model: two tracks over one model (e.g. zipped) take turns in :func:`inference`, which sets
    the model's ``test_cfg`` for the duration of a call."""
    with _LOCKS_LOCK:
        return _MODEL_LOCKS.setdefault(model, threading.Lock())


def _detections(model: nn.Module, frames: Iterator, batch_size: int,
                predict: dict) -> Iterator[List[Tuple[int, Optional[str], np.ndarray, PoseDataSample]]]:
    """Batches of (frame index, path, frame, prediction); unreadable frames keep their index but are left out."""
    index = 0
    while True:
        batch = []
        for path, image in frames:
            if image is not None:
                batch.append((index, path, image))
            index += 1
            if len(batch) == batch_size:
                break
        if not batch:
            return
        with _model_lock(model):
            samples = inference(model, [img for _, _, img in batch], batch_size=batch_size, rect=True, **predict)
        yield [(i, path, img, sample) for (i, path, img), sample in zip(batch, samples)]


_END = object()


def _ahead(items: Iterator, depth: int = 2) -> Iterator:
    """Run ``items`` in a background thread, up to ``depth`` items ahead of the consumer (decoding and the
    network then overlap with tracking and whatever the caller does with each frame). Exceptions are re-raised
    here; closing this generator stops the thread within one item."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, _END))
        except BaseException as e:  # noqa: B902  (handed to the consumer)
            put((False, e))

    worker = threading.Thread(target=work, name='yolopose-track-detect', daemon=True)
    worker.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _run(model: nn.Module, frames: Iterator, reader: Any, pose_tracker: PoseTracker, batch_size: int,
         input_size: Optional[int], nms_thr: float, prefetch: bool) -> Iterator[Tuple[np.ndarray, PoseDataSample]]:
    predict = dict(input_size=input_size, score_thr=pose_tracker.settings.detect_score_thr, nms_thr=nms_thr)
    batches = _detections(model, frames, batch_size, predict)
    ahead = _ahead(batches) if prefetch else batches
    try:
        for batch in ahead:
            for i, path, image, sample in batch:
                out = pose_tracker.update(sample, frame_id=i)
                if path is not None:
                    out.set_metainfo(dict(img_path=path))
                yield image, out
    finally:
        ahead.close()  # stops and joins the background thread first
        batches.close()
        if reader is not None:
            reader.close()


__all__ = ['track', 'track_frames', 'FrameSkippedWarning']
