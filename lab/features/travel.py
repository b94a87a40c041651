"""Where the body travels: the mid-hip's velocity in the body's own axes (forwards, sideways, up).

Joint angles and body-frame positions are pinned to the hips, so they cannot
tell walking forwards from walking backwards, or a walk from a run on the spot.
The travel is what they drop: the mid-hip's velocity turned into each frame's
own body axes (left, up, front), in torso lengths per second.

From motion capture (frame ``lab``) the mid-hip is measured. From a video
(frame ``camera``) MediaPipe's world landmarks are pinned to the hips too; the
mid-hip is placed by :func:`estimate_root_m`, the translation that best lays the
world landmarks onto the image points through a pinhole camera (the image's
longer side spanning :data:`lab.pose.camera.DEFAULT_FOV_DEG`). It assumes the
camera stands still: a camera panning after the subject hides the travel, and
a wrong field of view scales travel along the line of sight.

With the travel come the camera's line of sight in the same body axes
(``travel:sight_*``, a unit vector from the camera to the mid-hip): a pose
model that reads a whole clip as seen from behind mirrors the body across the
plane facing the camera, and the travel read then has its component along the
line of sight reversed (see :func:`lab.score.compare.measure_travel_difference`).
"""

from __future__ import annotations

import numpy as np

from lab.pose.camera import intrinsics_from_fov
from lab.pose.track import PoseTrack

#: The travel features' names: the mid-hip's velocity along the body's left, up and front axes.
TRAVEL_NAMES: tuple[str, ...] = ("travel:left", "travel:up", "travel:front")
#: The camera's line of sight (unit, camera to mid-hip) along the same body axes; NaN without a camera.
SIGHT_NAMES: tuple[str, ...] = ("travel:sight_left", "travel:sight_up", "travel:sight_front")
#: Landmarks a video frame needs (visibility at least ``min_visibility``) to place its mid-hip.
MIN_LANDMARKS = 6


def estimate_root_m(track: PoseTrack, *, fov_deg: float | None = None,
                    min_visibility: float = 0.5) -> np.ndarray:
    """The mid-hip's position per frame in the track's own axes, metres (T, 3); NaN where unknown.

    Parameters
    ----------
    track : PoseTrack
        Frame ``lab`` (mocap: the mid-hip as measured) or ``camera`` (video:
        ``world_m`` hip-centred in the camera's axes, ``image_px`` in pixels and
        ``meta["width"]``/``meta["height"]``). Other frames give NaN.
    fov_deg : float, optional
        The camera's field of view across the image's longer side (default
        :data:`lab.pose.camera.DEFAULT_FOV_DEG`).
    min_visibility : float
        Landmarks below this visibility are not used.

    Notes
    -----
    For a camera track, each frame's translation ``t`` solves, in the least-squares
    sense, ``u = fx (X + tx) / (Z + tz) + cx`` and ``v = fy (Y + ty) / (Z + tz) + cy``
    over its visible landmarks (linear in ``t`` once multiplied out).
    """
    kp = track.keypoints
    T = track.n_frames
    out = np.full((T, 3), np.nan)
    if track.world_m is None or "left_hip" not in kp or "right_hip" not in kp:
        return out
    X = np.asarray(track.world_m, dtype=float)
    hip = (X[:, kp.index("left_hip")] + X[:, kp.index("right_hip")]) / 2
    if track.frame == "lab":
        return hip
    width, height = track.meta.get("width"), track.meta.get("height")
    if track.frame != "camera" or track.image_px is None or not width or not height:
        return out
    K = intrinsics_from_fov(int(width), int(height), **({} if fov_deg is None else {"fov_deg": fov_deg}))
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    P = X - hip[:, None]                                  # the world landmarks about the mid-hip
    du = np.asarray(track.image_px[..., 0], dtype=float) - cx
    dv = np.asarray(track.image_px[..., 1], dtype=float) - cy
    vis = np.ones((T, len(kp))) if track.visibility is None else np.asarray(track.visibility, dtype=float)
    use = (vis >= min_visibility) & np.isfinite(P).all(-1) & np.isfinite(du) & np.isfinite(dv)
    w = use.astype(float)
    P, du, dv = np.where(use[..., None], P, 0.0), np.where(use, du, 0.0), np.where(use, dv, 0.0)
    # rows (fx, 0, -du) t = du Z - fx X and (0, fy, -dv) t = dv Z - fy Y, weighted; normal equations per frame
    A = np.zeros((T, len(kp), 2, 3))
    A[..., 0, 0], A[..., 0, 2] = fx, -du
    A[..., 1, 1], A[..., 1, 2] = fy, -dv
    b = np.stack([du * P[..., 2] - fx * P[..., 0], dv * P[..., 2] - fy * P[..., 1]], axis=-1)
    A, b = A * w[..., None, None], b * w[..., None]
    AtA = np.einsum("tkri,tkrj->tij", A, A)
    Atb = np.einsum("tkri,tkr->ti", A, b)
    ok = (use.sum(1) >= MIN_LANDMARKS) & np.isfinite(hip).all(-1)
    if ok.any():
        t = np.linalg.solve(AtA[ok], Atb[ok][..., None])[..., 0]
        good = t[:, 2] > 0                                # in front of the camera
        idx = np.flatnonzero(ok)[good]
        out[idx] = t[good] + hip[idx]
    return out


def estimate_velocity(position: np.ndarray, *, time_s: np.ndarray, window_s: float = 1.5,
                      min_run_s: float = 0.3) -> np.ndarray:
    """Velocity (T, D) of a noisy path (T, D): per frame, the slope of a straight line fitted to the
    path over ``window_s`` around it (Savitzky-Golay, order 1), within each run of finite samples;
    at a run's ends the window's line is used as is, so nothing rings. Runs shorter than
    ``min_run_s`` give NaN."""
    from scipy.signal import savgol_filter

    out = np.full_like(position, np.nan, dtype=float)
    if len(time_s) < 3:
        return out
    dt = float(np.median(np.diff(time_s)))
    ok = np.isfinite(position).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    for s0, e0 in zip(edges[::2], edges[1::2]):
        n = e0 - s0
        if n * dt < min_run_s or n < 3:
            continue
        w = min(int(round(window_s / dt)) | 1, n if n % 2 else n - 1)
        out[s0:e0] = savgol_filter(position[s0:e0], w, polyorder=1, deriv=1, delta=dt, axis=0, mode="interp")
    return out


def compute_travel(track: PoseTrack, body: PoseTrack, *, torso_m: float, window_s: float = 1.5,
                   fov_deg: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The mid-hip's velocity and the camera's line of sight in each frame's body axes.

    Parameters
    ----------
    track : PoseTrack
        As filmed or captured (:func:`estimate_root_m`).
    body : PoseTrack
        ``track`` lifted by :func:`lab.lift.lift_track` (same frames; its
        ``meta["lift"]`` gives each frame's body axes). A body frame made
        otherwise gives NaN.
    torso_m : float
        The body's mid-hip to mid-shoulder length in ``track``'s units.
    window_s : float
        The velocity is the slope of the mid-hip's path over this long
        (:func:`estimate_velocity`): a step's sway is not travel. Glitches
        (a frame placed far from its neighbours) are dropped first.
    fov_deg : float, optional
        See :func:`estimate_root_m`.

    Returns
    -------
    values : ndarray, shape (T, 6)
        Along :data:`TRAVEL_NAMES` (left, up, front; torso lengths per second)
        then :data:`SIGHT_NAMES` (unit vector; NaN unless ``track`` was filmed,
        frame ``camera`` with pixels); NaN where unknown.
    confidence : ndarray, shape (T, 6)
        The hips' visibility, 0 where the value is NaN.
    """
    from lab.lift import frame_rotations
    from lab.lift.body import viewing_rays
    from lab.lift.clean import reject_outliers_hampel

    T = track.n_frames
    nan = np.full((T, 6), np.nan)
    if body.n_frames != T or not body.meta.get("lift") or not np.isfinite(torso_m) or torso_m <= 0 or T < 3:
        return nan, np.zeros((T, 6))
    root = estimate_root_m(track, fov_deg=fov_deg)
    t = np.asarray(track.time_s, dtype=float)
    fps = 1.0 / float(np.median(np.diff(t)))
    glitch = reject_outliers_hampel(root, window_s=0.5, fps=fps, n_sigmas=3.0, min_scale=0.05).any(-1)
    root[glitch] = np.nan
    velocity = estimate_velocity(root, time_s=t, window_s=window_s)
    R = frame_rotations(body)                             # rows: body axes (left, up, front) in the track's axes
    values = np.einsum("tij,tj->ti", R, velocity) / torso_m
    sight = np.full((T, 3), np.nan)
    if track.frame == "camera" and track.image_px is not None and track.meta.get("width"):
        sight = np.einsum("tij,tj->ti", R, viewing_rays(track))
    values = np.hstack([values, sight])
    kp = track.keypoints
    if track.visibility is not None:
        vis = np.minimum(track.visibility[:, kp.index("left_hip")], track.visibility[:, kp.index("right_hip")])
    else:
        vis = np.ones(T)
    conf = np.where(np.isfinite(values), vis[:, None], 0.0)
    return values, conf
