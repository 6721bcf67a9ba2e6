# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Checkpoints for the tools and the API: Ultralytics files converted on the way in, and the config a checkpoint
carries in ``meta['cfg']`` read without running code from it.

mmengine stores a run's config as Python text (``Config.pretty_text``) and reads such text by executing it, so a
checkpoint's ``meta.cfg`` is code. Before it is handed to mmengine we check that it is plain data: assignments of
literals, lists, tuples, dicts and ``dict(...)`` calls, and ``custom_imports`` of OpenMMLab packages only.
"""
from __future__ import annotations

import ast
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..converters.checkpoint_errors import UnreadableCheckpointError, UnsafeCheckpointError

# packages a checkpoint's config may import (custom_imports); anything else needs the config file itself
ALLOWED_IMPORT_ROOTS = ('yolopose_mm', 'mmpose', 'mmdet', 'mmengine', 'mmcv', 'mmdeploy', 'mmpretrain')
_LITERAL_NODES = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Load, ast.keyword)


def _unsafe_node(node: ast.AST) -> Optional[ast.AST]:
    """The first node of an expression that is not plain data, or None."""
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == 'dict') or node.args or \
                any(k.arg is None for k in node.keywords):
            return node
        children = [k.value for k in node.keywords]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        children = [node.operand]
    elif isinstance(node, _LITERAL_NODES):
        children = list(ast.iter_child_nodes(node))
    else:
        return node
    for child in children:
        bad = _unsafe_node(child)
        if bad is not None:
            return bad
    return None


def _literal(node: ast.AST):
    """The value of a plain-data expression (checked by :func:`_unsafe_node`)."""
    if isinstance(node, ast.Call):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    return node.value if isinstance(node, ast.Constant) else None


def check_config_text(text: str, source: str = 'checkpoint') -> None:
    """Raise :class:`UnsafeCheckpointError` unless ``text`` is a plain-data mmengine config.

    Raises:
        UnsafeCheckpointError: code (a call, an import, a name, ``_base_``) or a non-OpenMMLab custom import.
        UnreadableCheckpointError: the text is not Python.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise UnreadableCheckpointError(f'{source}: meta.cfg is not a readable config (line {e.lineno}: {e.msg})',
                                        source) from None
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if not targets or not all(isinstance(t, ast.Name) and not t.id.startswith('_base_') for t in targets):
            bad: Optional[ast.AST] = stmt
        else:
            bad = _unsafe_node(stmt.value)
        if bad is not None:
            snippet = ast.get_source_segment(text, bad) or type(bad).__name__
            raise UnsafeCheckpointError(
                f'{source}: refused: its meta.cfg is not plain data (line {bad.lineno}: '
                f'{" ".join(snippet.split())[:80]}); nothing from it was run. Pass the config file yourself: '
                'init_model(CONFIG, CHECKPOINT)', source)
        if any(t.id == 'custom_imports' for t in targets):
            _check_imports(_literal(stmt.value), source)


def _check_imports(custom_imports, source: str) -> None:
    imports = custom_imports.get('imports') if isinstance(custom_imports, dict) else None
    for name in [imports] if isinstance(imports, str) else (imports or []):
        if str(name).split('.')[0] not in ALLOWED_IMPORT_ROOTS:
            raise UnsafeCheckpointError(
                f"{source}: refused: its meta.cfg imports '{name}' (custom_imports), outside the OpenMMLab packages; "
                'nothing was imported. Pass the config file yourself: init_model(CONFIG, CHECKPOINT)', source)


def config_from_checkpoint(checkpoint: str) -> Config:
    """The config stored in a checkpoint's ``meta['cfg']`` (converted and mmengine-trained checkpoints have it).

    Raises:
        FileNotFoundError / UnsafeCheckpointError / UnreadableCheckpointError (ValueError): as the loader; or
        ValueError when the checkpoint carries no config.
    """
    from mmengine.runner import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    text = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) else None
    if not text:
        raise ValueError(f'{checkpoint} carries no config (meta.cfg); pass the config file as well: '
                         'init_model(CONFIG, CHECKPOINT)')
    if not isinstance(text, str):
        raise UnreadableCheckpointError(f'{checkpoint}: meta.cfg is a {type(text).__name__}, not config text',
                                        checkpoint)
    check_config_text(text, checkpoint)
    return Config.fromstring(text, file_format='.py')


def prepare_checkpoint(path: str, work_dir: str) -> str:
    """A checkpoint mmengine can load: an Ultralytics ``.pt`` is converted (safely) to ``work_dir/<name>.pth``.

    Raises:
        FileNotFoundError, UnsafeCheckpointError, ValueError (unreadable or unsupported): from the converter.
    """
    if '://' in str(path):  # a URL: mmengine's loaders fetch it
        return path
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if not str(path).endswith('.pt'):
        return path
    from ..converters import save_converted
    dst = osp.join(work_dir, osp.splitext(osp.basename(path))[0] + '.pth')
    os.makedirs(work_dir, exist_ok=True)
    save_converted(path, dst)
    return dst


__all__ = ['prepare_checkpoint', 'config_from_checkpoint', 'check_config_text', 'ALLOWED_IMPORT_ROOTS']
