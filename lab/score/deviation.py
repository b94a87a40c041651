"""Where the player differs from the coach, frame by frame: the DTW path in frames, the per-landmark
angle deviation that colours the player's skeleton, and the per-joint, per-phase table.

All of it is read from :attr:`lab.score.Comparison.per_step` (one row per DTW step and joint angle,
degrees, attempt minus reference).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from lab.features import JOINT_ANGLES
from lab.pose.sides import swap_side


def nearest_index(time_s: np.ndarray, query_s: np.ndarray) -> np.ndarray:
    """Index (N,) of the frame of ``time_s`` (T,) nearest to each query time (N,), both seconds from the
    first frame."""
    t = np.asarray(time_s, dtype=float) - float(time_s[0])
    q = np.asarray(query_s, dtype=float)
    i = np.clip(np.searchsorted(t, q), 1, len(t) - 1)
    left_closer = (q - t[i - 1]) <= (t[i] - q)
    return np.where(left_closer, i - 1, i).astype(int)


def path_to_frames(path_time_s: np.ndarray, reference_time_s: np.ndarray,
                   attempt_time_s: np.ndarray) -> np.ndarray:
    """DTW path in seconds from each clip's start (L, 2) -> nearest frame indices (L, 2)."""
    p = np.asarray(path_time_s, dtype=float)
    return np.stack([nearest_index(reference_time_s, p[:, 0]), nearest_index(attempt_time_s, p[:, 1])], 1)


def angle_keypoints() -> dict[str, tuple[str, ...]]:
    """Angle name -> landmarks it is drawn on (its vertex; body angles on their segment)."""
    out = {n: (v[1],) for n, v in JOINT_ANGLES.items()}
    out.update({"trunk_lean": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
                "left_hip_abduction": ("left_hip",), "right_hip_abduction": ("right_hip",),
                "neck": ("nose",)})
    return out


def deviation_per_frame(per_step, attempt_time_s: np.ndarray, keypoints: Sequence[str], *,
                        mirrored: bool = False) -> np.ndarray:
    """Per attempt frame and landmark, the largest |angle difference| there (degrees).

    Parameters
    ----------
    per_step : DataFrame
        ``Comparison.per_step`` (columns ``step, attempt_time_s, joint, difference_deg``).
    attempt_time_s : ndarray (T,)
    keypoints : landmark names (K)
    mirrored : bool
        The attempt was compared as its mirror image: its left joints carry
        the reference's right-joint differences.

    Returns
    -------
    ndarray, shape (T, K); NaN where no angle sits on the landmark.
    """
    return _spread_per_frame(per_step, attempt_time_s, keypoints, mirrored=mirrored, scale_deg=None)


def measure_noise_ratio_per_frame(per_step, attempt_time_s: np.ndarray, keypoints: Sequence[str], *,
                                  thresholds_deg: Mapping[str, float | None], mirrored: bool = False
                                  ) -> np.ndarray:
    """Per attempt frame and landmark, the largest |angle difference| / that joint's threshold.

    Below 1 the difference is inside what these two recordings can show by
    chance (:attr:`lab.score.JointResult.threshold_deg`); this is what the
    skeleton colours of the report show (:func:`lab.viz.color_by_noise_ratio`).

    Parameters
    ----------
    per_step : DataFrame
        ``Comparison.per_step``.
    attempt_time_s : ndarray (T,)
    keypoints : landmark names (K)
    thresholds_deg : mapping coach's joint -> threshold (degrees)
        Joints missing, None or not finite (those that can't be judged) are
        left out: a landmark carrying only such joints is NaN.
    mirrored : bool
        As in :func:`deviation_per_frame`.

    Returns
    -------
    ndarray, shape (T, K), dimensionless; NaN where no judged angle sits on the landmark.
    """
    return _spread_per_frame(per_step, attempt_time_s, keypoints, mirrored=mirrored, scale_deg=thresholds_deg)


def _spread_per_frame(per_step, attempt_time_s, keypoints, *, mirrored, scale_deg) -> np.ndarray:
    T, K = len(attempt_time_s), len(keypoints)
    out = np.full((T, K), np.nan)
    if per_step is None or len(per_step) == 0:
        return out
    kp_index = {k: i for i, k in enumerate(keypoints)}
    where = angle_keypoints()
    steps = per_step.drop_duplicates("step").sort_values("step")
    step_t = steps["attempt_time_s"].to_numpy(float)
    frame_t = np.asarray(attempt_time_s, float) - float(attempt_time_s[0])
    # each attempt frame takes the DTW step nearest in attempt time
    nearest_step = steps["step"].to_numpy()[
        np.clip(np.searchsorted(step_t, frame_t), 0, len(step_t) - 1)]
    for joint, g in per_step.groupby("joint", sort=True):
        scale = 1.0
        if scale_deg is not None:
            scale = scale_deg.get(joint)
            if scale is None or not np.isfinite(scale) or scale <= 0:
                continue
        name = swap_side(joint) if mirrored else joint
        kps = [kp_index[k] for k in where.get(name, ()) if k in kp_index]
        if not kps:
            continue
        d = np.abs(g.set_index("step")["difference_deg"].reindex(nearest_step).to_numpy(float)) / float(scale)
        for k in kps:
            out[:, k] = np.fmax(out[:, k], d)
    return out


def feedback_table(per_step, *, joints: Sequence[str] | None = None):
    """Mean signed angle difference (player minus coach, degrees) per joint and phase.

    Parameters
    ----------
    per_step : DataFrame, ``Comparison.per_step``
    joints : order of the rows (default: by largest mean absolute difference)

    Returns
    -------
    DataFrame, index joint, columns ``phase 1..n``, values degrees (confidence-weighted).
    """
    import pandas as pd

    df = per_step[np.isfinite(per_step["difference_deg"]) & (per_step["confidence"] > 0)].copy()
    df["w"] = df["confidence"]
    df["wd"] = df["difference_deg"] * df["w"]
    g = df.groupby(["joint", "phase"])[["wd", "w"]].sum()
    table = (g["wd"] / g["w"]).unstack("phase")
    table.columns = [f"phase {int(p)}" for p in table.columns]
    if joints is None:
        joints = table.abs().mean(axis=1).sort_values(ascending=False).index
    table = table.reindex([j for j in joints if j in table.index])
    table.index = [j.replace("_", " ") for j in table.index]
    table.index.name = "joint (player - coach, deg)"
    return pd.DataFrame(table).round(1)


def aligned_angles(per_step, *, joints: Sequence[str]) -> tuple[dict, dict, np.ndarray]:
    """Coach and player angle curves along the DTW path, from ``Comparison.per_step``.

    Returns ``(reference, attempt, path)`` for :func:`lab.viz.plot_joint_angles`:
    dicts joint -> (L,) degrees, and the identity path (L, 2) over the steps.
    """
    ref, att = {}, {}
    for j in joints:
        g = per_step[per_step["joint"] == j].sort_values("step")
        ref[j.replace("_", " ")] = g["reference_deg"].to_numpy(float)
        att[j.replace("_", " ")] = g["attempt_deg"].to_numpy(float)
    n = len(next(iter(ref.values()))) if ref else 0
    return ref, att, np.stack([np.arange(n), np.arange(n)], 1)


def _phase_means(per_step, *, min_confidence: float):
    """Confidence-weighted mean difference per coach's joint and phase (DataFrame joint x phase, degrees)."""
    df = per_step[np.isfinite(per_step["difference_deg"]) & (per_step["confidence"] > min_confidence)].copy()
    df["wd"] = df["difference_deg"] * df["confidence"]
    g = df.groupby(["joint", "phase"])[["wd", "confidence"]].sum()
    return (g["wd"] / g["confidence"]).unstack("phase")


def rank_joints_by_noise_ratio(comparison, *, min_confidence: float = 0.05) -> list[str]:
    """The coach's joints, those these cameras can judge first, each group by its largest
    |phase mean difference| / ``threshold_deg`` (the closest to a reported difference first)."""
    means = _phase_means(comparison.per_step, min_confidence=min_confidence)

    def ratio(j) -> float:
        if j.threshold_deg is None or j.name not in means.index:
            return -1.0
        m = np.abs(means.loc[j.name].to_numpy(float))
        return float(np.nanmax(m)) / j.threshold_deg if np.isfinite(m).any() else -1.0

    return [j.name for j in sorted(comparison.joints, key=lambda j: (not j.can_judge, -ratio(j)))]


def build_joint_table(comparison, *, min_confidence: float = 0.05):
    """Per joint: the mean difference in each phase, what it must exceed to be reported, and whether it can be judged.

    Rows are named by the player's own joint (the other side of the coach's when
    the attempt was matched as a mirror image), in the order of
    :func:`rank_joints_by_noise_ratio`.

    Parameters
    ----------
    comparison : lab.score.Comparison
    min_confidence : float
        Steps at or below this confidence are left out (as for the feedback sentences).

    Returns
    -------
    DataFrame
        Index ``joint`` (player's own, words); columns ``phase 1..n`` (player minus coach,
        degrees, confidence-weighted), ``threshold (deg)`` (a phase mean beyond it is reported),
        ``detectable (deg)`` (the difference reported 9 times in 10) and ``can judge`` (bool).
    """
    import pandas as pd

    means = _phase_means(comparison.per_step, min_confidence=min_confidence)
    phases = sorted(int(p) for p in comparison.per_step["phase"].unique())
    by_name = {j.name: j for j in comparison.joints}
    rows, index = [], []
    for name in rank_joints_by_noise_ratio(comparison, min_confidence=min_confidence):
        j = by_name[name]
        row = {f"phase {p}": (float(means.loc[name, p]) if name in means.index and p in means.columns
                              else np.nan) for p in phases}
        row["threshold (deg)"] = np.nan if j.threshold_deg is None else float(j.threshold_deg)
        row["detectable (deg)"] = np.nan if j.detectable_deg is None else float(j.detectable_deg)
        row["can judge"] = bool(j.can_judge)
        rows.append(row)
        index.append(j.attempt_joint.replace("_", " "))
    table = pd.DataFrame(rows, index=pd.Index(index, name="joint (player - coach, deg)"))
    return table.round({c: 1 for c in table.columns if c != "can judge"})


def collect_angle_curves(per_step, *, joints: Sequence[str]) -> dict:
    """Both clips' angle curves along the DTW path with each step's standard error, per coach's joint.

    Returns
    -------
    dict coach's joint -> DataFrame with columns ``reference_time_s, reference_deg, attempt_deg,
    reference_se_deg, attempt_se_deg`` and, where ``per_step`` has it, ``attempt_time_s`` (one row per
    DTW step, in order).
    """
    cols = ["reference_time_s", "reference_deg", "attempt_deg", "reference_se_deg", "attempt_se_deg"]
    cols += [c for c in ("attempt_time_s",) if c in per_step.columns]
    return {j: per_step[per_step["joint"] == j].sort_values("step")[cols].reset_index(drop=True) for j in joints}
