"""Where the player differs from the coach, frame by frame: the DTW path in frames, the per-landmark
angle deviation that colours the player's skeleton, and the per-joint, per-phase table.

All of it is read from :attr:`lab.score.Comparison.per_step` (one row per DTW step and joint angle,
degrees, attempt minus reference).
"""

from __future__ import annotations

from typing import Sequence

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
        name = swap_side(joint) if mirrored else joint
        kps = [kp_index[k] for k in where.get(name, ()) if k in kp_index]
        if not kps:
            continue
        d = np.abs(g.set_index("step")["difference_deg"].reindex(nearest_step).to_numpy(float))
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
