# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Aligned plain-text tables for the evaluation log."""
from __future__ import annotations

from typing import Mapping, Sequence


def format_table(title: str, columns: Sequence[str], rows: Mapping[str, Sequence[float]], digits: int = 4) -> str:
    """A title line and a right-aligned table, one row per entry of ``rows`` (name -> values, one per column).

    Example::

        >>> print(format_table('demo', ['P', 'R'], {'Box': [0.5, 0.25]}))
        demo
              P       R
        Box  0.5000  0.2500
    """
    names = list(rows)
    name_w = max([len(n) for n in names] + [1])
    cells = {n: [f'{v:.{digits}f}' for v in rows[n]] for n in names}
    widths = [max([len(c)] + [len(cells[n][i]) for n in names]) for i, c in enumerate(columns)]
    lines = [title, ' ' * name_w + ''.join(f'  {c:>{w}}' for c, w in zip(columns, widths))]
    for n in names:
        lines.append(f'{n:<{name_w}}' + ''.join(f'  {v:>{w}}' for v, w in zip(cells[n], widths)))
    return '\n'.join(lines)
