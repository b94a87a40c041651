"""The coach seen from the player's camera (the "ghost") and where each camera stood.

:func:`ghost_in_view` re-times the coach's body-frame model along the DTW path
and projects it into the player's estimated camera (:func:`lab.align.project_to_view`);
:func:`camera_position_body_m` places a :class:`lab.align.ViewEstimate`'s camera
in the body frame, :func:`estimate_views` does so for several clips and
:func:`true_camera_positions` for calibrated cameras against mocap truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lab.align.view import ViewEstimate, estimate_view, project_to_view, view_direction
from lab.io import LabError
from lab.lift.circular import circular_median_deg
from lab.pose.sides import mirror_track
from lab.pose.track import PoseTrack


def warp_track(track, frame_index: np.ndarray, time_s: np.ndarray):
    """``track``'s frames ``frame_index`` (repeats allowed) re-timed at ``time_s`` (a DTW-warped copy)."""
    idx = np.asarray(frame_index, dtype=int)

    def pick(a):
        return None if a is None else a[idx]
    return track.replace(time_s=np.asarray(time_s, dtype=float), image_px=pick(track.image_px),
                         world_m=pick(track.world_m), visibility=pick(track.visibility),
                         presence=pick(track.presence), image_z=pick(track.image_z), meta=dict(track.meta))


def reference_frame_per_attempt_frame(path_frames: np.ndarray, n_attempt: int) -> np.ndarray:
    """For each attempt frame, the reference frame the DTW path matches it to (first match; held
    before/after the matched part)."""
    p = np.asarray(path_frames, dtype=int)
    out = np.full(n_attempt, -1)
    for r, a in p[::-1]:  # reversed so the first match wins
        out[a] = r
    known = np.flatnonzero(out >= 0)
    if known.size == 0:
        return np.clip(np.arange(n_attempt), 0, None)
    # fill gaps with the nearest earlier match, and the start with the first match
    filled = np.maximum.accumulate(np.where(out >= 0, np.arange(n_attempt), 0))
    out = np.where(out >= 0, out, out[filled])
    out[:known[0]] = out[known[0]]
    return out


def ghost_in_view(reference_body: PoseTrack, attempt_body: PoseTrack, view: ViewEstimate,
                  path_frames: np.ndarray, *, mirrored: bool = False) -> np.ndarray:
    """The coach's DTW-matched pose in the player's pixels.

    Parameters
    ----------
    reference_body : PoseTrack
        The coach's model, frame ``body``.
    attempt_body : PoseTrack
        The player's track lifted (frame ``body``, with ``image_px``): its size
        scales the ghost and its hips anchor it.
    view : ViewEstimate
        The player's camera (:func:`lab.align.estimate_view`).
    path_frames : ndarray (L, 2) of int
        DTW path as (reference frame, attempt frame).
    mirrored : bool
        The attempt was matched as the coach's mirror image: the ghost is mirrored too.

    Returns
    -------
    ndarray, shape (T_attempt, K, 2)
        Pixels; NaN where the coach's joint is missing.
    """
    if attempt_body.image_px is None:
        raise LabError("no ghost: the attempt has no image points", exit_code=4)
    ref = mirror_track(reference_body) if mirrored else reference_body
    ridx = reference_frame_per_attempt_frame(path_frames, attempt_body.n_frames)
    warped = warp_track(ref, ridx, attempt_body.time_s)
    return project_to_view(warped, view, target=attempt_body)


def _body_size_m(pose_m: np.ndarray, keypoints: tuple[str, ...]) -> float:
    """Mid-hip to mid-shoulder plus the mean thigh + shank length of one pose (K, 3), metres; NaN if unseen."""
    def at(name):
        return pose_m[keypoints.index(name)]

    trunk = np.linalg.norm((at("left_shoulder") + at("right_shoulder")) / 2 - (at("left_hip") + at("right_hip")) / 2)
    legs = [np.linalg.norm(at(f"{s}_knee") - at(f"{s}_hip")) + np.linalg.norm(at(f"{s}_ankle") - at(f"{s}_knee"))
            for s in ("left", "right")]
    return float(trunk + np.nanmean(legs)) if np.isfinite(legs).any() else float("nan")


def ghost_in_frame(coach_body_m: np.ndarray, player_camera_m: np.ndarray, player_rotation: np.ndarray,
                   player_image_px: np.ndarray, *, keypoints: tuple[str, ...]) -> np.ndarray:
    """The coach's pose drawn over one frame of the player's (a live ghost, from this frame alone).

    The coach's body-frame pose is turned as the player's body is turned to the camera, scaled to
    the player's size (trunk + leg) and placed by the mapping from the player's own camera-axes
    landmarks to their pixels (one scale and an offset, fitted on this frame: a weak perspective,
    as MediaPipe's world axes are the image's), so the ghost stands where the player stands.

    Parameters
    ----------
    coach_body_m : ndarray (K, 3)
        The coach's pose, frame ``body`` (metres, origin mid-hip).
    player_camera_m : ndarray (K, 3)
        The player's pose in the camera's axes (metres, origin mid-hip).
    player_rotation : ndarray (3, 3)
        Rows = the player's body axes in the camera's axes (``body = camera @ R.T``).
    player_image_px : ndarray (K, 2)
        The player's landmarks, pixels.
    keypoints : tuple of str

    Returns
    -------
    ndarray (K, 2)
        Pixels; all NaN where fewer than 4 of the player's landmarks are seen in both.
    """
    cam = np.asarray(player_camera_m, float)
    img = np.asarray(player_image_px, float)
    out = np.full((len(keypoints), 2), np.nan)
    ok = np.isfinite(cam).all(-1) & np.isfinite(img).all(-1)
    if ok.sum() < 4:
        return out
    a, b = cam[ok, :2], img[ok]
    am, bm = a - a.mean(0), b - b.mean(0)
    den = float((am ** 2).sum())
    if den <= 0:
        return out
    scale_px_per_m = float((am * bm).sum()) / den
    offset = b.mean(0) - scale_px_per_m * a.mean(0)
    coach = np.asarray(coach_body_m, float)
    ratio = _body_size_m(cam @ np.asarray(player_rotation, float).T, keypoints) / _body_size_m(coach, keypoints)
    ratio = ratio if np.isfinite(ratio) and ratio > 0 else 1.0
    coach_cam = (coach * ratio) @ np.asarray(player_rotation, float)
    return scale_px_per_m * coach_cam[:, :2] + offset


def camera_position_body_m(view) -> np.ndarray:
    """Camera centre (3,) in the body frame, metres, from a :class:`lab.align.ViewEstimate`."""
    return view_direction(view.azimuth_deg, view.elevation_deg) * float(view.distance_m)


def estimate_views(tracks: dict[str, Any]) -> tuple[dict[str, np.ndarray], Any]:
    """Each clip's camera viewpoint: positions (3,) in the body frame and a summary table.

    Parameters
    ----------
    tracks : dict name -> PoseTrack (frame ``camera``, with ``image_px``)

    Returns
    -------
    (dict name -> position_m (3,), DataFrame name x azimuth_deg, elevation_deg, distance_m, spread_deg,
    ambiguous, reason); a clip whose view cannot be solved is in the table with NaN and its reason.
    """
    import pandas as pd

    positions, rows = {}, []
    for name, tr in tracks.items():
        try:
            v = estimate_view(tr)
        except LabError as exc:
            rows.append({"clip": name, "azimuth_deg": np.nan, "elevation_deg": np.nan, "distance_m": np.nan,
                         "spread_deg": np.nan, "ambiguous": True, "reason": str(exc)})
            continue
        positions[name] = camera_position_body_m(v)
        rows.append({"clip": name, "azimuth_deg": round(v.azimuth_deg, 1), "elevation_deg": round(v.elevation_deg, 1),
                     "distance_m": round(v.distance_m, 2), "spread_deg": round(v.spread_deg, 1),
                     "ambiguous": bool(v.ambiguous), "reason": v.reason})
    return positions, pd.DataFrame(rows).set_index("clip")


def true_camera_positions(truth, cameras: dict[str, Any]) -> dict[str, np.ndarray]:
    """Calibrated cameras' positions (3,) in the subject's body frame (clip medians), from mocap truth.

    Parameters
    ----------
    truth : PoseTrack, frame ``lab`` (e.g. the Pose2Sim TRC)
    cameras : dict name -> :class:`lab.align.calibration.Camera`
    """
    from lab.align.evaluate import true_views

    tv = true_views(truth, cameras)
    out = {}
    for name, g in tv.groupby("camera", sort=True):
        az = float(circular_median_deg(g["azimuth_deg"].to_numpy(float)))
        el = float(np.nanmedian(g["elevation_deg"]))
        out[name] = view_direction(az, el) * float(np.nanmedian(g["distance_m"]))
    return out
