#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Print a model's parameters and FLOPs at a given input size.

    python tools/analysis/get_flops.py configs/yolopose_n_coco.py [--shape 640 640]

GFLOPs are reported as 2 x multiply-adds (the convention of the Ultralytics model tables); GMACs as counted.
"""
import argparse
import sys

from mmengine.config import Config, DictAction


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='+', help='one or more config files')
    parser.add_argument('--shape', type=int, nargs='+', default=[640, 640], help='input H W (or one size)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    hw = args.shape * 2 if len(args.shape) == 1 else args.shape[:2]

    import yolopose_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from yolopose_mm.analysis import model_summary
    print(f'{"config":<60} {"params":>12} {"GFLOPs":>9} {"GMACs":>9}  input')
    for path in args.config:
        cfg = Config.fromfile(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmpose'))
        model = MODELS.build(cfg.model)
        s = model_summary(model, hw)
        print(f'{path:<60} {s["params"]:>12,} {s["gflops"]:>9.2f} {s["gmacs"]:>9.2f}  {hw[0]}x{hw[1]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
