"""A synthetic pose track (BlazePose landmarks, camera frame) for tests that need a valid pose file fast.

A person standing facing the camera raises both arms sideways and lowers them again
(``raise_deg`` at the top, one cycle per ``period_s``). World landmarks in metres, origin
mid-hip, y down (MediaPipe's camera frame); pixels for a 1080x1920 portrait frame.
"""

from __future__ import annotations

import numpy as np

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack

_BASE = {
    "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0),
    "left_shoulder": (0.18, -0.5, 0), "right_shoulder": (-0.18, -0.5, 0),
    "left_knee": (0.1, 0.45, -0.02), "right_knee": (-0.1, 0.45, -0.02),
    "left_ankle": (0.1, 0.88, 0), "right_ankle": (-0.1, 0.88, 0),
    "left_heel": (0.1, 0.92, 0.05), "right_heel": (-0.1, 0.92, 0.05),
    "left_foot_index": (0.1, 0.93, -0.12), "right_foot_index": (-0.1, 0.93, -0.12),
    "nose": (0, -0.7, -0.1), "left_eye_inner": (0.02, -0.73, -0.08), "left_eye": (0.03, -0.73, -0.08),
    "left_eye_outer": (0.045, -0.73, -0.07), "right_eye_inner": (-0.02, -0.73, -0.08),
    "right_eye": (-0.03, -0.73, -0.08), "right_eye_outer": (-0.045, -0.73, -0.07),
    "left_ear": (0.07, -0.72, 0), "right_ear": (-0.07, -0.72, 0),
    "mouth_left": (0.025, -0.66, -0.09), "mouth_right": (-0.025, -0.66, -0.09),
}


def standing(T: int = 90, fps: float = 30.0, raise_deg: float = 80.0, period_s: float = 2.0) -> PoseTrack:
    t = np.arange(T) / fps
    a = np.radians(raise_deg) * (1 - np.cos(2 * np.pi * t / period_s)) / 2
    W = np.zeros((T, len(BLAZEPOSE_KEYPOINTS), 3))
    for k, v in _BASE.items():
        W[:, BLAZEPOSE_KEYPOINTS.index(k)] = v
    for side, s in (("left", 1), ("right", -1)):
        sh = np.array(_BASE[f"{side}_shoulder"])
        for name, r in (("elbow", 0.28), ("wrist", 0.52), ("index", 0.6), ("pinky", 0.58), ("thumb", 0.56)):
            W[:, BLAZEPOSE_KEYPOINTS.index(f"{side}_{name}")] = sh + np.stack(
                [s * r * np.sin(a), r * np.cos(a), np.full(T, -0.02 if name == "thumb" else 0.0)], -1)
    img = np.stack([540 + 500 * W[..., 0], 960 + 500 * W[..., 1]], -1)
    vis = np.full((T, len(BLAZEPOSE_KEYPOINTS)), 0.95)
    return PoseTrack(time_s=t, keypoints=BLAZEPOSE_KEYPOINTS, image_px=img, world_m=W, visibility=vis,
                     presence=vis.copy(), image_z=W[..., 2], frame="camera",
                     meta={"source": "synthetic", "width": 1080, "height": 1920, "fps": fps, "frame_count": T})
