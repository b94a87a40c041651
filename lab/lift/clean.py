"""Cleaning 3D landmark series: outliers, short gaps, zero-lag low-pass, constant bone lengths.

All functions take arrays shaped ``(T, ...)`` (time first) and treat NaN as
missing. None of them ever bridges a gap longer than asked, and the low-pass
filter runs on each unbroken stretch of samples separately.
"""

from __future__ import annotations

import numpy as np

from lab.pose.sides import swap_side
from lab.pose.track import BLAZEPOSE_KEYPOINTS

#: Kinematic tree over BlazePose names: (parent, child). ``mid_hip`` and
#: ``mid_shoulder`` are virtual joints (means of the left/right pair). Bones are
#: enforced in this order, from the hips outwards.
KINEMATIC_TREE: tuple[tuple[str, str], ...] = (
    ("mid_hip", "left_hip"), ("mid_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("right_ankle", "right_heel"), ("right_ankle", "right_foot_index"),
    ("mid_hip", "mid_shoulder"),
    ("mid_shoulder", "left_shoulder"), ("mid_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_wrist", "left_pinky"), ("left_wrist", "left_index"), ("left_wrist", "left_thumb"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_wrist", "right_pinky"), ("right_wrist", "right_index"), ("right_wrist", "right_thumb"),
    ("mid_shoulder", "nose"),
    ("nose", "left_eye_inner"), ("nose", "left_eye"), ("nose", "left_eye_outer"),
    ("nose", "right_eye_inner"), ("nose", "right_eye"), ("nose", "right_eye_outer"),
    ("nose", "left_ear"), ("nose", "right_ear"), ("nose", "mouth_left"), ("nose", "mouth_right"),
)


def reject_outliers_hampel(series: np.ndarray, *, window_s: float, fps: float,
                           n_sigmas: float = 3.0, min_scale: float = 0.01) -> np.ndarray:
    """Hampel filter: flag samples far from their moving median.

    Classic Hampel: the scale is 1.4826 x the median absolute deviation in
    the window. Movement within the window counts as spread, so in fast
    motion only glitches larger than the local range are caught (a
    conservative choice: a real fast movement is never cut out); keep the
    window short (default 0.2 s in :func:`lab.lift.lift_track`).

    Parameters
    ----------
    series : ndarray, shape (T, ...)
        Values over time (e.g. ``(T, K, 3)`` metres). NaN is missing.
    window_s : float
        Full width of the moving window, seconds.
    fps : float
        Samples per second.
    n_sigmas : float
        Threshold in robust standard deviations (1.4826 x MAD).
    min_scale : float
        Floor on the robust standard deviation, in the series' units, so a
        nearly constant stretch does not flag its noise.

    Returns
    -------
    ndarray of bool, shape (T, ...)
        True where a sample is an outlier. NaN samples are never flagged.
    """
    x = np.asarray(series, dtype=np.float64)
    T = x.shape[0]
    half = max(1, int(round(window_s * fps / 2)))
    if T < 3:
        return np.zeros(x.shape, dtype=bool)
    pad = np.concatenate([np.full((half, *x.shape[1:]), np.nan), x,
                          np.full((half, *x.shape[1:]), np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1, axis=0)[:T]
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        med = np.nanmedian(win, axis=-1)
        mad = np.nanmedian(np.abs(win - med[..., None]), axis=-1)
    scale = np.maximum(1.4826 * mad, min_scale)
    with np.errstate(invalid="ignore"):
        out = np.abs(x - med) > n_sigmas * scale
    return out & np.isfinite(x)


def interpolate_gaps(series: np.ndarray, *, max_gap_s: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN runs no longer than ``max_gap_s`` by linear interpolation.

    Only gaps with valid samples on both sides are filled; leading/trailing
    NaN and longer gaps stay NaN.

    Parameters
    ----------
    series : ndarray, shape (T, ...)
    max_gap_s : float
        Longest gap to fill, seconds.
    fps : float

    Returns
    -------
    filled : ndarray, shape (T, ...)
    was_filled : ndarray of bool, shape (T, ...)
    """
    x = np.array(series, dtype=np.float64, copy=True)
    T = x.shape[0]
    flat = x.reshape(T, -1)
    filled = np.zeros(flat.shape, dtype=bool)
    max_gap = int(np.floor(max_gap_s * fps + 1e-9))
    t = np.arange(T)
    for c in range(flat.shape[1]):
        col = flat[:, c]
        ok = np.isfinite(col)
        if ok.all() or ok.sum() < 2 or max_gap < 1:
            continue
        for start, stop in _runs(~ok):
            if start == 0 or stop == T or stop - start > max_gap:
                continue
            col[start:stop] = np.interp(t[start:stop], [start - 1, stop], [col[start - 1], col[stop]])
            filled[start:stop, c] = True
    return flat.reshape(x.shape), filled.reshape(x.shape)


def lowpass_filter(series: np.ndarray, *, cutoff_hz: float, fps: float, order: int = 2) -> np.ndarray:
    """Zero-lag Butterworth low-pass (``sosfiltfilt``) on each unbroken stretch separately.

    A stretch too short to filter (fewer than ``3 * (order + 1)`` samples) is
    left as it is. NaN samples stay NaN and no value crosses a NaN gap.

    Parameters
    ----------
    series : ndarray, shape (T, ...)
    cutoff_hz : float
        -3 dB frequency of the forward-backward filter's single pass, Hz;
        clamped below the Nyquist frequency.
    fps : float
        Samples per second.
    order : int
        Butterworth order of one pass (the result is twice as steep).
    """
    x = np.array(series, dtype=np.float64, copy=True)
    T = x.shape[0]
    nyq = fps / 2.0
    wn = min(cutoff_hz / nyq, 0.99)
    if not (wn > 0):
        return x
    from scipy import signal  # lazy: scipy.signal takes over a second to import

    sos = signal.butter(order, wn, btype="low", output="sos")
    flat = x.reshape(T, -1)
    min_len = 3 * (order + 1)
    for c in range(flat.shape[1]):
        col = flat[:, c]
        for start, stop in _runs(np.isfinite(col)):
            n = stop - start
            if n < min_len:
                continue
            padlen = min(3 * (2 * len(sos) + 1), n - 1)
            col[start:stop] = signal.sosfiltfilt(sos, col[start:stop], padlen=padlen)
    return flat.reshape(x.shape)


def measure_bone_lengths(world_m: np.ndarray, keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS, *,
                         symmetric: bool = True) -> dict[tuple[str, str], float]:
    """Per-person bone lengths: median over the clip of each bone of :data:`KINEMATIC_TREE`.

    Parameters
    ----------
    world_m : ndarray, shape (T, K, 3), metres
    keypoints : names of the K landmarks
    symmetric : bool
        Average each left bone with its right twin (MediaPipe's depth errors
        differ between sides; people are close to symmetric).

    Returns
    -------
    dict (parent, child) -> length in metres (NaN if never seen).
    """
    pos = _with_virtual(world_m, keypoints)
    lengths = {}
    for parent, child in KINEMATIC_TREE:
        if parent in pos and child in pos:
            d = np.linalg.norm(pos[child] - pos[parent], axis=-1)
            d = d[np.isfinite(d)]
            lengths[(parent, child)] = float(np.median(d)) if d.size else float("nan")
    if symmetric:
        out = {}
        for (p, c), L in lengths.items():
            twin = (swap_side(p), swap_side(c))
            Lt = lengths.get(twin, L)
            vals = [v for v in (L, Lt) if np.isfinite(v)]
            out[(p, c)] = float(np.mean(vals)) if vals else float("nan")
        lengths = out
    return lengths


def enforce_bone_lengths(world_m: np.ndarray, keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS, *,
                         lengths_m: dict[tuple[str, str], float] | None = None) -> np.ndarray:
    """Hold each bone at a constant length, walking the kinematic tree from the hips outwards.

    Each child keeps the direction of its bone in the input frame and is put
    at ``lengths_m[bone]`` from its (already corrected) parent, so a change
    near the root moves the whole limb rigidly. Missing joints stay NaN.

    Parameters
    ----------
    world_m : ndarray, shape (T, K, 3), metres
    keypoints : names of the K landmarks
    lengths_m : dict, optional
        Bone lengths; default :func:`measure_bone_lengths` of ``world_m``.

    Returns
    -------
    ndarray, shape (T, K, 3)
    """
    if lengths_m is None:
        lengths_m = measure_bone_lengths(world_m, keypoints)
    raw = _with_virtual(world_m, keypoints)
    new = {k: v.copy() for k, v in raw.items()}
    for parent, child in KINEMATIC_TREE:
        L = lengths_m.get((parent, child), float("nan"))
        if parent not in raw or child not in raw or not np.isfinite(L):
            continue
        d = raw[child] - raw[parent]
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(n > 1e-9, d / n, np.nan)
        new[child] = new[parent] + L * unit
    out = np.array(world_m, dtype=np.float64, copy=True)
    for j, k in enumerate(keypoints):
        if k in new:
            out[:, j] = new[k]
    return out


def _with_virtual(world_m: np.ndarray, keypoints: tuple[str, ...]) -> dict[str, np.ndarray]:
    pos = {k: np.asarray(world_m[:, j], dtype=np.float64) for j, k in enumerate(keypoints)}
    for mid, (a, b) in (("mid_hip", ("left_hip", "right_hip")),
                        ("mid_shoulder", ("left_shoulder", "right_shoulder"))):
        if a in pos and b in pos:
            pos[mid] = (pos[a] + pos[b]) / 2
    return pos


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open (start, stop) index ranges where ``mask`` is True."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


class _quiet_nan_warnings:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)
