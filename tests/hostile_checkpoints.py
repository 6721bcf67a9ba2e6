# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""A corpus of hostile and broken checkpoint files for the loader tests (test helper, not a test module).

Each hostile file carries a payload that creates a marker file when it runs; :func:`run_payload_unsafely` loads
it the unsafe way to prove the payload is live (so a test that sees no marker after our loaders could fail).
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import subprocess
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from torch import nn


class Reduce:
    """Pickles as ``func(*args)``; ``func`` and ``args`` may be other ``Reduce`` objects (built first)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args: Any) -> Any:  # pickle requires a callable in __reduce__; never called here
        raise AssertionError('only for pickling')


@dataclass
class Case:
    """One corpus file. ``marker``: the file its payload creates (None: broken, not hostile). ``how``: how the
    unsafe control load runs it ('torch', 'pickle' for a bare pickle, 'config' for meta.cfg text)."""

    path: Path
    marker: Optional[Path] = None
    how: str = 'torch'
    config_text: Optional[str] = None

    @property
    def hostile(self) -> bool:
        return self.marker is not None


def _weights() -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict(weight=torch.arange(6, dtype=torch.float32).view(2, 3), bias=torch.zeros(2))


def _saved(obj: Any, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def zip_with_pickle(data_pkl: bytes) -> bytes:
    """A torch.save zip archive whose data.pkl is replaced by ``data_pkl`` (the other records kept)."""
    src = zipfile.ZipFile(io.BytesIO(_saved({'w': torch.zeros(1)})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info, data_pkl if info.filename.endswith('/data.pkl') else src.read(info))
    return out.getvalue()


def _touch_cmd(marker: Path) -> str:
    return f'touch {marker}'


def _open_code(marker: Path) -> str:
    return f'open({str(marker)!r}, "w").close()'


def build_corpus(root: Path, ultralytics_pt: Optional[Path] = None) -> Dict[str, Case]:
    """Write the corpus under ``root`` (markers under ``root/markers``); returns name -> Case."""
    root.mkdir(parents=True, exist_ok=True)
    markers = root / 'markers'
    markers.mkdir(exist_ok=True)
    cases: Dict[str, Case] = {}

    def add(name: str, data: bytes, hostile: bool = True, how: str = 'torch', config_text: Optional[str] = None):
        path = root / name
        path.write_bytes(data)
        cases[name] = Case(path, markers / name if hostile else None, how, config_text)

    def m(name: str) -> Path:
        return markers / name

    # -- payloads through __reduce__, in the zip format ---------------------------------------------------
    add('reduce_os_system.pt', _saved({'model': Reduce(os.system, _touch_cmd(m('reduce_os_system.pt')))}))
    add('reduce_exec.pth', _saved({'state_dict': _weights(),
                                   'x': Reduce(exec, _open_code(m('reduce_exec.pth')))}))
    add('reduce_eval.pt', _saved({'model': Reduce(eval, _open_code(m('reduce_eval.pt')))}))
    add('reduce_popen.pth', _saved({'state_dict': _weights(),
                                    'p': Reduce(subprocess.Popen, ['touch', str(m('reduce_popen.pth'))])}))
    # protocol 4 (STACK_GLOBAL, FRAME) pickle as data.pkl
    add('stack_global_p4.pth', zip_with_pickle(pickle.dumps(
        {'state_dict': 1, 'p': Reduce(os.system, _touch_cmd(m('stack_global_p4.pth')))}, protocol=4)))
    # -- protocol 0 GLOBAL / INST opcodes -----------------------------------------------------------------
    add('proto0_global_bare.pt', f"cos\nsystem\n(S'{_touch_cmd(m('proto0_global_bare.pt'))}'\ntR.".encode(),
        how='pickle')
    add('proto0_global_in_zip.pth', zip_with_pickle(
        f"cos\nsystem\n(S'{_touch_cmd(m('proto0_global_in_zip.pth'))}'\ntR.".encode()))
    add('proto0_inst_in_zip.pt', zip_with_pickle(
        f"(S'{_touch_cmd(m('proto0_inst_in_zip.pt'))}'\nios\nsystem\n.".encode()))
    # -- the legacy (non-zip) torch.save format -----------------------------------------------------------
    add('legacy_format.pth', _saved({'state_dict': _weights(),
                                     'meta': {'x': Reduce(os.system, _touch_cmd(m('legacy_format.pth')))}},
                                    _use_new_zipfile_serialization=False))
    # -- a real-looking mmengine checkpoint with the payload in its meta ----------------------------------
    add('mmengine_meta_payload.pth', _saved({
        'meta': {'epoch': 3, 'iter': 12, 'mmengine_version': '0.10.7',
                 'hook_msgs': Reduce(os.system, _touch_cmd(m('mmengine_meta_payload.pth')))},
        'state_dict': _weights(), 'message_hub': {'log_scalars': {}}}))
    # -- payloads nested inside allowed layer records -----------------------------------------------------
    conv = nn.Conv2d(1, 1, 1)
    conv.forward_hook = Reduce(os.system, _touch_cmd(m('nested_in_layer.pt')))
    add('nested_in_layer.pt', _saved({'model': conv}))
    param = nn.Parameter(torch.zeros(2))
    param.extra = Reduce(os.system, _touch_cmd(m('nested_in_parameter.pt')))
    add('nested_in_parameter.pt', _saved({'model': nn.Sequential(nn.Conv2d(1, 1, 1)), 'p': param}))
    # -- getattr chains from allowed modules ---------------------------------------------------------------
    init = Reduce(getattr, nn.Module, '__init__')
    builtins_dict = Reduce(Reduce(getattr, Reduce(getattr, init, '__globals__'), 'get'), '__builtins__')
    exec_fn = Reduce(Reduce(getattr, builtins_dict, 'get'), 'exec')
    add('getattr_chain.pt', _saved({'model': Reduce(exec_fn, _open_code(m('getattr_chain.pt')))}))
    # calling an allowed class's method, and an allowed object (argparse.FileType('w')(path) writes a file)
    add('call_record_method.pt', _saved({'model': Reduce(Reduce(getattr, argparse.FileType, '__call__'),
                                                         argparse.FileType('w'), str(m('call_record_method.pt')))}))
    add('call_record_instance.pt', _saved({'model': Reduce(argparse.FileType('w'),
                                                           str(m('call_record_instance.pt')))}))
    # -- code in a checkpoint's config text (mmengine executes config text) --------------------------------
    code_cfg = (f"model = dict(type='BottomupPoseEstimator')\n"
                f"x = __import__('os').system('touch {m('meta_cfg_code.pth')}')\n")
    add('meta_cfg_code.pth', _saved({'state_dict': _weights(), 'meta': {'cfg': code_cfg}}), how='config',
        config_text=code_cfg)
    import_cfg = "model = dict(type='BottomupPoseEstimator')\ncustom_imports = dict(imports=['yolopose_hostile_mod'])\n"
    (root / 'hostile_mods').mkdir(exist_ok=True)
    (root / 'hostile_mods' / 'yolopose_hostile_mod.py').write_text(
        f'open({str(m("meta_cfg_import.pth"))!r}, "w").close()\n')
    add('meta_cfg_import.pth', _saved({'state_dict': _weights(), 'meta': {'cfg': import_cfg}}), how='config',
        config_text=import_cfg)

    # -- broken or not a checkpoint (no payload) ------------------------------------------------------------
    good = _saved({'state_dict': _weights(), 'meta': {'epoch': 1}})
    add('truncated_half.pth', good[:len(good) // 2], hostile=False)
    add('truncated_tail.pt', good[:-40], hostile=False)
    add('empty.pth', b'', hostile=False)
    add('text.pth', b'this is a text file, not a checkpoint\n', hostile=False)
    add('bare_pickle.pth', pickle.dumps({'state_dict': {'w': [1.0, 2.0]}}), hostile=False)
    add('list_not_checkpoint.pth', _saved([1, 2, 3]), hostile=False)
    add('dict_without_tensors.pt', _saved({'epoch': 3, 'note': 'no weights'}), hostile=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('notes/readme.txt', 'a zip file')
    add('other_zip.pth', buf.getvalue(), hostile=False)
    add('bad_rebuild_args.pth', zip_with_pickle(pickle.dumps({'w': Reduce(torch._utils._rebuild_tensor_v2, 'x')},
                                                             protocol=2)), hostile=False)
    add('bad_size_args.pt', zip_with_pickle(pickle.dumps({'model': Reduce(torch.Size, 'abc')}, protocol=2)),
        hostile=False)
    add('ext_opcode.pth', zip_with_pickle(b'\x80\x02\x82\x01.'), hostile=False)
    add('not_a_pose_model.pt', _saved({'model': nn.Sequential(nn.Conv2d(1, 1, 1))}), hostile=False)
    (root / 'a_directory.pth').mkdir(exist_ok=True)
    cases['a_directory.pth'] = Case(root / 'a_directory.pth')
    cases['missing.pth'] = Case(root / 'missing.pth')
    if ultralytics_pt is not None:  # a genuine Ultralytics checkpoint given where a .pth is expected
        add('ultralytics_named_pth.pth', Path(ultralytics_pt).read_bytes(), hostile=False)
    return cases


def run_payload_unsafely(case: Case) -> None:
    """Load a hostile case the unsafe way (what our loaders must never do), so that its payload runs."""
    if case.how == 'config':
        from mmengine.config import Config
        Config.fromstring(case.config_text, file_format='.py')
    elif case.how == 'pickle':
        pickle.loads(case.path.read_bytes())
    else:
        torch.load(case.path, weights_only=False)
