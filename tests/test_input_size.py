# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""--imgsz: every pipeline of a config follows one input size (set_input_size)."""
from __future__ import annotations

import copy

import pytest
from mmengine.config import Config

import yolopose_mm  # noqa: F401
from yolopose_mm.engine.input_size import current_input_size, round_to_stride, set_input_size

from conftest import REPO


def _pairs(node, found):
    """Every int pair inside component dicts (dicts with 'type')."""
    if isinstance(node, dict):
        for key, value in node.items():
            if 'type' in node and isinstance(value, (list, tuple)) and len(value) == 2 \
                    and all(isinstance(v, int) for v in value):
                found.append((node['type'], key, tuple(value)))
            _pairs(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _pairs(value, found)
    return found


def test_every_pipeline_follows_the_new_size(data_dir):
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolopose_n_coco8.py'))
    before = _pairs(cfg.to_dict(), [])
    assert any(v == (640, 640) for _, _, v in before)
    size, changes = set_input_size(cfg, 320)
    assert size == (320, 320) and cfg.input_size == (320, 320)
    after = _pairs({k: cfg[k] for k in cfg.keys() if k != 'model'}, [])
    assert after and all(v == (320, 320) for _, _, v in after), after
    kinds = {c.split(' (')[-1].rstrip(')') for c in changes}
    assert {'YOLOLoadImage', 'YOLOMosaic', 'YOLORandomAffine', 'YOLOXPoseAnnotationProcessor', 'LetterBox'} <= kinds
    assert any(c.startswith('custom_hooks') for c in changes)  # the close-mosaic pipeline follows too

    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    train = DATASETS.build(cfg.train_dataloader.dataset)[0]
    assert tuple(train['inputs'].shape[1:]) == (320, 320)
    assert tuple(train['data_samples'].metainfo['input_size']) == (320, 320)
    val = DATASETS.build(cfg.val_dataloader.dataset)[0]
    assert 320 <= max(val['inputs'].shape[1:]) <= 352  # Ultralytics' rect val letterbox: + half a stride of pad


def test_other_transform_kinds_and_ints():
    """Any component holding the size as a (w, h) pair or as an int under a size key follows; other values stay."""
    cfg = Config(dict(
        input_size=(640, 640),
        train_pipeline=[dict(type='YOLOLoadImage', img_scale=(640, 640))],
        train_dataloader=dict(batch_size=2, dataset=dict(type='AnyDataset', pipeline=[
            dict(type='YOLOLoadImage', img_scale=640),
            dict(type='YOLOMosaic', img_scale=(640, 640), pad_val=114, pre_transform=[
                dict(type='YOLOLoadImage', img_scale=[640, 640])]),
            dict(type='YOLORandomAffine', input_size=(640, 640), scale=0.5, translate=0.1),
            dict(type='Resize', scale=640, keep_ratio=True, max_size=640),
            dict(type='PackPoseInputs')]))))
    original = copy.deepcopy(cfg.to_dict())
    set_input_size(cfg, 416)
    pipe = cfg.train_dataloader.dataset.pipeline
    assert pipe[0]['img_scale'] == 416 and pipe[1]['img_scale'] == (416, 416)
    assert list(pipe[1]['pre_transform'][0]['img_scale']) == [416, 416]
    assert pipe[2]['input_size'] == (416, 416) and pipe[2]['scale'] == 0.5 and pipe[1]['pad_val'] == 114
    assert pipe[3]['scale'] == 416 and pipe[3]['max_size'] == 640  # not a size key: left alone
    assert cfg.train_pipeline[0]['img_scale'] == (416, 416)  # named pipeline variables follow (the dumped config)
    assert original['train_dataloader']['dataset']['pipeline'][1]['img_scale'] == (640, 640)


def test_rounding_and_errors():
    assert round_to_stride((330, 330)) == ((352, 352), 'input size 330x330 is not a multiple of the largest stride 32: '
                                                       'using 352x352')
    assert round_to_stride((320, 640))[1] is None
    with pytest.raises(ValueError, match='no transform of the train pipeline'):
        set_input_size(Config(dict(input_size=(640, 640), train_dataloader=dict(dataset=dict(
            type='X', pipeline=[dict(type='LoadImage')])))), 320)
    with pytest.raises(ValueError, match='input_size'):
        current_input_size(Config(dict(train_dataloader=dict(dataset=dict(type='X', pipeline=[])))))
    with pytest.raises(ValueError, match='non-square'):
        set_input_size(Config(dict(input_size=(640, 640), train_dataloader=dict(dataset=dict(
            type='X', pipeline=[dict(type='Resize', scale=640)])))), (320, 480))
