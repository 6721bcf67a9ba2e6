# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Inference API pieces: input resolution, video I/O, JSON records, BN folding, argument errors."""
from __future__ import annotations

import copy
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from yolopose_mm.apis import (InputError, VideoReader, VideoWriter, fold_batchnorm, image_record, inference,
                              optimize_for_inference, people, read_image, resolve_input, video_record,
                              write_video)


def _frames(n, h=64, w=96):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


# -- input resolution ---------------------------------------------------------------------------------------
def test_resolve_input_kinds(tmp_path):
    for name in ('b.jpg', 'a.png', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'clip.mp4').write_bytes(b'x')
    folder = resolve_input(str(tmp_path))
    assert folder.kind == 'images'
    assert [p.split('/')[-1] for p in folder.items] == ['a.png', 'b.jpg']
    assert sorted(p.split('/')[-1] for p in folder.ignored) == ['clip.mp4', 'notes.txt']  # reported, not dropped
    assert resolve_input(str(tmp_path / '*.jpg')).items == (str(tmp_path / 'b.jpg'),)
    assert resolve_input(str(tmp_path / 'clip.mp4')).kind == 'video'
    assert resolve_input(str(tmp_path / 'a.png')).kind == 'images'
    assert resolve_input('0') == resolve_input('0') and resolve_input('0').kind == 'webcam'


def test_resolve_input_errors(tmp_path):
    with pytest.raises(InputError, match='input not found: .*missing.jpg'):
        resolve_input(str(tmp_path / 'missing.jpg'))
    with pytest.raises(InputError, match='no images'):
        resolve_input(str(tmp_path))
    with pytest.raises(InputError, match='no file matches'):
        resolve_input(str(tmp_path / '*.jpg'))


# -- video I/O ----------------------------------------------------------------------------------------------
def test_video_round_trip_keeps_frame_count_fps_and_size(tmp_path):
    path = tmp_path / 'v.mp4'
    assert write_video(_frames(7), path, fps=12.5) == 7
    with VideoReader(str(path)) as reader:
        frames = list(reader)
        assert (reader.width, reader.height, reader.frame_count) == (96, 64, 7)
        assert reader.fps == pytest.approx(12.5)
    assert len(frames) == 7 and frames[0].shape == (64, 96, 3) and frames[0].dtype == np.uint8


def test_video_errors(tmp_path):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video' * 50)
    with pytest.raises(InputError, match='cannot open video .*bad.mp4'):
        VideoReader(str(bad))
    with pytest.raises(InputError, match='video not found'):
        VideoReader(str(tmp_path / 'none.mp4'))
    with pytest.raises(InputError, match='no webcam at index 7'):
        VideoReader(7)
    writer = VideoWriter(tmp_path / 'w.mp4', fps=5)
    writer.write(_frames(1)[0])
    with pytest.raises(ValueError, match='frame 1 is 32x16'):
        writer.write(np.zeros((16, 32, 3), np.uint8))
    writer.close()
    with pytest.raises(ValueError, match='fps must be > 0'):
        VideoWriter(tmp_path / 'x.mp4', fps=0)


def test_read_image_errors(tmp_path):
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'\xff\xd8 definitely not a jpeg')
    with pytest.raises(ValueError, match='cannot read image .*corrupt.jpg'):
        read_image(corrupt)
    with pytest.raises(FileNotFoundError, match='image not found'):
        read_image(tmp_path / 'none.jpg')


# -- JSON records -------------------------------------------------------------------------------------------
def _sample(m=2, k=5):
    rng = np.random.default_rng(1)
    s = PoseDataSample()
    s.pred_instances = InstanceData(
        bboxes=rng.uniform(0, 100, (m, 4)).astype(np.float32), bbox_scores=np.linspace(0.9, 0.5, m),
        labels=np.zeros(m, np.int64), keypoints=rng.uniform(0, 100, (m, k, 2)).astype(np.float32),
        keypoint_scores=rng.uniform(0, 1, (m, k)).astype(np.float32))
    return s


def test_people_schema_and_values():
    s = _sample()
    out = people(s)
    assert len(out) == 2 and set(out[0]) == {'bbox', 'score', 'label', 'keypoints'}
    kp = np.array(out[1]['keypoints'])
    assert kp.shape == (5, 3)
    np.testing.assert_allclose(kp[:, :2], s.pred_instances.keypoints[1], atol=0.006)
    np.testing.assert_allclose(kp[:, 2], s.pred_instances.keypoint_scores[1], atol=6e-5)
    np.testing.assert_allclose(out[0]['bbox'], s.pred_instances.bboxes[0], atol=0.006)
    assert out[0]['score'] == pytest.approx(0.9)


def test_records_are_json_and_carry_names():
    meta = {'keypoint_id2name': {i: f'k{i}' for i in range(5)}}
    rec = json.loads(json.dumps(image_record(_sample(), 'a.jpg', 100, 80, meta)))
    assert rec['keypoint_names'] == [f'k{i}' for i in range(5)] and (rec['width'], rec['height']) == (100, 80)
    empty = PoseDataSample()
    empty.pred_instances = InstanceData(bboxes=np.zeros((0, 4)), bbox_scores=np.zeros(0),
                                        keypoints=np.zeros((0, 5, 2)), keypoint_scores=np.zeros((0, 5)))
    vid = json.loads(json.dumps(video_record([people(_sample()), people(empty)], 'v.mp4', 10, 10, 25.0, meta)))
    assert vid['num_frames'] == 2 and [f['frame'] for f in vid['frames']] == [0, 1]
    assert vid['frames'][1]['people'] == [] and len(vid['frames'][0]['people']) == 2


# -- BN folding / channels-last -------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny_model():
    """A randomly initialised YOLO11-n pose estimator with non-trivial BatchNorm statistics."""
    from mmengine.config import Config

    import yolopose_mm  # noqa: F401
    from yolopose_mm.apis import init_model
    from yolopose_mm.utils import config_file
    cfg = Config.fromfile(str(config_file('configs/yolopose_n_coco.py')))
    model = init_model(cfg, optimize=False)
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model


def _raw(model, x):
    with torch.no_grad():
        r = model.head(model.neck(model.backbone(x)))
    return torch.cat([r.box_logits, r.cls_logits, r.kpt_raw], 1)


def test_optimize_for_inference_same_outputs(tiny_model):
    x = torch.rand(1, 3, 96, 128)
    fast = optimize_for_inference(copy.deepcopy(tiny_model))
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in tiny_model.modules())
    assert n_bn > 50 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    convs = [m for m in fast.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert fast.yolopose_inference_optimized
    ref, out = _raw(tiny_model, x), _raw(fast, x)
    assert ref.abs().max() > 0.1  # not a vacuous comparison
    torch.testing.assert_close(out, ref, atol=1e-3, rtol=1e-4)


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='glibc malloc settings')
def test_optimize_for_inference_keeps_freed_memory_for_a_cpu_model():
    code = ('import ctypes, sys\n'
            'from yolopose_mm.apis import optimize_for_inference\n'
            'from yolopose_mm.models.layers import ConvBNAct\n'
            'optimize_for_inference(ConvBNAct(4, 8, 3).eval(), retain_memory=sys.argv[1] == "1")\n'
            'libc = ctypes.CDLL("libc.so.6")\n'
            'libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, (ctypes.c_void_p,)\n'
            'class Info(ctypes.Structure):\n'
            '    _fields_ = [(f"f{i}", ctypes.c_size_t) for i in range(10)]\n'
            'libc.mallinfo2.restype = Info\n'
            'libc.free(libc.malloc(16 << 20))\n'
            'print(libc.mallinfo2().f8 >= 16 << 20)\n')  # fordblks: free bytes kept in the heap
    env = {k: v for k, v in os.environ.items() if k != 'YOLOPOSE_RETAIN_MEMORY'}
    run = [sys.executable, '-c', code]
    kept = subprocess.run(run + ['1'], capture_output=True, text=True, env=env, check=True).stdout.split()
    given_back = subprocess.run(run + ['0'], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert kept[-1] == 'True' and given_back[-1] == 'False'


def test_fold_batchnorm_refuses_training_mode(tiny_model):
    m = copy.deepcopy(tiny_model).train()
    with pytest.raises(RuntimeError, match='eval mode'):
        fold_batchnorm(m)


def test_inference_argument_errors(tiny_model, tmp_path):
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(TypeError, match=r"unknown test_cfg override\(s\) \['score_threshold'\]"):
        inference(tiny_model, img, score_threshold=0.5)
    with pytest.raises(ValueError, match='score_thr must be within'):
        inference(tiny_model, img, score_thr=2)
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        inference(tiny_model, img, batch_size=0)
    with pytest.raises(ValueError, match=r'inputs\[1\]: an image array must be uint8 H x W x 3'):
        inference(tiny_model, [img, np.zeros((32, 32), np.uint8)])
    with pytest.raises(TypeError, match=r'inputs\[0\]: expected an image path'):
        inference(tiny_model, [123])
    corrupt = tmp_path / 'c.png'
    corrupt.write_bytes(b'garbage')
    with pytest.raises(ValueError, match='cannot read image'):
        inference(tiny_model, str(corrupt))
    assert tiny_model.test_cfg['score_thr'] == 0.001  # a failed call leaves the config as it was


def test_inference_rect_and_square_letterbox(tiny_model):
    img = np.full((120, 200, 3), 90, np.uint8)
    rect = inference(tiny_model, img, input_size=256, score_thr=0.0)
    square = inference(tiny_model, img, input_size=256, rect=False, score_thr=0.0)
    assert tuple(rect.metainfo['input_size']) != tuple(square.metainfo['input_size'])
    assert tuple(square.metainfo['input_size']) == (256, 256)
    assert rect.pred_instances.keypoints.shape[1:] == (17, 2)


def test_init_model_optimize_is_opt_in():
    from mmengine.config import Config

    from yolopose_mm.apis import init_model
    from yolopose_mm.utils import config_file
    cfg = Config.fromfile(str(config_file('configs/yolopose_n_coco.py')))
    plain = init_model(cfg)
    assert any(k.endswith('bn.running_mean') for k in plain.state_dict())  # trainable, saveable as before
    fast = init_model(cfg, optimize=True)
    assert not any(k.endswith('bn.running_mean') for k in fast.state_dict())


def test_config_plus_ultralytics_pt_is_converted(yolo11n_pose_pt, converted_yolo11n, data_dir):
    from yolopose_mm.apis import init_model
    from yolopose_mm.utils import config_file
    img = str(data_dir / 'images' / 'zidane.jpg')
    a = inference(init_model(str(config_file('configs/yolopose_n_coco.py')), str(yolo11n_pose_pt)), img)
    b = inference(init_model(str(converted_yolo11n)), img)
    assert len(a.pred_instances) == len(b.pred_instances) >= 2
    np.testing.assert_array_equal(a.pred_instances.keypoints, b.pred_instances.keypoints)


@pytest.mark.slow
def test_optimized_model_matches_ultralytics(converted_yolo11n, yolo11n_pose_pt, ultralytics, data_dir):
    """BN folding + channels-last keeps the predictions: Ultralytics (which folds BN too) within 1e-3 px."""
    from ultralytics import YOLO

    from yolopose_mm.apis import init_model
    ref = YOLO(str(yolo11n_pose_pt))
    model = init_model(str(converted_yolo11n), optimize=True)
    images = [data_dir / 'images' / 'bus.jpg', data_dir / 'images' / 'zidane.jpg',
              *sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))]
    total = 0
    for path in images:
        r = ref.predict(str(path), conf=0.25, iou=0.7, verbose=False)[0]
        o = inference(model, str(path)).pred_instances
        assert len(o.bboxes) == len(r.boxes), path.name
        total += len(o.bboxes)
        if len(o.bboxes):
            np.testing.assert_allclose(o.keypoints, r.keypoints.xy.numpy(), atol=1e-3, err_msg=path.name)
            np.testing.assert_allclose(o.bboxes, r.boxes.xyxy.numpy(), atol=1e-3, err_msg=path.name)
            np.testing.assert_allclose(o.keypoint_scores, r.keypoints.conf.numpy(), atol=1e-5, err_msg=path.name)
            np.testing.assert_allclose(o.bbox_scores, r.boxes.conf.numpy(), atol=1e-5, err_msg=path.name)
    assert total >= 6
