#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert an Ultralytics YOLOv8-pose / YOLO11-pose checkpoint (.pt) to a yolopose_mm checkpoint (.pth).

    python tools/convert_ultralytics.py yolo11n-pose.pt work_dirs/yolo11n-pose.pth

The .pt file is read without Ultralytics and without running code from its pickle. Exit status: 0 converted;
2 file not found; 3 refused (the pickle asks for code; nothing was run); 4 unreadable or not a supported model.
"""
import argparse
import sys

from yolopose_mm.converters import checkpoint_errors, report_checkpoint_error, save_converted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='Ultralytics pose checkpoint (.pt)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    args = parser.parse_args(argv)
    try:
        arch = save_converted(args.src, args.dst)
    except checkpoint_errors() as e:  # one line; exit 2 not found, 3 refused as unsafe, 4 unreadable / unsupported
        return report_checkpoint_error(e, args.src)
    print(f'detected: YOLO{arch.version}-pose-{arch.scale}, {arch.num_classes} class(es), keypoints '
          f'{arch.num_keypoints}x{arch.keypoint_dim}')
    print(f'wrote {args.dst}')
    print(f'use it with: {arch.config_name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
