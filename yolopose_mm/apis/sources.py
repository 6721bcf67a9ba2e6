# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""What to run on: resolve an input spec (image, folder, glob, video, webcam index) and read / write videos."""
from __future__ import annotations

import glob
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Tuple, Union

import cv2
import numpy as np

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v', '.mpg', '.mpeg', '.webm', '.wmv')
DEFAULT_FPS = 30.0


class InputError(ValueError):
    """A bad input (missing, unreadable, cannot be opened); the message is one line naming what and where."""


@dataclass(frozen=True)
class InputSpec:
    """A resolved input.

    Attributes:
        kind: ``'images'`` (``items`` are image paths), ``'video'`` (``items`` is the video path) or
            ``'webcam'`` (``items`` is the camera index as a string).
        items: See ``kind``.
        ignored: Files of a folder that were skipped because their extension is not an image's.
    """

    kind: str
    items: Tuple[str, ...]
    ignored: Tuple[str, ...] = ()


def resolve_input(spec: str) -> InputSpec:
    """Classify an input spec: a webcam index (``'0'``), a video file, a folder, a glob pattern or an image.

    Raises:
        InputError: nothing exists at the path, a folder holds no image, or a glob matches no file.
    """
    spec = str(spec)
    if spec.isdigit():
        return InputSpec('webcam', (spec,))
    if os.path.isdir(spec):
        files = sorted(p for p in Path(spec).iterdir() if p.is_file())
        images = tuple(str(p) for p in files if p.suffix.lower() in IMAGE_EXTS)
        ignored = tuple(str(p) for p in files if p.suffix.lower() not in IMAGE_EXTS)
        if not images:
            raise InputError(f'no images ({", ".join(IMAGE_EXTS)}) in folder {spec}')
        return InputSpec('images', images, ignored)
    if any(c in spec for c in '*?['):
        matches = tuple(sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p)))
        if not matches:
            raise InputError(f'no file matches the pattern {spec}')
        return InputSpec('images', matches)
    if not os.path.isfile(spec):
        raise InputError(f'input not found: {spec} (expected an image, a folder, a glob, a video or a webcam index)')
    if spec.lower().endswith(VIDEO_EXTS):
        return InputSpec('video', (spec,))
    return InputSpec('images', (spec,))


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence OpenCV / FFmpeg warnings written by native code to file descriptor 2 (we raise our own error)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class VideoReader:
    """Frames (BGR uint8, (H, W, 3)) of a video file or a webcam, read with OpenCV.

    Args:
        source: a video path or a webcam index.

    Raises:
        InputError: the video cannot be opened or there is no camera at the index.
    """

    def __init__(self, source: Union[str, int]) -> None:
        self.source = source
        is_cam = isinstance(source, int)
        if not is_cam and not os.path.isfile(str(source)):
            raise InputError(f'video not found: {source}')
        with _quiet_native_stderr():
            self._cap = cv2.VideoCapture(source)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(f'no webcam at index {source} (OpenCV cannot open camera {source})' if is_cam else
                             f'cannot open video (corrupt or unsupported format): {source}')
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: Optional[int] = count if count > 0 and not is_cam else None

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            yield frame

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> 'VideoReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoWriter:
    """An mp4 (``mp4v``) writer that opens on the first frame and counts frames.

    Args:
        path: output file (``.mp4``).
        fps: frames per second of the output.

    Raises:
        InputError: on the first write when OpenCV cannot open the output file.
    """

    def __init__(self, path: Union[str, os.PathLike], fps: float) -> None:
        if not fps > 0:
            raise ValueError(f'VideoWriter: fps must be > 0, got {fps!r}')
        self.path, self.fps, self.count = str(path), float(fps), 0
        self._writer: Optional[cv2.VideoWriter] = None
        self._size: Optional[Tuple[int, int]] = None

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR uint8 frame (H, W, 3); every frame must have the first frame's size."""
        h, w = frame.shape[:2]
        if self._writer is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*'mp4v'), self.fps, (w, h))
            if not self._writer.isOpened():
                raise InputError(f'cannot write video {self.path} (OpenCV mp4v writer failed to open)')
            self._size = (w, h)
        elif (w, h) != self._size:
            raise ValueError(f'VideoWriter {self.path}: frame {self.count} is {w}x{h}, the video is '
                             f'{self._size[0]}x{self._size[1]}')
        self._writer.write(np.ascontiguousarray(frame))
        self.count += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __enter__(self) -> 'VideoWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(frames: Iterable[np.ndarray], path: Union[str, os.PathLike], fps: float = DEFAULT_FPS) -> int:
    """Write BGR frames (all the same size) to an mp4 file; returns the number of frames written."""
    with VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.count
