#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Convert an Ultralytics YOLOv8-pose / YOLO11-pose checkpoint (.pt) to a yolopose_mm checkpoint (.pth).

    python tools/convert_ultralytics.py yolo11n-pose.pt work_dirs/yolo11n-pose.pth

The .pt file is read without Ultralytics and without running code from its pickle.
"""
import argparse
import sys

from yolopose_mm.converters import ConversionError, UnsafeCheckpointError, save_converted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='Ultralytics pose checkpoint (.pt)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    args = parser.parse_args(argv)
    try:
        arch = save_converted(args.src, args.dst)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except UnsafeCheckpointError as e:
        print(f'error: {args.src}: {e}', file=sys.stderr)
        return 3
    except (ConversionError, ValueError) as e:
        print(f'error: {args.src}: {e}', file=sys.stderr)
        return 4
    print(f'detected: YOLO{arch.version}-pose-{arch.scale}, {arch.num_classes} class(es), keypoints '
          f'{arch.num_keypoints}x{arch.keypoint_dim}')
    print(f'wrote {args.dst}')
    print(f'use it with: {arch.config_name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
