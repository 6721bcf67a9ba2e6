# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Export a YOLO pose model with mmdeploy, convert it to the backend, run backend and eager side by side.

    python tools/deploy.py configs/deploy/pose-detection_yolopose_onnxruntime_static-640x640.py \
        configs/yolopose_n_coco.py work_dirs/yolo11n-pose.pth demo/bus.jpg --work-dir work_dirs/deploy_ort

(mmdeploy's own tools/deploy.py is not in its wheel.) Exit code 0: exported, converted and both models ran;
the comparison is printed (add --check to exit 1 when they differ by more than --px / --score). Exit 2: a file not
found or an export / conversion error; a checkpoint refused as unsafe: 3, unreadable or unsupported: 4 (one line).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('deploy_cfg', help='deploy config (configs/deploy/...)')
    p.add_argument('model_cfg', help='model config (configs/...)')
    p.add_argument('checkpoint', help='model checkpoint (.pth; an Ultralytics .pt is converted first)')
    p.add_argument('img', help='image used for export and for the comparison')
    p.add_argument('--work-dir', default='work_dirs/deploy', help='where the exported files go')
    p.add_argument('--device', default=None, help="device for export and backend (cpu, cuda:0); default: "
                   "'cuda:0' for TensorRT and eager where a GPU exists, 'cpu' for the CPU runtimes")
    p.add_argument('--test-img', nargs='*', default=[], help='more images to compare backend and eager on')
    p.add_argument('--px', type=float, default=1.0, help='tolerance for boxes and keypoints (pixels)')
    p.add_argument('--score', type=float, default=1e-3, help='tolerance for scores')
    p.add_argument('--check', action='store_true', help='exit 1 when backend and eager differ beyond tolerance')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path in [args.deploy_cfg, args.model_cfg, args.checkpoint, args.img, *args.test_img]:
        if not os.path.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    from yolopose_mm.apis import init_model
    from yolopose_mm.deploy.compare import compare_instances, format_side_by_side
    from yolopose_mm.deploy.pipeline import (build_backend_model, convert_backend, export_ir, load_configs,
                                             run_backend, run_eager, static_input_hw)
    from yolopose_mm.apis.checkpoints import prepare_checkpoint
    from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error
    try:
        checkpoint = prepare_checkpoint(args.checkpoint, args.work_dir)  # an Ultralytics .pt is converted first
        deploy_cfg, model_cfg = load_configs(args.deploy_cfg, args.model_cfg)
        if args.device is None:  # the GPU for TensorRT; ONNX Runtime (CPU package), OpenVINO and ncnn run on the CPU
            from mmdeploy.utils import Backend, get_backend
            from yolopose_mm.utils import default_device
            args.device = default_device() if get_backend(deploy_cfg) == Backend.TENSORRT else 'cpu'
        t0 = time.perf_counter()
        ir_file = export_ir(deploy_cfg, model_cfg, checkpoint, args.img, args.work_dir, args.device)
        t1 = time.perf_counter()
        files = convert_backend(deploy_cfg, ir_file, args.work_dir, args.device, model_cfg=model_cfg)
        t2 = time.perf_counter()
        print(f'exported {ir_file} in {t1 - t0:.1f} s; backend files {files} in {t2 - t1:.1f} s')
        backend = build_backend_model(deploy_cfg, model_cfg, files, args.device)
        eager = init_model(args.model_cfg, checkpoint, device=args.device)
    except checkpoint_errors() as e:  # missing (2), refused as unsafe (3), unreadable or unsupported (4)
        return report_checkpoint_error(e, args.checkpoint)
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    hw = static_input_hw(deploy_cfg)
    size, auto = (max(hw), False) if hw is not None else (640, True)
    ok = True
    for img in [args.img, *args.test_img]:
        a = run_eager(eager, deploy_cfg, [img], size, auto)[0].pred_instances
        b = run_backend(backend, model_cfg, [img], size, auto)[0].pred_instances
        diff = compare_instances(a, b)
        print(f'\n== {img} ({"static " + str(hw) if hw else "dynamic, letterbox long side 640"})')
        print(format_side_by_side(a, b, diff))
        ok &= diff.within(args.px, args.score)
    print(f'\n{"PASS" if ok else "DIFFERENT"}: within {args.px} px and {args.score} score'
          f'{"" if ok else " (not for every image)"}')
    return 1 if (args.check and not ok) else 0


if __name__ == '__main__':
    sys.exit(main())
