# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Training curves (losses and metrics per epoch) and precision-recall curves, drawn with matplotlib."""
from __future__ import annotations

import csv
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

# metrics shown in results.png when present, in this order
PREFERRED_METRICS = ('coco/AP', 'coco/AP .5', 'coco/bbox_AP', 'yolo/mAP50-95(P)', 'yolo/mAP50(P)',
                     'yolo/mAP50-95(B)', 'yolo/precision(P)', 'yolo/recall(P)')


def _pyplot():
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    return plt


def write_results_csv(rows: Sequence[Mapping[str, float]], out_file: str) -> None:
    """One row per epoch (``epoch``, losses, lr, metrics); a column stays empty where an epoch has no value."""
    columns: List[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    with open(out_file, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f'{v:.6g}' if isinstance(v, float) else v) for k, v in row.items()})


def plot_results(rows: Sequence[Mapping[str, float]], out_file: str, title: str = '') -> List[str]:
    """``results.png``: a panel per training loss term (and the lr) and per validation metric, against the epoch.

    Args:
        rows: one dict per epoch with ``epoch`` and any of ``train/<loss>``, ``lr``, metric keys.
        out_file: the PNG to write.
        title: figure title (the run's work dir, say).

    Returns:
        The keys drawn.
    """
    keys: List[str] = []
    for row in rows:
        keys += [k for k in row if k.startswith('train/') and k not in keys]
    if any('lr' in row for row in rows):
        keys.append('lr')
    present = {k for row in rows for k in row}
    keys += [k for k in PREFERRED_METRICS if k in present]
    if not keys:
        return []
    plt = _pyplot()
    cols = min(5, len(keys))
    nrows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [(row['epoch'], row[key]) for row in rows if key in row and row[key] is not None]
        if pts:
            x, y = np.array(pts, dtype=np.float64).T
            ax.plot(x, y, marker='.', linewidth=1.5, color='tab:blue' if key.startswith('train/') or key == 'lr'
                    else 'tab:orange')
            if len(x) >= 5:  # smoothed trend, as in Ultralytics' results.png
                k = max(3, len(x) // 10 * 2 + 1)
                pad = np.pad(y, k // 2, mode='edge')
                ax.plot(x, np.convolve(pad, np.ones(k) / k, mode='valid'), ':', color='gray', linewidth=1)
        ax.set_title(key.replace('train/', 'train '), fontsize=10)
        ax.set_xlabel('epoch', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return keys


def plot_pr_curve(recall_grid: np.ndarray, precision: np.ndarray, ap50: np.ndarray, names: Sequence[str],
                  out_file: str, title: str) -> None:
    """Precision against recall at similarity 0.5, one thin line per class and the class mean in bold.

    Args:
        recall_grid: (R,) recall values.
        precision: (C, R) precision envelope of each class.
        ap50: (C,) AP at 0.5 of each class (legend).
        names: (C,) class names.
        out_file: the PNG to write.
        title: e.g. ``'Pose (OKS 0.5)'``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(1, 1, figsize=(6, 5))
    precision = np.asarray(precision).reshape(-1, len(recall_grid))
    if len(precision) <= 20:
        for p, a, n in zip(precision, ap50, names):
            ax.plot(recall_grid, p, linewidth=1, label=f'{n} {a:.3f}')
    if len(precision):
        ax.plot(recall_grid, precision.mean(0), linewidth=3, color='tab:blue',
                label=f'all classes {float(np.mean(ap50)):.3f} mAP@0.5')
    ax.set_xlabel('Recall')
    ax.set_ylabel('Precision')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower left', fontsize=8)
    ax.set_title(f'Precision-Recall curve: {title}')
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)


def class_names(classes: Sequence[int], dataset_meta: Optional[Dict]) -> List[str]:
    """Names of COCO category ids (1-based, as the metric's ground truth uses) from the metainfo."""
    names = list((dataset_meta or {}).get('classes') or [])
    return [names[c - 1] if 0 < c <= len(names) else f'class {c - 1}' for c in (int(x) for x in classes)]


__all__ = ['PREFERRED_METRICS', 'write_results_csv', 'plot_results', 'plot_pr_curve', 'class_names']
