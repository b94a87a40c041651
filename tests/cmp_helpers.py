"""Synthetic bodies with known joint angles, for the features / dtw / score tests."""

from __future__ import annotations

import numpy as np

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack


def skeleton_lab(*, left_knee_deg, right_knee_deg=0.0, left_arm_deg=0.0, right_arm_deg=0.0,
                 lean_deg=0.0) -> np.ndarray:
    """(T, 33, 3) body points, frame ``lab``/``body`` (x = subject's left, y up, z front), metres.

    ``*_knee_deg``: knee flexion (shank swings back); ``*_arm_deg``: shoulder
    elevation (arm swings forward from hanging); ``lean_deg``: trunk forward lean.
    Arrays of angles (T,) give a moving body. Unlisted landmarks are NaN.
    """
    lk = np.atleast_1d(np.asarray(left_knee_deg, float))
    T = len(lk)
    def arr(v):
        return np.broadcast_to(np.atleast_1d(np.asarray(v, float)), (T,))
    rk, la, ra, le = arr(right_knee_deg), arr(left_arm_deg), arr(right_arm_deg), arr(lean_deg)
    P = np.full((T, len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    idx = BLAZEPOSE_KEYPOINTS.index
    for side, sx, knee in (("left", 1.0, np.radians(lk)), ("right", -1.0, np.radians(rk))):
        hip = np.stack([np.full(T, 0.1 * sx), np.zeros(T), np.zeros(T)], 1)
        kn = hip + np.array([0.0, -0.45, 0.0])
        an = kn + 0.45 * np.stack([np.zeros(T), -np.cos(knee), -np.sin(knee)], 1)
        toe = an + 0.15 * np.stack([np.zeros(T), -np.sin(knee), np.cos(knee)], 1)  # foot at 90 deg to shank
        P[:, idx(f"{side}_hip")], P[:, idx(f"{side}_knee")] = hip, kn
        P[:, idx(f"{side}_ankle")], P[:, idx(f"{side}_foot_index")] = an, toe
    lean = np.radians(le)
    trunk = np.stack([np.zeros(T), np.cos(lean), np.sin(lean)], 1)
    for side, sx, arm in (("left", 1.0, np.radians(la)), ("right", -1.0, np.radians(ra))):
        sh = 0.5 * trunk + np.array([0.1 * sx, 0.0, 0.0])  # above the hip: elevation is exact
        # arm direction: hanging along -trunk, swung forward by `arm` in the sagittal plane
        fwd = np.stack([np.zeros(T), -np.sin(lean), np.cos(lean)], 1)
        d = -np.cos(arm)[:, None] * trunk + np.sin(arm)[:, None] * fwd
        el = sh + 0.3 * d
        wr = el + 0.25 * d
        P[:, idx(f"{side}_shoulder")], P[:, idx(f"{side}_elbow")], P[:, idx(f"{side}_wrist")] = sh, el, wr
        P[:, idx(f"{side}_ear")] = 0.5 * trunk + 0.2 * trunk + np.array([0.07 * sx, 0.0, 0.0])
    P[:, idx("nose")] = 0.72 * trunk + 0.1 * np.stack([np.zeros(T), -np.sin(lean), np.cos(lean)], 1)
    return P


def to_camera(P_body: np.ndarray, *, azimuth_deg: float) -> np.ndarray:
    """Body points seen by a level camera at ``azimuth_deg`` (0 = in front, +90 = on the
    subject's left): MediaPipe-like camera axes (x right, y down, z away), hip-centred."""
    from lab.align.calibration import intrinsics_from_fov
    from lab.align.view import camera_looking_at_subject
    cam = camera_looking_at_subject(azimuth_deg=azimuth_deg, elevation_deg=0.0, distance_m=4.0,
                                    K=intrinsics_from_fov(1080, 1920), width=1080, height=1920)
    idx = BLAZEPOSE_KEYPOINTS.index
    mid = (P_body[:, idx("left_hip")] + P_body[:, idx("right_hip")]) / 2
    return np.einsum("ij,tkj->tki", cam.R, P_body - mid[:, None])


def track_from(points: np.ndarray, *, frame: str, fps: float = 30.0, vis: float = 1.0) -> PoseTrack:
    T = len(points)
    v = np.where(np.isfinite(points).all(-1), vis, 0.0)
    return PoseTrack(time_s=np.arange(T) / fps, keypoints=BLAZEPOSE_KEYPOINTS, world_m=points,
                     visibility=v, presence=v, frame=frame, meta={"fps": fps})


def travelling(velocity_m_s, *, seconds: float = 4.0, turn_deg: float = 0.0) -> PoseTrack:
    """The swinging stick figure, facing ``turn_deg`` about the vertical, its hips moving at ``velocity_m_s``
    (x = its left, y up, z its front) for ``seconds``: a mocap track (frame ``lab``)."""
    from lab.align.synthetic import synthetic_body_track

    body = synthetic_body_track(n_frames=int(seconds * 30), fps=30.0)
    a = np.radians(turn_deg)
    R = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    v = R @ np.asarray(velocity_m_s, float)
    root = np.array([0.0, 0.95, 0.0]) + body.time_s[:, None] * v
    return PoseTrack(time_s=body.time_s, keypoints=body.keypoints, world_m=body.world_m @ R.T + root[:, None],
                     frame="lab", meta={"fps": 30.0, "source": "synthetic"})
