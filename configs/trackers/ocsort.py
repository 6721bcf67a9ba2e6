# OC-SORT settings for `yolopose_mm.apis.track(model, source, tracker='ocsort')` and
# `tools/demo.py VIDEO --track ocsort`. `tracker` is an mmdet 3.3 `OCSORTTracker` config (built by mmdet's
# registry); the values restate Ultralytics' `ocsort.yaml` defaults in mmdet's terms. Override any of them:
# `track(..., tracker='ocsort', num_frames_retain=60)` or `tools/demo.py ... --track-cfg num_frames_retain=60`.
tracker = dict(
    type='OCSORTTracker',
    motion=dict(type='KalmanFilter'),  # mmdet's constant-velocity Kalman filter on (cx, cy, aspect, h)
    obj_score_thr=0.25,  # detections scoring above this are matched (Ultralytics: track_high_thresh)
    init_track_thr=0.25,  # score a detection needs to start a track (Ultralytics: new_track_thresh)
    weight_iou_with_det_scores=True,  # match on IoU x score (Ultralytics: fuse_score)
    match_iou_thr=0.2,  # smallest IoU x score of a match (Ultralytics' match_thresh 0.8 is the cost 1 - 0.2)
    num_tentatives=2,  # frames in a row before a new track is confirmed and gets its ID (Ultralytics: 2)
    vel_consist_weight=0.2,  # weight of the motion-direction term of the match cost (Ultralytics: inertia)
    vel_delta_t=3,  # frames over which a track's direction is measured (Ultralytics: delta_t)
    num_frames_retain=30)  # frames a lost track is kept for re-identification (Ultralytics: track_buffer)

# Keypoint smoothing over each track (One-Euro filter), off by default; see bytetrack.py.
smoothing = dict(enabled=False, min_cutoff=1.0, beta=0.01, d_cutoff=1.0)
