"""Statistics of angles (degrees): wrapping, circular median and spread."""

from __future__ import annotations

import numpy as np


def wrap_deg(angle_deg: np.ndarray | float) -> np.ndarray | float:
    """Wrap angles to [-180, 180) degrees."""
    return (np.asarray(angle_deg) + 180.0) % 360.0 - 180.0


def circular_median_deg(angles_deg: np.ndarray, *, max_samples: int = 2000) -> float:
    """Circular median: the sample angle minimising the summed absolute wrapped difference.

    NaN is ignored; NaN if nothing is left. For more than ``max_samples``
    values, a regular subsample is used as candidates (all values are scored).
    """
    a = np.asarray(angles_deg, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return float("nan")
    cand = a if a.size <= max_samples else a[:: int(np.ceil(a.size / max_samples))]
    cost = np.abs(wrap_deg(cand[:, None] - a[None, :])).sum(axis=1)
    return float(wrap_deg(cand[int(np.argmin(cost))]))


def circular_spread_deg(angles_deg: np.ndarray, *, centre_deg: float | None = None) -> float:
    """Robust spread: median absolute wrapped deviation from the circular median, degrees."""
    a = np.asarray(angles_deg, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return float("nan")
    c = circular_median_deg(a) if centre_deg is None else centre_deg
    return float(np.median(np.abs(wrap_deg(a - c))))
