"""Measuring lifting and viewpoint estimation against ground truth (Pose2Sim four-view clip).

Ground truth: the triangulated TRC (frame ``lab``, Y up) and the Qualisys
calibration (world Z up; :func:`lab.align.calibration.y_up_to_z_up` maps one
to the other). The subject's facing per frame comes from the TRC hip and
shoulder lines (the nose only settles front from back); each camera's true
azimuth/elevation is that of its calibrated centre seen from the mid-hip.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from lab.align.calibration import Camera, y_up_to_z_up
from lab.features import LIMB_ANGLES, inner_angles_deg
from lab.lift.circular import circular_median_deg, wrap_deg
from lab.pose.track import PoseTrack

#: Joints compared by position between views.
POSITION_KEYPOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "nose",
)


def facing_from_truth(truth: PoseTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid-hip (T, 3), unit front (T, 3) and unit left (T, 3) of a ``lab`` (Y up) track, in Z-up world.

    Left = sum of the horizontal left-pointing hip and shoulder lines; front =
    left x up. If the nose points the other way on most frames, both flip
    (labels are trusted; the nose only guards against a mislabelled file).
    """
    W = y_up_to_z_up(truth.world_m)
    k = truth.index
    up = np.array([0.0, 0.0, 1.0])

    def horiz(v):
        v = v - (v @ up)[..., None] * up
        return v / np.linalg.norm(v, axis=-1, keepdims=True)
    hip = (W[:, k("left_hip")] + W[:, k("right_hip")]) / 2
    left = horiz(horiz(W[:, k("left_hip")] - W[:, k("right_hip")])
                 + horiz(W[:, k("left_shoulder")] - W[:, k("right_shoulder")]))
    front = np.cross(left, up)
    sho = (W[:, k("left_shoulder")] + W[:, k("right_shoulder")]) / 2
    nose = W[:, k("nose")] - sho
    if np.isfinite(nose).all(-1).any() and np.nanmedian((nose * front).sum(-1)) < 0:
        front, left = -front, -left
    return hip, front, left


def true_views(truth: PoseTrack, cameras: dict[str, Camera]) -> pd.DataFrame:
    """Per-frame true azimuth, elevation (degrees) and distance (m) of each camera.

    Returns a long table: ``camera, frame, azimuth_deg, elevation_deg, distance_m``.
    """
    hip, front, left = facing_from_truth(truth)
    rows = []
    for name, cam in cameras.items():
        d = cam.centre_m - hip
        az = np.degrees(np.arctan2((d * left).sum(-1), (d * front).sum(-1)))
        el = np.degrees(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1])))
        rows.append(pd.DataFrame({"camera": name, "frame": np.arange(len(d)), "azimuth_deg": az,
                                  "elevation_deg": el, "distance_m": np.linalg.norm(d, axis=-1)}))
    return pd.concat(rows, ignore_index=True)


def truth_as_camera_track(truth: PoseTrack, camera: Camera, *, image_px: np.ndarray | None = None) -> PoseTrack:
    """The ground truth as if MediaPipe had produced it from ``camera``: a frame ``camera`` track.

    ``world_m`` is the TRC rotated into the camera's axes (x right, y down,
    z forward) about the mid-hip, as MediaPipe's world landmarks are;
    ``image_px`` is the truth projected through the calibration, or the
    given (T, K, 2) pixels (e.g. MediaPipe's own 2D, to isolate its 3D).
    Feeding this to :func:`lab.align.estimate_view` measures the viewpoint
    pipeline itself, without MediaPipe's 3D errors.
    """
    W = y_up_to_z_up(truth.world_m)
    X = W @ camera.R.T
    k = truth.index
    X = X - ((X[:, k("left_hip")] + X[:, k("right_hip")]) / 2)[:, None]
    seen = np.isfinite(X).all(-1)
    img = camera.project(W) if image_px is None else np.asarray(image_px, float)[:len(X)]
    img = np.where(seen[..., None], img, np.nan)
    vis = seen.astype(float)
    return PoseTrack(time_s=truth.time_s, keypoints=truth.keypoints, world_m=X, image_px=img,
                     visibility=vis, presence=vis.copy(), frame="camera",
                     meta={"source": "ground truth", "width": camera.width, "height": camera.height,
                           "fps": truth.meta.get("fps")})


def evaluate_pose2sim_views(tracks: dict[str, PoseTrack], cameras: dict[str, Camera], truth: PoseTrack,
                            *, use_calibration_intrinsics: bool = True) -> pd.DataFrame:
    """Viewpoint errors on a synchronized multi-view clip with known cameras.

    Each view is estimated on its own (:func:`lab.align.estimate_view`, the
    calibration used for intrinsics only when ``use_calibration_intrinsics``,
    else the default field of view), and by the baseline
    (``method="heading"``: facing direction in the camera-aligned world
    landmarks, no perspective).

    Parameters
    ----------
    tracks : dict camera name -> PoseTrack (frame ``camera``, or lifted ``body``)
    cameras : dict camera name -> Camera (calibration; world Z up)
    truth : PoseTrack, frame ``lab`` (the TRC), frame i == frame i of every view

    Returns
    -------
    DataFrame, one row per view (``kind="view"``: absolute azimuth and
    elevation) and per pair of views (``kind="pair"``: relative azimuth
    ``a - b``), with columns ``kind, item, quantity, truth_deg, estimate_deg,
    error_deg, baseline_deg, baseline_error_deg, spread_deg, ambiguous``.
    Errors are signed (wrapped to [-180, 180)).
    """
    from lab.align.view import estimate_view
    from lab.lift import lift_track

    tv = true_views(truth, cameras)
    est, base = {}, {}
    for name, tr in tracks.items():
        lifted = lift_track(tr) if tr.frame == "camera" else tr
        cam = cameras[name] if use_calibration_intrinsics else None
        est[name] = estimate_view(lifted, camera=cam)
        base[name] = estimate_view(lifted, camera=cam, method="heading")
    names = [n for n in cameras if n in tracks]
    gt = {}
    for n in names:
        sel = tv[tv.camera == n]
        gt[n] = (circular_median_deg(sel.azimuth_deg.to_numpy()), float(np.median(sel.elevation_deg)))
    rows = []
    for n in names:
        rows.append({"kind": "view", "item": n, "quantity": "azimuth", "truth_deg": gt[n][0],
                     "estimate_deg": est[n].azimuth_deg,
                     "error_deg": float(wrap_deg(est[n].azimuth_deg - gt[n][0])),
                     "baseline_deg": base[n].azimuth_deg,
                     "baseline_error_deg": float(wrap_deg(base[n].azimuth_deg - gt[n][0])),
                     "spread_deg": est[n].spread_deg, "ambiguous": est[n].ambiguous})
        rows.append({"kind": "view", "item": n, "quantity": "elevation", "truth_deg": gt[n][1],
                     "estimate_deg": est[n].elevation_deg, "error_deg": est[n].elevation_deg - gt[n][1],
                     "baseline_deg": base[n].elevation_deg,
                     "baseline_error_deg": base[n].elevation_deg - gt[n][1],
                     "spread_deg": est[n].elevation_spread_deg, "ambiguous": est[n].ambiguous})
    for a, b in itertools.combinations(names, 2):
        g = float(wrap_deg(gt[a][0] - gt[b][0]))
        e = float(wrap_deg(est[a].azimuth_deg - est[b].azimuth_deg))
        bl = float(wrap_deg(base[a].azimuth_deg - base[b].azimuth_deg))
        rows.append({"kind": "pair", "item": f"{a}-{b}", "quantity": "relative azimuth", "truth_deg": g,
                     "estimate_deg": e, "error_deg": float(wrap_deg(e - g)), "baseline_deg": bl,
                     "baseline_error_deg": float(wrap_deg(bl - g)),
                     "spread_deg": float(np.hypot(est[a].spread_deg, est[b].spread_deg)),
                     "ambiguous": est[a].ambiguous or est[b].ambiguous})
    return pd.DataFrame(rows)


def joint_angles_deg(track: PoseTrack) -> pd.DataFrame:
    """3D joint angles (degrees, 180 = straight) per frame, one column per :data:`lab.features.LIMB_ANGLES`.

    Angles are independent of the track's frame (rotation-invariant).
    """
    return pd.DataFrame(inner_angles_deg(track, track.world_m, names=LIMB_ANGLES), columns=list(LIMB_ANGLES))


def evaluate_joint_angles(tracks: dict[str, PoseTrack], truth: PoseTrack) -> pd.DataFrame:
    """Mean absolute joint-angle error (degrees) of each view's track against the truth.

    Parameters
    ----------
    tracks : dict view name -> PoseTrack with 3D (raw ``camera`` or lifted ``body``),
        frame i == frame i of ``truth``.
    truth : PoseTrack (TRC)

    Returns
    -------
    DataFrame indexed by view, one column per joint of :data:`lab.features.LIMB_ANGLES`
    plus ``mean``.
    """
    ref = joint_angles_deg(truth)
    rows = {}
    for name, tr in tracks.items():
        err = (joint_angles_deg(tr) - ref).abs()
        rows[name] = err.mean()
    df = pd.DataFrame(rows).T
    df["mean"] = df.mean(axis=1)
    return df


def mean_pairwise_distance_m(tracks: dict[str, PoseTrack], *,
                             keypoints: tuple[str, ...] = POSITION_KEYPOINTS) -> float:
    """Mean distance (m) between the same joint, same frame, of every pair of tracks (hip-centred).

    For raw ``camera`` tracks this includes each camera's own orientation; for
    lifted ``body`` tracks only what lifting did not make agree.
    """
    ds = []
    for a, b in itertools.combinations(list(tracks.values()), 2):
        ia = [a.index(k) for k in keypoints]
        ib = [b.index(k) for k in keypoints]
        xa = a.world_m[:, ia] - ((a.world_m[:, a.index("left_hip")] + a.world_m[:, a.index("right_hip")]) / 2)[:, None]
        xb = b.world_m[:, ib] - ((b.world_m[:, b.index("left_hip")] + b.world_m[:, b.index("right_hip")]) / 2)[:, None]
        d = np.linalg.norm(xa - xb, axis=-1)
        ds.append(np.nanmean(d))
    return float(np.mean(ds))
