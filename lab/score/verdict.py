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
                          "extreme_speed", "travel_difference", "relative_travel_difference",
                          "travel_direction_difference")

#: What :func:`compute_terms` takes (the keys of :func:`lab.score.compare.describe_match` it uses).
TERM_INPUTS: tuple[str, ...] = ("distance", "reference_motion_deg", "attempt_motion_deg", "matched_fraction",
                                "extreme_speed", "travel_difference", "reference_travel", "attempt_travel",
                                "travel_direction_difference")

#: Travel speed (torso lengths per second) below which a clip stays in place: the floor of the relative
#: travel difference's denominator (a still body filmed by MediaPipe seems to travel up to about this).
STILL_TRAVEL = 0.5

#: Motion amplitude floor (degree-equivalents) before taking its log: a statue is not infinitely precise.
MIN_MOTION_DEG = 1.0


def compute_terms(*, distance: float, reference_motion_deg: float, attempt_motion_deg: float,
                  matched_fraction: float, extreme_speed: bool, travel_difference: float = float("nan"),
                  reference_travel: float = float("nan"), attempt_travel: float = float("nan"),
                  travel_direction_difference: float = float("nan")) -> dict[str, float]:
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
    travel_difference : float
        How differently the bodies travel (torso lengths per second,
        :func:`lab.score.compare.measure_travel_difference`); NaN when a clip's
        travel cannot be measured (the model then uses its ``fallback``).
    reference_travel, attempt_travel : float
        How fast each body travels over the ground along the match (same
        unit). ``relative_travel_difference`` is the travel difference divided
        by :data:`STILL_TRAVEL` plus the faster of the two: two walks at
        different speeds differ less, relatively, than a walk and a stand.
    travel_direction_difference : float
        How far apart the directions the two bodies travel in are (0-2,
        :func:`lab.score.compare.measure_travel_difference`): a walk and a
        diagonal walk at one speed.
    """
    def log_floor(v: float) -> float:
        return math.log(max(v, MIN_MOTION_DEG)) if np.isfinite(v) else math.log(MIN_MOTION_DEG)

    return {"log_distance": math.log(max(distance, 1e-6)),
            "log_reference_motion": log_floor(reference_motion_deg),
            "log_attempt_motion": log_floor(attempt_motion_deg),
            "matched_fraction": float(min(max(matched_fraction, 0.0), 1.0)) if np.isfinite(matched_fraction) else 0.0,
            "extreme_speed": float(bool(extreme_speed)),
            "travel_difference": float(travel_difference),
            "relative_travel_difference": float(travel_difference / (STILL_TRAVEL + max(reference_travel,
                                                                                         attempt_travel))),
            "travel_direction_difference": float(travel_direction_difference)}


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
    fallback : VerdictModel, optional
        Fitted without the terms that can be unknown (the travel): used for a
        pair whose terms include NaN.
    """

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    uncertain_band: tuple[float, float]
    provenance: str = ""
    fallback: "VerdictModel | None" = None

    def model_for(self, terms: dict[str, float]) -> "VerdictModel":
        """This model, or its fallback when one of this model's terms is unknown (NaN) for the pair."""
        if self.fallback is not None and not all(np.isfinite(terms.get(t, np.nan)) for t in self.terms):
            return self.fallback.model_for(terms)
        return self

    def logit(self, terms: dict[str, float]) -> float:
        m = self.model_for(terms)
        return float(m.intercept + sum(c * terms[t] for t, c in zip(m.terms, m.coefficients)))

    def p_same(self, terms: dict[str, float]) -> float:
        """Probability that the pair shows the same movement (0-1)."""
        z = self.logit(terms)
        return float(1.0 / (1.0 + math.exp(-z))) if z > -700 else 0.0

    def threshold_distance(self, terms: dict[str, float]) -> float:
        """The distance at which ``p_same`` would be 0.5 for this pair, other terms unchanged."""
        m = self.model_for(terms)
        b = m.coefficients[m.terms.index("log_distance")]
        rest = m.logit(terms) - b * terms["log_distance"]
        return float(math.exp(-rest / b)) if b < 0 else float("nan")

    def verdict(self, p_same: float) -> str:
        """"same" at ``p_same >= 0.5`` outside the band, "uncertain" inside it, "different" below."""
        low, high = self.uncertain_band
        if low <= p_same < high:
            return "uncertain"
        return "same" if p_same >= 0.5 else "different"

    def to_dict(self) -> dict[str, Any]:
        d = {"terms": list(self.terms), "coefficients": list(self.coefficients), "intercept": self.intercept,
             "uncertain_band": list(self.uncertain_band), "provenance": self.provenance}
        if self.fallback is not None:
            d["fallback"] = self.fallback.to_dict()
        return d


def _model_from_dict(d: dict[str, Any]) -> VerdictModel:
    return VerdictModel(terms=tuple(d["terms"]), coefficients=tuple(float(c) for c in d["coefficients"]),
                        intercept=float(d["intercept"]), uncertain_band=tuple(d["uncertain_band"]),
                        provenance=str(d.get("provenance", "")),
                        fallback=_model_from_dict(d["fallback"]) if d.get("fallback") else None)


def load_verdict_model(path: str | Path | None = None) -> VerdictModel | None:
    """The shipped verdict model (``verdict.json``), or None when the file is missing or unreadable."""
    try:
        return _model_from_dict(json.loads(Path(path or VERDICT_FILE).read_text()))
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
