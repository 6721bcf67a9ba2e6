# ByteTrack settings for `yolopose_mm.apis.track(model, source, tracker='bytetrack')` and
# `tools/demo.py VIDEO --track bytetrack`. `tracker` is an mmdet 3.3 `ByteTracker` config (built by mmdet's
# registry); the values restate Ultralytics' `bytetrack.yaml` defaults in mmdet's terms. Override any of them:
# `track(..., num_frames_retain=60, obj_score_thrs=dict(high=0.5))` or
# `tools/demo.py ... --track-cfg num_frames_retain=60 obj_score_thrs.high=0.5`.
tracker = dict(
    type='ByteTracker',
    motion=dict(type='KalmanFilter'),  # mmdet's constant-velocity Kalman filter on (cx, cy, aspect, h)
    # detections scoring above `high` are matched first, those between `low` and `high` second (only to tracks
    # seen in the previous frame); people are detected down to `low` (Ultralytics: track_high/low_thresh)
    obj_score_thrs=dict(high=0.25, low=0.1),
    init_track_thr=0.25,  # score a detection needs to start a track (Ultralytics: new_track_thresh)
    weight_iou_with_det_scores=True,  # first match on IoU x score (Ultralytics: fuse_score)
    # smallest IoU (x score for `high`) of a match: first pass, second pass, unconfirmed tracks
    # (Ultralytics' match_thresh 0.8 is a cost, 1 - IoU x score <= 0.8, i.e. high = 0.2)
    match_iou_thrs=dict(high=0.2, low=0.5, tentative=0.3),
    num_tentatives=2,  # frames in a row before a new track is confirmed and gets its ID (Ultralytics: 2)
    num_frames_retain=30)  # frames a lost track is kept for re-identification (Ultralytics: track_buffer)

# Keypoint smoothing over each track (One-Euro filter, Casiez et al. 2012), off by default: turn it on with
# `enabled=True` here (or in a config with `_base_ = 'bytetrack.py'`), `track(..., smoothing=True)` or
# `tools/demo.py ... --smooth [beta=0.05 ...]`. min_cutoff (Hz): lower smooths a still keypoint more (more lag);
# beta: how fast the smoothing lets go as a keypoint speeds up (per pixel/s); d_cutoff (Hz): of the speed estimate.
smoothing = dict(enabled=False, min_cutoff=1.0, beta=0.01, d_cutoff=1.0)
