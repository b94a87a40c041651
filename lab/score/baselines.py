"""Peers' comparison methods, kept beside ours as baselines. Each returns a distance (lower = more alike).

(a) :func:`distance_just_dance` - MMPose "Just Dance" demo style: 2D keypoints
    normalised to their bounding box, per-joint Gaussian similarity
    ``exp(-50 d^2)`` averaged over joints confident in both frames, one best
    time offset for the whole clip, the better of plain and left/right-flipped.
(b) :func:`distance_pose_trainer` - Pose Trainer style: 2D image joint angles,
    plain (closed-end, unweighted) DTW from sktime.
(c) :func:`distance_world_angles` - MediaPipe world-landmark 3D angles (no
    lifting, no confidence, no positions), plain sktime DTW.
"""

from __future__ import annotations

import numpy as np

from lab.features import inner_angles_deg
from lab.pose.sides import mirror_permutation
from lab.pose.track import PoseTrack

#: COCO-17 joints as BlazePose names (what MMPose's demo compares).
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

def _resample(time_s: np.ndarray, values: np.ndarray, *, rate_hz: float) -> np.ndarray:
    """values (T, ...) onto a uniform grid from first to last time; NaN kept where both sides NaN."""
    flat = values.reshape(len(values), -1)
    t = time_s[0] + np.arange(int(np.floor((time_s[-1] - time_s[0]) * rate_hz + 1e-9)) + 1) / rate_hz
    out = np.full((len(t), flat.shape[1]), np.nan)
    for f in range(flat.shape[1]):
        ok = np.isfinite(flat[:, f])
        if ok.sum() >= 2:
            out[:, f] = np.interp(t, time_s[ok], flat[ok, f], left=np.nan, right=np.nan)
    return out.reshape((len(t),) + values.shape[1:])


def _bbox_normalised(track: PoseTrack, *, min_visibility: float) -> tuple[np.ndarray, np.ndarray]:
    idx = [track.index(k) for k in COCO_KEYPOINTS]
    P = track.image_px[:, idx].copy()
    V = track.visibility[:, idx] >= min_visibility
    P[~V] = np.nan
    lo, hi = np.nanmin(P, axis=1, keepdims=True), np.nanmax(P, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        N = (P - lo) / np.maximum(hi - lo, 1e-6)
    return N, V


def distance_just_dance(reference: PoseTrack, attempt: PoseTrack, *, rate_hz: float = 30.0,
                        min_visibility: float = 0.5, min_overlap: float = 0.5) -> float:
    """1 - the best mean per-frame similarity (baseline (a)); in [0, 1].

    Per frame: mean over joints visible in both of ``exp(-50 * d^2)``, ``d`` the
    distance between bounding-box-normalised 2D positions. The clips are slid
    against each other by whole samples (at ``rate_hz``) keeping at least
    ``min_overlap`` of the shorter one; the best offset and the better of
    plain and mirrored (x flipped, left/right swapped) attempt count.
    """
    A, Va = _bbox_normalised(reference, min_visibility=min_visibility)
    B, Vb = _bbox_normalised(attempt, min_visibility=min_visibility)
    A = _resample(reference.time_s, A, rate_hz=rate_hz)
    B = _resample(attempt.time_s, B, rate_hz=rate_hz)
    Bm = B[:, mirror_permutation(COCO_KEYPOINTS)].copy()
    Bm[..., 0] = 1.0 - Bm[..., 0]
    best = 0.0
    n, m = len(A), len(B)
    need = max(1, int(min_overlap * min(n, m)))
    for Bx in (B, Bm):
        for off in range(-(m - need), n - need + 1):      # attempt sample j <-> reference j + off
            i0, i1 = max(0, off), min(n, m + off)
            if i1 - i0 < need:
                continue
            a, b = A[i0:i1], Bx[i0 - off:i1 - off]
            d2 = np.sum((a - b) ** 2, axis=-1)
            ok = np.isfinite(d2)
            with np.errstate(invalid="ignore"):
                per_frame = np.where(ok.any(1), np.nansum(np.where(ok, np.exp(-50 * d2), 0), 1)
                                     / np.maximum(ok.sum(1), 1), np.nan)
            if np.isfinite(per_frame).any():
                best = max(best, float(np.nanmean(per_frame)))
    return 1.0 - best


def _fill(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    for f in range(x.shape[1]):
        col = x[:, f]
        ok = np.isfinite(col)
        x[:, f] = np.interp(np.arange(len(col)), np.flatnonzero(ok), col[ok]) if ok.any() else 0.0
    return x


def _plain_dtw(x: np.ndarray, y: np.ndarray) -> float:
    from lab.dtw import dtw_sktime
    x, y = _fill(x), _fill(y)
    return float(np.sqrt(dtw_sktime(x, y) / (len(x) + len(y)) / x.shape[1]))


def image_angles_deg(track: PoseTrack) -> np.ndarray:
    """(T, 8) 2D inner angles in the image, degrees (Pose Trainer's features: :data:`lab.features.LIMB_ANGLES`)."""
    return inner_angles_deg(track, track.image_px)


def distance_pose_trainer(reference: PoseTrack, attempt: PoseTrack, *, rate_hz: float = 30.0) -> float:
    """Baseline (b): RMS degrees along sktime's plain DTW over 2D image joint angles.

    ``sqrt(sum of squared costs / (N + M) / n_angles)``: closed ends, no band,
    no confidence, no mirroring.
    """
    x = _resample(reference.time_s, image_angles_deg(reference), rate_hz=rate_hz)
    y = _resample(attempt.time_s, image_angles_deg(attempt), rate_hz=rate_hz)
    return _plain_dtw(_trim(x), _trim(y))


def distance_world_angles(reference: PoseTrack, attempt: PoseTrack, *, rate_hz: float = 30.0) -> float:
    """Baseline (c): the 14 3D angles of :mod:`lab.features` from the raw world
    landmarks (no lifting, no confidence, no positions), plain sktime DTW."""
    from lab.features import compute_features, resample_features

    def angles(tr):
        fs = resample_features(compute_features(tr, lift=False, positions=False, velocities=False,
                                                cutoff_hz=None), rate_hz=rate_hz)
        return fs.values
    return _plain_dtw(angles(reference), angles(attempt))


def _trim(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x).any(1)
    if not ok.any():
        return x
    i0, i1 = np.flatnonzero(ok)[[0, -1]]
    return x[i0:i1 + 1]


BASELINES = {
    "just_dance_2d": distance_just_dance,
    "pose_trainer_2d_angles": distance_pose_trainer,
    "world_angles_plain_dtw": distance_world_angles,
}
