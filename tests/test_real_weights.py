# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Real-weights parity: the COCO-trained yolo11n-pose.pt, converted by us, predicts what Ultralytics predicts."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope='module')
def our_model(converted_yolo11n):
    from yolopose_mm.apis import init_model
    return init_model(str(converted_yolo11n))


@pytest.fixture(scope='module')
def reference(yolo11n_pose_pt, ultralytics):
    from ultralytics import YOLO
    return YOLO(str(yolo11n_pose_pt))


def _images(data_dir):
    return [data_dir / 'images' / 'bus.jpg', data_dir / 'images' / 'zidane.jpg',
            *sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))]


def test_same_people_as_ultralytics(our_model, reference, data_dir):
    from yolopose_mm.apis import inference
    images = _images(data_dir)
    assert len(images) >= 6
    total = 0
    for path in images:
        ref = reference.predict(str(path), conf=0.25, iou=0.7, verbose=False)[0]
        ours = inference(our_model, str(path)).pred_instances
        n = len(ref.boxes)
        assert len(ours.bboxes) == n, f'{path.name}: {len(ours.bboxes)} people, Ultralytics finds {n}'
        total += n
        if n == 0:
            continue
        np.testing.assert_allclose(ours.bboxes, ref.boxes.xyxy.numpy(), atol=0.5, err_msg=path.name)
        np.testing.assert_allclose(ours.bbox_scores, ref.boxes.conf.numpy(), atol=1e-3, err_msg=path.name)
        np.testing.assert_allclose(ours.keypoints, ref.keypoints.xy.numpy(), atol=0.5, err_msg=path.name)
        np.testing.assert_allclose(ours.keypoint_scores, ref.keypoints.conf.numpy(), atol=1e-3, err_msg=path.name)
    assert total >= 6  # the images hold people: the comparison is not vacuous


def test_batched_list_matches_single_images(our_model, data_dir):
    from yolopose_mm.apis import inference
    images = [str(p) for p in sorted((data_dir / 'coco8-pose' / 'images' / 'val').glob('*.jpg'))]
    batched = inference(our_model, images, input_size=640)
    assert len(batched) == len(images)
    for path, res in zip(images, batched):
        assert res.img_path == path
        assert res.pred_instances.keypoints.shape[1:] == (17, 2)


def test_ultralytics_pt_path_is_converted_on_the_fly(yolo11n_pose_pt, data_dir, our_model):
    from yolopose_mm.apis import inference, init_model
    model = init_model(str(yolo11n_pose_pt))
    a = inference(model, str(data_dir / 'images' / 'bus.jpg')).pred_instances
    b = inference(our_model, str(data_dir / 'images' / 'bus.jpg')).pred_instances
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert model.dataset_meta['num_keypoints'] == 17 and 'skeleton_links' in model.dataset_meta


def test_no_detections_gives_empty_arrays(our_model):
    from yolopose_mm.apis import inference
    grey = np.full((96, 128, 3), 114, np.uint8)
    p = inference(our_model, grey).pred_instances
    assert p.bboxes.shape == (0, 4) and p.keypoints.shape == (0, 17, 2) and p.keypoint_scores.shape == (0, 17)
