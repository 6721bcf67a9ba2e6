# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Find the images of a YOLO-format split, parse their label files, report every problem, cache the result.

A label row is ``cls cx cy w h`` then K x (x y [v]), all coordinates normalised to [0, 1]. Problems are collected
with file and line; an image whose label file has an invalid row is skipped (as a whole, so no person silently
disappears from an image that is still used), duplicate rows are dropped, and both are counted.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
COORD_TOLERANCE = 0.01
_CACHE_VERSION = 3


@dataclass
class LabelProblem:
    """One problem found in a dataset: where, what kind, and a message that says how to fix it."""

    path: str
    line: int  # 1-based row in the label file; 0 for problems of the whole file or image
    kind: str
    message: str
    severity: str = 'error'  # 'error' (sample skipped) or 'warning' (sample kept, something dropped or noted)

    def __str__(self) -> str:
        where = f'{self.path}:{self.line}' if self.line else self.path
        return f'{where}: [{self.kind}] {self.message}'


@dataclass
class ImageRecord:
    """A usable image and its parsed rows (M, 5 + K * dim), coordinates still normalised."""

    img_path: str
    label_path: str
    width: int
    height: int
    rows: np.ndarray
    problems: List[LabelProblem] = field(default_factory=list)


def label_path_for(img_path: str) -> str:
    """``.../images/.../x.jpg`` -> ``.../labels/.../x.txt`` (the last ``images`` folder is replaced)."""
    parts = Path(img_path).parts
    idx = max((i for i, p in enumerate(parts) if p == 'images'), default=None)
    if idx is None:
        return str(Path(img_path).with_suffix('.txt'))
    return str(Path(*parts[:idx], 'labels', *parts[idx + 1:]).with_suffix('.txt'))


def list_images(root: str, entries: Iterable[str]) -> List[str]:
    """Images of a split: each entry is a folder (searched recursively), a .txt list of paths, or an image."""
    found: List[str] = []
    for entry in entries:
        path = entry if os.path.isabs(entry) else os.path.join(root, entry)
        if os.path.isdir(path):
            found += sorted(str(p) for p in Path(path).rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.endswith('.txt') and os.path.isfile(path):
            base = os.path.dirname(path)
            with open(path, encoding='utf-8') as f:
                for line in f:
                    line = line.strip()
                    if line:
                        p = line if os.path.isabs(line) else os.path.normpath(os.path.join(base, line))
                        found.append(p)
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise FileNotFoundError(f'split entry {entry!r} not found (looked for {path}); check the yaml\'s '
                                    "'path' and split keys")
    return found


class TruncatedImageError(ValueError):
    """A JPEG without its end-of-image marker (a partial download or copy)."""


def exif_orientation(path: str) -> int:
    """The EXIF orientation tag (1 = upright; 2..8 = mirrored and/or rotated)."""
    from PIL import Image
    with Image.open(path) as im:
        return int(im.getexif().get(0x0112, 1) or 1)


def image_size(path: str) -> Tuple[int, int]:
    """(width, height) after applying the EXIF orientation, reading only the header.

    Raises:
        TruncatedImageError: a JPEG that does not end with the end-of-image marker.
        Exception: whatever PIL raises for an unreadable file.
    """
    from PIL import Image
    with Image.open(path) as im:
        im.verify()
        is_jpeg = im.format == 'JPEG'
    if is_jpeg:
        with open(path, 'rb') as f:
            f.seek(-2, os.SEEK_END)
            if f.read() != b'\xff\xd9':
                raise TruncatedImageError('JPEG ends without its end-of-image marker (truncated file); '
                                          're-save or re-download it')
    with Image.open(path) as im:
        w, h = im.size
        orientation = im.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):  # rotated 90 / 270 degrees: width and height swap
        w, h = h, w
    return int(w), int(h)


def labels_without_images(root: str, entries: Iterable[str], images: Iterable[str]) -> List[LabelProblem]:
    """Label files under the ``labels`` folder of each folder entry that no listed image points to."""
    wanted = {os.path.abspath(label_path_for(i)) for i in images}
    problems = []
    for entry in entries:
        path = entry if os.path.isabs(entry) else os.path.join(root, entry)
        if not os.path.isdir(path):
            continue
        parts = Path(os.path.abspath(path)).parts
        idx = max((i for i, p in enumerate(parts) if p == 'images'), default=None)
        if idx is None:
            continue
        labels_dir = Path(*parts[:idx], 'labels', *parts[idx + 1:])
        for lbl in sorted(labels_dir.rglob('*.txt')) if labels_dir.is_dir() else ():
            if str(lbl) not in wanted:
                problems.append(LabelProblem(str(lbl), 0, 'label_without_image',
                                             'no image with this name in the split: label not used', 'warning'))
    return problems


def parse_label_text(text: str, path: str, num_keypoints: int, keypoint_dim: int,
                     num_classes: Optional[int] = None) -> Tuple[np.ndarray, List[LabelProblem]]:
    """Parse one label file's text.

    Returns:
        (rows (M, 5 + K * dim) float32 of the valid, de-duplicated rows, problems). Any error-severity problem
        means the caller should skip the image.
    """
    ncols = 5 + num_keypoints * keypoint_dim
    problems: List[LabelProblem] = []
    rows: List[List[float]] = []
    seen: Dict[Tuple[float, ...], int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != ncols:
            problems.append(LabelProblem(path, lineno, 'columns',
                                         f'{len(parts)} values, expected {ncols} (cls cx cy w h + {num_keypoints} x '
                                         f'{keypoint_dim} keypoint values for kpt_shape [{num_keypoints}, '
                                         f'{keypoint_dim}])'))
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            bad = next(p for p in parts if not _is_number(p))
            problems.append(LabelProblem(path, lineno, 'not_a_number', f'{bad!r} is not a number'))
            continue
        if not all(np.isfinite(values)):
            problems.append(LabelProblem(path, lineno, 'not_a_number', 'nan or inf in the row'))
            continue
        cls = values[0]
        if cls != int(cls) or cls < 0 or (num_classes is not None and cls >= num_classes):
            problems.append(LabelProblem(path, lineno, 'class', f'class {parts[0]} is not an id in 0..'
                                         f'{(num_classes or 1) - 1} (see names in the yaml)'))
            continue
        kpts = np.asarray(values[5:], dtype=np.float64).reshape(num_keypoints, keypoint_dim)
        coords = np.concatenate([np.asarray(values[1:5]), kpts[:, :2].reshape(-1)])
        if (coords < -COORD_TOLERANCE).any() or (coords > 1 + COORD_TOLERANCE).any():
            problems.append(LabelProblem(path, lineno, 'out_of_range',
                                         f'normalised coordinate {coords[np.abs(coords - 0.5).argmax()]:.4f} is '
                                         'outside [0, 1]: labels must be divided by the image width / height'))
            continue
        if keypoint_dim == 3 and not np.isin(kpts[:, 2], (0, 1, 2)).all():
            bad = kpts[:, 2][~np.isin(kpts[:, 2], (0, 1, 2))][0]
            problems.append(LabelProblem(path, lineno, 'visibility',
                                         f'keypoint visibility {bad:g} is not 0, 1 or 2'))
            continue
        if values[3] <= 0 or values[4] <= 0:
            problems.append(LabelProblem(path, lineno, 'zero_area', f'box width/height {values[3]:g} x '
                                         f'{values[4]:g} is not positive: row dropped', 'warning'))
            continue
        key = tuple(values)
        if key in seen:
            problems.append(LabelProblem(path, lineno, 'duplicate', f'same row as line {seen[key]}: dropped',
                                         'warning'))
            continue
        seen[key] = lineno
        rows.append(np.clip(values, [-np.inf] + [0.0] * (ncols - 1), np.inf).tolist())
    arr = np.asarray(rows, dtype=np.float32).reshape(-1, ncols)
    return arr, problems


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@dataclass
class ScanResult:
    """The outcome of scanning a split."""

    records: List[ImageRecord]
    problems: List[LabelProblem]
    num_images: int

    def counts(self) -> Counter:
        """Problem counts per kind."""
        return Counter(p.kind for p in self.problems)

    def skipped(self) -> int:
        """Images not used because of an error."""
        return len({p.path for p in self.problems if p.severity == 'error'})


def _stat(path: str) -> Optional[List[float]]:
    try:
        st = os.stat(path)
        return [st.st_size, st.st_mtime]
    except OSError:
        return None


def scan_split(root: str, entries: Iterable[str], num_keypoints: int, keypoint_dim: int,
               num_classes: Optional[int] = None, cache_dir: Optional[str] = None) -> ScanResult:
    """Scan the images and labels of a split, reusing a cache keyed by every file's size and mtime.

    An image without a label file is a background image (kept, noted as a warning). Unreadable images and label
    files with invalid rows make their image skipped; each problem is reported.
    """
    images = list_images(root, entries)
    cache_dir = cache_dir or os.path.join(os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')),
                                          'yolopose_mm', 'labels')
    key = hashlib.sha1(json.dumps([root, list(entries), num_keypoints, keypoint_dim, num_classes,
                                   _CACHE_VERSION]).encode()).hexdigest()[:16]
    cache_file = os.path.join(cache_dir, f'{key}.json')
    cache: Dict[str, dict] = {}
    if os.path.isfile(cache_file):
        try:
            with open(cache_file, encoding='utf-8') as f:
                cache = json.load(f)
        except (OSError, ValueError):
            cache = {}
    new_cache: Dict[str, dict] = {}
    records: List[ImageRecord] = []
    problems: List[LabelProblem] = []
    for img in images:
        lbl = label_path_for(img)
        stats = [_stat(img), _stat(lbl)]
        entry = cache.get(img)
        if entry is None or entry['stats'] != stats:
            entry = _scan_one(img, lbl, stats, num_keypoints, keypoint_dim, num_classes)
        new_cache[img] = entry
        found = [LabelProblem(**p) for p in entry['problems']]
        problems += found
        if entry['ok']:
            rows = np.asarray(entry['rows'], dtype=np.float32).reshape(-1, 5 + num_keypoints * keypoint_dim)
            records.append(ImageRecord(img, lbl, entry['w'], entry['h'], rows, found))
    problems += labels_without_images(root, entries, images)
    try:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f'{cache_file}.{os.getpid()}.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(new_cache, f)
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only cache location only costs a rescan next time
    return ScanResult(records, problems, len(images))


def _scan_one(img: str, lbl: str, stats: list, k: int, dim: int, num_classes: Optional[int]) -> dict:
    entry = dict(stats=stats, ok=False, w=0, h=0, rows=[], problems=[])
    if stats[0] is None:
        entry['problems'] = [asdict(LabelProblem(img, 0, 'missing_image', 'listed image does not exist'))]
        return entry
    try:
        w, h = image_size(img)
        orientation = exif_orientation(img)
    except TruncatedImageError as e:
        entry['problems'] = [asdict(LabelProblem(img, 0, 'truncated_image', str(e)))]
        return entry
    except Exception as e:  # PIL raises many types for corrupt files
        entry['problems'] = [asdict(LabelProblem(img, 0, 'unreadable_image', f'cannot read the image: {e}'))]
        return entry
    entry.update(w=w, h=h)
    notes = [] if orientation == 1 else [asdict(LabelProblem(
        img, 0, 'exif_rotated', f'EXIF orientation {orientation}: the rotation is applied when loading '
        f'(labels refer to the rotated {w}x{h} image)', 'warning'))]
    if stats[1] is None:
        entry.update(ok=True, problems=notes + [asdict(LabelProblem(
            img, 0, 'missing_label', f'no label file {lbl}: used as a background image (no people)', 'warning'))])
        return entry
    with open(lbl, encoding='utf-8', errors='replace') as f:
        rows, found = parse_label_text(f.read(), lbl, k, dim, num_classes)
    entry['problems'] = notes + [asdict(p) for p in found]
    entry['ok'] = not any(p.severity == 'error' for p in found)
    entry['rows'] = rows.tolist()
    return entry
