"""Where the same/different threshold comes from: ROC, equal-error rate, operating point."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass
class ThresholdCalibration:
    """Result of :func:`calibrate_threshold`.

    Attributes
    ----------
    threshold : float
        Chosen operating point: distances <= threshold are "same".
    auc : float
        Area under the ROC curve (probability a random "same" pair is closer
        than a random "different" pair; ties count half).
    eer : float
        Equal-error rate (false-accept = false-reject), in [0, 1].
    eer_threshold : float
        Distance at the equal-error rate.
    roc : dict
        ``thresholds``, ``true_positive_rate`` (same pairs accepted),
        ``false_positive_rate`` (different pairs accepted), best first.
    n_same, n_different : int
    separable : bool
        Every same pair is closer than every different pair.
    rule : str
        How ``threshold`` was chosen.
    """

    threshold: float
    auc: float
    eer: float
    eer_threshold: float
    roc: dict[str, list[float]]
    n_same: int
    n_different: int
    separable: bool
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def roc_auc(distances: np.ndarray, labels: np.ndarray) -> float:
    """AUC of "same" (label 1) having the smaller distance (Mann-Whitney, ties half)."""
    d = np.asarray(distances, float)
    y = np.asarray(labels).astype(bool)
    pos, neg = d[y], d[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    less = (pos[:, None] < neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((less + 0.5 * ties) / (len(pos) * len(neg)))


def calibrate_threshold(distances, labels, *, rule: str = "midgap") -> ThresholdCalibration:
    """ROC of a distance as a same/different test, its equal-error rate and a threshold.

    Parameters
    ----------
    distances : array (n,)
        Lower = more alike.
    labels : array (n,)
        1 / True = the pair is the same movement, 0 / False = different.
    rule : {"midgap", "eer"}
        "eer": the threshold at the equal-error rate. "midgap": when the two
        groups are separable, the midpoint between the farthest "same" pair and
        the closest "different" pair (the largest margin either way); otherwise
        the EER threshold.

    Returns
    -------
    ThresholdCalibration
    """
    d = np.asarray(distances, float)
    y = np.asarray(labels).astype(bool)
    if y.all() or (~y).all():
        raise ValueError("calibration needs both same and different pairs")
    if not np.isfinite(d).all():
        raise ValueError("distances must be finite")
    cuts = np.concatenate([[-np.inf], np.unique(d), [np.inf]])
    tpr = np.array([(d[y] <= c).mean() for c in cuts])
    fpr = np.array([(d[~y] <= c).mean() for c in cuts])
    fnr = 1.0 - tpr
    k = int(np.argmin(np.abs(fnr - fpr)))
    # interpolate the crossing between neighbouring cuts for a finer EER
    eer = float((fnr[k] + fpr[k]) / 2)
    eer_thr = float(cuts[k]) if np.isfinite(cuts[k]) else float(np.min(d))
    pos_max, neg_min = float(d[y].max()), float(d[~y].min())
    separable = pos_max < neg_min
    if separable:
        eer, eer_thr = 0.0, (pos_max + neg_min) / 2
    if rule == "midgap" and separable:
        thr, why = (pos_max + neg_min) / 2, "midpoint between the farthest same pair and the closest different pair"
    elif rule in ("midgap", "eer"):
        thr, why = eer_thr, "distance at the equal-error rate"
    else:
        raise ValueError(f"rule must be 'midgap' or 'eer', got {rule!r}")
    return ThresholdCalibration(
        threshold=float(thr), auc=roc_auc(d, y), eer=eer, eer_threshold=float(eer_thr),
        roc={"thresholds": [float(c) for c in cuts[1:-1]],
             "true_positive_rate": [float(v) for v in tpr[1:-1]],
             "false_positive_rate": [float(v) for v in fpr[1:-1]]},
        n_same=int(y.sum()), n_different=int((~y).sum()), separable=bool(separable), rule=why)
