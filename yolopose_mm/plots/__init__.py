# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Pictures of a training run: image grids with people drawn, training curves, precision-recall curves."""
from .curves import class_names, plot_pr_curve, plot_results, write_results_csv
from .tiles import TileInstances, draw_tiles, tile_meta

__all__ = ['TileInstances', 'draw_tiles', 'tile_meta', 'class_names', 'plot_pr_curve', 'plot_results',
           'write_results_csv']
