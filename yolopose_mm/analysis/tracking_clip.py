# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A synthetic tracking clip with ground truth, made from real coco8-pose people (tests, benchmark, README).

Three real people, cut out of coco8-pose images with their labelled boxes, walk along straight paths over a
people-free background (the lawn of a coco8-pose photo, below the riders); one of them is hidden for a few
frames.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

# (image stem, row of its label file, height in a 360-pixel-high frame, path start (x, y), end (x, y)) of the
# crop's top-left corner; paths keep the three apart so that nobody is fully covered.
_PEOPLE = (
    ('000000000036', 0, 200, (10, 150), (170, 130)),  # woman with an umbrella, walking right
    ('000000000086', 0, 190, (540, 160), (380, 140)),  # man by a motorbike, walking left
    ('000000000077', 2, 170, (270, 10), (300, 180)),  # skateboarder, moving down
)
# photo and region (top, bottom, left, right as fractions) of the background: lawn below the show-jumping riders
_BACKGROUND = ('000000000049', (0.82, 1.0, 0.0, 0.45))


@dataclass(frozen=True)
class TrackingClip:
    """Frames and ground truth of :func:`make_tracking_clip`.

    Attributes:
        frames: BGR uint8 frames (H, W, 3).
        boxes: per frame, a (P, 4) float array of each person's xyxy box (NaN rows while hidden).
        hidden: (person index, first hidden frame, last hidden frame).
        fps: frames per second of the clip.
    """

    frames: Tuple[np.ndarray, ...]
    boxes: Tuple[np.ndarray, ...]
    hidden: Tuple[int, int, int]
    fps: float

    @property
    def num_people(self) -> int:
        return len(_PEOPLE)


def _label_box(label_file: Path, row: int, w: int, h: int) -> np.ndarray:
    vals = [float(v) for v in label_file.read_text().splitlines()[row].split()[1:5]]
    cx, cy, bw, bh = vals[0] * w, vals[1] * h, vals[2] * w, vals[3] * h
    return np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])


def _find(root: Path, stem: str, sub: str, ext: str) -> Path:
    hits = sorted((root / sub).glob(f'*/{stem}{ext}'))
    if not hits:
        raise FileNotFoundError(f'{stem}{ext} not found under {root / sub} (coco8-pose from the shared data)')
    return hits[0]


def make_tracking_clip(data_dir: Union[str, os.PathLike], num_frames: int = 40, scale: float = 1.0,
                       hidden: Tuple[int, int, int] = (1, 16, 21), fps: float = 10.0,
                       out: Optional[Union[str, os.PathLike]] = None) -> TrackingClip:
    """Make the clip (and write it as an mp4 when ``out`` is given).

    Args:
        data_dir: the shared data folder (holding ``coco8-pose/``).
        num_frames: clip length; the paths are spread over it.
        scale: frame size factor (1.0: 640 x 360).
        hidden: (person, first frame, last frame) during which that person is not drawn.
        fps: frames per second written to the mp4.
        out: mp4 path to write.
    """
    root = Path(data_dir) / 'coco8-pose'
    bg_img = cv2.imread(str(_find(root, _BACKGROUND[0], 'images', '.jpg')))
    if bg_img is None:
        raise FileNotFoundError(f'cannot read the background image under {root}')
    W, H = int(round(640 * scale)), int(round(360 * scale))
    (t, b, l, r), (h0, w0) = _BACKGROUND[1], bg_img.shape[:2]
    background = cv2.resize(bg_img[int(t * h0):int(b * h0), int(l * w0):int(r * w0)], (W, H),
                            interpolation=cv2.INTER_LINEAR)
    crops: List[Tuple[np.ndarray, np.ndarray]] = []  # (crop image, person box inside the crop)
    for stem, row, height, _, _ in _PEOPLE:
        img = cv2.imread(str(_find(root, stem, 'images', '.jpg')))
        box = _label_box(_find(root, stem, 'labels', '.txt'), row, img.shape[1], img.shape[0])
        pad = 0.08 * (box[2:] - box[:2])
        x1, y1 = np.maximum(box[:2] - pad, 0).astype(int)
        x2, y2 = np.minimum(box[2:] + pad, [img.shape[1], img.shape[0]]).astype(int)
        f = height * scale / (y2 - y1)
        crop = cv2.resize(img[y1:y2, x1:x2], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        crops.append((crop, (box - [x1, y1, x1, y1]) * f))
    frames, boxes = [], []
    for t in range(num_frames):
        frame = background.copy()
        frame_boxes = np.full((len(_PEOPLE), 4), np.nan)
        a = t / max(num_frames - 1, 1)
        for p, ((crop, pbox), (_, _, _, start, end)) in enumerate(zip(crops, _PEOPLE)):
            x = int(round((start[0] + a * (end[0] - start[0])) * scale))
            y = int(round((start[1] + a * (end[1] - start[1])) * scale))
            h, w = min(crop.shape[0], H - y), min(crop.shape[1], W - x)
            if p == hidden[0] and hidden[1] <= t <= hidden[2]:
                continue
            frame[y:y + h, x:x + w] = crop[:h, :w]
            frame_boxes[p] = np.minimum(pbox + [x, y, x, y], [W, H, W, H])
        frames.append(frame)
        boxes.append(frame_boxes)
    if out is not None:
        from ..apis import write_video
        write_video(frames, out, fps)
    return TrackingClip(tuple(frames), tuple(boxes), tuple(hidden), float(fps))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of xyxy boxes."""
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def match_tracks(clip_boxes: Sequence[np.ndarray], frame_tracks: Sequence[Tuple[np.ndarray, np.ndarray]],
                 iou_thr: float = 0.5) -> List[List[Optional[int]]]:
    """Which track ID each ground-truth person has in each frame (None: no tracked box overlaps it by iou_thr).

    Args:
        clip_boxes: per frame, (P, 4) ground-truth boxes (NaN rows: hidden).
        frame_tracks: per frame, (boxes (M, 4), track_ids (M,)).

    Returns:
        ``ids[frame][person]``.
    """
    out = []
    for gt, (boxes, ids) in zip(clip_boxes, frame_tracks):
        row: List[Optional[int]] = [None] * len(gt)
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        if len(boxes):
            iou = _iou(np.nan_to_num(gt, nan=-1.0), boxes)
            for p in range(len(gt)):
                j = int(np.argmax(iou[p]))
                if not np.isnan(gt[p]).any() and iou[p, j] >= iou_thr:
                    row[p] = int(ids[j])
        out.append(row)
    return out


def id_switches(ids: Sequence[Sequence[Optional[int]]]) -> int:
    """Times a person's track ID differs from the one it had when last tracked (MOT's ID switches)."""
    switches, last = 0, {}
    for row in ids:
        for p, tid in enumerate(row):
            if tid is None:
                continue
            if p in last and last[p] != tid:
                switches += 1
            last[p] = tid
    return switches


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m yolopose_mm.analysis.tracking_clip OUT.mp4 [--frames 40]``: write the clip."""
    import argparse
    parser = argparse.ArgumentParser(description='Write the synthetic tracking clip (three coco8-pose people).')
    parser.add_argument('out', help='mp4 to write')
    parser.add_argument('--frames', type=int, default=40)
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', '../shared/data'),
                        help='shared data folder holding coco8-pose/ (default: $YOLOPOSE_DATA or ../shared/data)')
    args = parser.parse_args(argv)
    clip = make_tracking_clip(args.data, num_frames=args.frames, out=args.out)
    person, first, last = clip.hidden
    print(f'{args.out}: {len(clip.frames)} frames {clip.frames[0].shape[1]}x{clip.frames[0].shape[0]} at '
          f'{clip.fps:g} fps; person {person} hidden in frames {first}-{last}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
