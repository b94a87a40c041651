"""Same or different, as a probability: ``p_same`` from the distance and what the clips contain.

One fixed distance cannot be the line between "same" and "different": the
distance grows with how much the body moves (a sprint differs from itself more
than a still balance does under the same noise) and with how little of the
reference the match covers. The verdict model is a logistic regression on a few
terms of a comparison (:data:`TERMS`), fitted on the calibration set
(:mod:`lab.score.calibration_pairs`), cross-validated with folds by motion:

``logit p_same = intercept + sum(coefficient * term)``

Because the distance enters as ``log(distance)`` alone, the model is also a
*normalized distance*: for each pair the distance at which ``p_same`` = 0.5
(:meth:`VerdictModel.threshold_distance`) is the line for that pair, and the
0-100 score keeps its meaning (50 at the line). The verdict is "same" when
``p_same >= 0.5``, "uncertain" inside the calibrated band, "different" below.

``python -m lab.score.verdict_fit`` builds the calibration set, cross-validates,
writes ``verdict.json`` and prints the README's tables.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

VERDICT_FILE = Path(__file__).with_name("verdict.json")

#: The terms the shipped model may use, each computed by :func:`compute_terms` from a comparison.
TERMS: tuple[str, ...] = ("log_distance", "log_reference_motion", "log_attempt_motion", "matched_fraction",
                          "extreme_speed")

#: Motion amplitude floor (degree-equivalents) before taking its log: a statue is not infinitely precise.
MIN_MOTION_DEG = 1.0


def compute_terms(*, distance: float, reference_motion_deg: float, attempt_motion_deg: float,
                  matched_fraction: float, extreme_speed: bool) -> dict[str, float]:
    """The verdict model's terms (:data:`TERMS`) of one comparison.

    Parameters
    ----------
    distance : float
        The comparison's distance (degree-equivalents).
    reference_motion_deg, attempt_motion_deg : float
        How much each clip moves (:func:`lab.features.scale.measure_motion_amplitude`).
    matched_fraction : float
        Share of the reference's duration the matched path covers (0-1).
    extreme_speed : bool
        The match chose the slowest or fastest global tempo tried.
    """
    def log_floor(v: float) -> float:
        return math.log(max(v, MIN_MOTION_DEG)) if np.isfinite(v) else math.log(MIN_MOTION_DEG)

    return {"log_distance": math.log(max(distance, 1e-6)),
            "log_reference_motion": log_floor(reference_motion_deg),
            "log_attempt_motion": log_floor(attempt_motion_deg),
            "matched_fraction": float(min(max(matched_fraction, 0.0), 1.0)) if np.isfinite(matched_fraction) else 0.0,
            "extreme_speed": float(bool(extreme_speed))}


@dataclasses.dataclass(frozen=True)
class VerdictModel:
    """A fitted verdict model (see the module docstring).

    Attributes
    ----------
    terms : tuple of str
        Names of the terms used (a subset of :data:`TERMS`, ``log_distance`` first).
    coefficients : tuple of float
        One per term.
    intercept : float
    uncertain_band : (float, float)
        ``p_same`` in ``[low, high)`` is called "uncertain".
    provenance : str
        How it was fitted.
    """

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    uncertain_band: tuple[float, float]
    provenance: str = ""

    def logit(self, terms: dict[str, float]) -> float:
        return float(self.intercept + sum(c * terms[t] for t, c in zip(self.terms, self.coefficients)))

    def p_same(self, terms: dict[str, float]) -> float:
        """Probability that the pair shows the same movement (0-1)."""
        z = self.logit(terms)
        return float(1.0 / (1.0 + math.exp(-z))) if z > -700 else 0.0

    def threshold_distance(self, terms: dict[str, float]) -> float:
        """The distance at which ``p_same`` would be 0.5 for this pair, other terms unchanged."""
        k = self.terms.index("log_distance")
        b = self.coefficients[k]
        rest = self.logit(terms) - b * terms["log_distance"]
        return float(math.exp(-rest / b)) if b < 0 else float("nan")

    def verdict(self, p_same: float) -> str:
        """"same" at ``p_same >= 0.5`` outside the band, "uncertain" inside it, "different" below."""
        low, high = self.uncertain_band
        if low <= p_same < high:
            return "uncertain"
        return "same" if p_same >= 0.5 else "different"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["terms"], d["coefficients"], d["uncertain_band"] = (list(self.terms), list(self.coefficients),
                                                              list(self.uncertain_band))
        return d


def load_verdict_model(path: str | Path | None = None) -> VerdictModel | None:
    """The shipped verdict model (``verdict.json``), or None when the file is missing or unreadable."""
    try:
        d = json.loads(Path(path or VERDICT_FILE).read_text())
        return VerdictModel(terms=tuple(d["terms"]), coefficients=tuple(float(c) for c in d["coefficients"]),
                            intercept=float(d["intercept"]), uncertain_band=tuple(d["uncertain_band"]),
                            provenance=str(d.get("provenance", "")))
    except (OSError, KeyError, ValueError, TypeError):
        return None


def load_verdict_figures(path: str | Path | None = None) -> dict[str, Any]:
    """The cross-validated figures the shipped model was written with (``verdict.json``'s
    ``cross_validated``: per-gap AUC / accuracy / calibration error of ours and the peers, the reliability
    bins, the uncertain share); empty when missing."""
    try:
        return dict(json.loads(Path(path or VERDICT_FILE).read_text()).get("cross_validated", {}))
    except (OSError, ValueError, AttributeError):
        return {}
