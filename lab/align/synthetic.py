"""Synthetic camera views of a 3D track, for tests with answers known in advance.

:func:`synthetic_body_track` makes a moving stick figure in the body frame;
:func:`simulate_camera_track` films a body-frame track (or a lifted mocap
track) from a chosen azimuth/elevation/distance and returns what MediaPipe
would report: pixels, and the 3D in camera-aligned axes (frame ``camera``).
"""

from __future__ import annotations

import numpy as np

from lab.pose.camera import DEFAULT_FOV_DEG, intrinsics_from_fov
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack

#: A standing adult in the body frame (x left, y up, z front), metres, mid-hip at the origin.
_REST = {
    "nose": (0.0, 0.66, 0.10), "left_eye_inner": (0.015, 0.69, 0.09), "left_eye": (0.03, 0.69, 0.085),
    "left_eye_outer": (0.045, 0.69, 0.08), "right_eye_inner": (-0.015, 0.69, 0.09),
    "right_eye": (-0.03, 0.69, 0.085), "right_eye_outer": (-0.045, 0.69, 0.08),
    "left_ear": (0.075, 0.67, 0.0), "right_ear": (-0.075, 0.67, 0.0),
    "mouth_left": (0.025, 0.63, 0.085), "mouth_right": (-0.025, 0.63, 0.085),
    "left_shoulder": (0.19, 0.50, 0.0), "right_shoulder": (-0.19, 0.50, 0.0),
    "left_elbow": (0.22, 0.22, 0.02), "right_elbow": (-0.22, 0.22, 0.02),
    "left_wrist": (0.23, -0.04, 0.06), "right_wrist": (-0.23, -0.04, 0.06),
    "left_pinky": (0.24, -0.12, 0.06), "right_pinky": (-0.24, -0.12, 0.06),
    "left_index": (0.23, -0.13, 0.08), "right_index": (-0.23, -0.13, 0.08),
    "left_thumb": (0.22, -0.09, 0.09), "right_thumb": (-0.22, -0.09, 0.09),
    "left_hip": (0.11, 0.0, 0.0), "right_hip": (-0.11, 0.0, 0.0),
    "left_knee": (0.12, -0.44, 0.03), "right_knee": (-0.12, -0.44, 0.03),
    "left_ankle": (0.12, -0.86, -0.01), "right_ankle": (-0.12, -0.86, -0.01),
    "left_heel": (0.12, -0.92, -0.07), "right_heel": (-0.12, -0.92, -0.07),
    "left_foot_index": (0.13, -0.94, 0.14), "right_foot_index": (-0.13, -0.94, 0.14),
}


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def synthetic_body_track(*, n_frames: int = 60, fps: float = 30.0, swing_deg: float = 40.0) -> PoseTrack:
    """A stick figure swinging its arms (opposite phases) and bending its knees, frame ``body``.

    Parameters
    ----------
    n_frames : int
    fps : float
    swing_deg : float
        Amplitude of the arm swing about the shoulders (sagittal plane), degrees.
    """
    rest = np.array([_REST[k] for k in BLAZEPOSE_KEYPOINTS], dtype=np.float64)
    k = BLAZEPOSE_KEYPOINTS.index
    arm = {"left": [k(n) for n in ("left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb")],
           "right": [k(n) for n in ("right_elbow", "right_wrist", "right_pinky", "right_index", "right_thumb")]}
    leg = {"left": [k(n) for n in ("left_ankle", "left_heel", "left_foot_index")],
           "right": [k(n) for n in ("right_ankle", "right_heel", "right_foot_index")]}
    X = np.repeat(rest[None], n_frames, axis=0)
    t = np.arange(n_frames) / fps
    for f in range(n_frames):
        phase = 2 * np.pi * 1.0 * t[f]
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            sh = rest[k(f"{side}_shoulder")]
            R = _rot_x(-np.radians(swing_deg) * sgn * np.sin(phase))
            X[f, arm[side]] = sh + (rest[arm[side]] - sh) @ R.T
            # knee flexion with the ankle kept under the hip (balance): the knee goes forward
            bend = np.radians(30.0) * (0.5 + 0.5 * np.sin(phase + (0 if sgn > 0 else np.pi)))
            hip, kn, an = rest[k(f"{side}_hip")], rest[k(f"{side}_knee")], rest[k(f"{side}_ankle")]
            l1, l2 = np.linalg.norm(kn - hip), np.linalg.norm(an - kn)
            d = np.sqrt(l1 ** 2 + l2 ** 2 + 2 * l1 * l2 * np.cos(bend))
            alpha = np.arccos(np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / (2 * l1 * d), -1, 1))
            new_an = np.array([an[0], hip[1] - d, hip[2]])
            X[f, k(f"{side}_knee")] = [kn[0], hip[1] - l1 * np.cos(alpha), hip[2] + l1 * np.sin(alpha)]
            X[f, leg[side]] = rest[leg[side]] - an + new_an
    return PoseTrack(time_s=t, keypoints=BLAZEPOSE_KEYPOINTS, world_m=X, frame="body",
                     meta={"fps": fps, "source": "synthetic"})


def simulate_camera_track(body: PoseTrack, *, azimuth_deg: float, elevation_deg: float, distance_m: float,
                          width: int = 1080, height: int = 1920, fov_deg: float = DEFAULT_FOV_DEG,
                          roll_deg: float = 0.0, travel: bool = False) -> PoseTrack:
    """Film a body-frame track with a pinhole camera aimed at the mid-hip.

    Parameters
    ----------
    body : PoseTrack, frame ``body`` (hip-centred).
    azimuth_deg, elevation_deg, distance_m : the camera's viewpoint (see
        :mod:`lab.align.view`).
    width, height : image size, pixels; ``fov_deg`` spans the longer side.
    roll_deg : rotation of the camera about its optical axis.
    travel : bool
        Keep the subject's travel (``meta["lift"]["root_m"]``, as
        :func:`lab.lift.lift_mocap` records it): the camera stands still, aimed at
        the middle of the path, and steps back by three times the farthest the
        path goes from there (points off the image are kept). Without it the
        subject stays at the origin.

    Returns
    -------
    PoseTrack
        Frame ``camera``: ``image_px`` the projection, ``world_m`` the 3D in
        the camera's axes (x right, y down, z forward) re-centred on the mid-hip,
        as MediaPipe reports world landmarks; full visibility.
        ``meta["true_view"]`` holds the viewpoint and ``meta["camera_R"]``.
    """
    from lab.align.view import camera_looking_at_subject

    K = intrinsics_from_fov(width, height, fov_deg=fov_deg)
    cam = camera_looking_at_subject(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg,
                                    distance_m=distance_m, K=K, width=width, height=height)
    a = np.radians(roll_deg)
    Rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    if roll_deg:
        cam.R = Rz @ cam.R
        cam.t = Rz @ cam.t
    X = body.world_m
    if travel:
        root = np.array([[np.nan] * 3 if r is None or r[0] is None else r
                         for r in (body.meta.get("lift") or {}).get("root_m", [])], dtype=float)
        if root.shape != (body.n_frames, 3):
            raise ValueError("travel needs meta['lift']['root_m'] for every frame (a lifted mocap track)")
        root = root - np.nanmedian(root, axis=0)
        reach = float(np.nanmax(np.linalg.norm(root[:, [0, 2]], axis=1))) if np.isfinite(root).any() else 0.0
        cam = camera_looking_at_subject(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg,
                                        distance_m=distance_m + 3.0 * reach, K=K, width=width, height=height)
        if roll_deg:
            cam.R, cam.t = Rz @ cam.R, Rz @ cam.t
        X = X + root[:, None]
    img = cam.project(X)
    cam_axes = X @ cam.R.T
    hip = (cam_axes[:, BLAZEPOSE_KEYPOINTS.index("left_hip")]
           + cam_axes[:, BLAZEPOSE_KEYPOINTS.index("right_hip")]) / 2 if body.keypoints == BLAZEPOSE_KEYPOINTS else 0
    world = cam_axes - hip[:, None]
    vis = np.isfinite(world).all(-1).astype(float)
    meta = {"width": width, "height": height, "fps": body.fps, "source": "synthetic camera",
            "true_view": {"azimuth_deg": azimuth_deg, "elevation_deg": elevation_deg,
                          "distance_m": distance_m, "roll_deg": roll_deg, "travel": travel},
            "camera_R": cam.R.tolist()}
    return PoseTrack(time_s=body.time_s, keypoints=body.keypoints, image_px=img, world_m=world,
                     visibility=vis, presence=vis.copy(), frame="camera", meta=meta)
