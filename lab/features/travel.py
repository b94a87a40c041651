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
                      min_span_s: float = 0.3) -> np.ndarray:
    """Velocity (T, D) of a noisy path (T, D), in its units per second.

    Per frame, the slope of a straight line fitted by least squares to the
    finite samples within ``window_s`` (centred on the frame; at the clip's
    ends the window is moved inwards to stay whole, so nothing rings). Frames
    missing in between (dropped by a live stream, a glitch removed) are
    bridged. NaN where the frame's own position is NaN, or where the finite
    samples of its window span less than ``min_span_s``.
    """
    position = np.asarray(position, dtype=float)
    t = np.asarray(time_s, dtype=float)
    T = len(t)
    out = np.full(position.shape, np.nan)
    ok = np.isfinite(position).all(axis=1)
    if T < 3 or ok.sum() < 3:
        return out
    first, last = t[ok][0], t[ok][-1]
    lo = np.clip(t - window_s / 2, first, max(first, last - window_s))
    hi = lo + window_s
    a = np.searchsorted(t, lo - 1e-9, side="left")
    b = np.searchsorted(t, hi + 1e-9, side="right")
    tc = np.where(ok, t - t[ok].mean(), 0.0)
    x = np.where(ok[:, None], position, 0.0)
    m = ok.astype(float)

    def window_sum(v):
        c = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
        return c[b] - c[a]

    n, st, stt = window_sum(m), window_sum(m * tc), window_sum(m * tc * tc)
    sx, stx = window_sum(x), window_sum(x * tc[:, None])
    # the window's first and last finite samples: the next finite frame at or after a, the last before b
    idx = np.arange(T)
    following = np.minimum.accumulate(np.where(ok, idx, T)[::-1])[::-1]
    preceding = np.maximum.accumulate(np.where(ok, idx, -1))
    t_pad = np.append(t, np.nan)
    span = t_pad[preceding[np.maximum(b - 1, 0)]] - t_pad[np.minimum(following[np.minimum(a, T - 1)], T)]
    denominator = n * stt - st ** 2
    with np.errstate(invalid="ignore"):
        good = ok & (n >= 3) & (span >= min_span_s) & (denominator > 0)
    out[good] = (n[good, None] * stx[good] - st[good, None] * sx[good]) / denominator[good, None]
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
        (a frame placed far from its neighbours) are dropped first, and
        missing frames are bridged.
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
