"""Features in one unit, weighted by their noise: what the comparison's local cost sums.

Angles stay in degrees; body-frame positions count :data:`POSITION_DEG_PER_TORSO`
degrees per torso length; angular velocities (deg/s) are multiplied by
:data:`VELOCITY_S` seconds. Each feature is weighted by 1 / sigma^2, sigma its
measured disagreement with motion-capture truth (the shipped table
``noise.json``, measured by :mod:`lab.features.noise`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from lab.features.angles import FeatureSet

#: Degrees counted for a difference of one torso length in a body-frame position.
POSITION_DEG_PER_TORSO = 40.0
#: Seconds by which angular velocities (deg/s) are multiplied to give degrees.
VELOCITY_S = 0.1
#: Share of each feature kind in the local cost, on top of the noise weights. The travel is
#: left out of the cost (the verdict fit measures it as a term, :mod:`lab.score.verdict_fit`).
KIND_WEIGHTS = {"angle": 1.0, "position": 1.0, "velocity": 1.0, "travel": 0.0}

NOISE_FILE = Path(__file__).with_name("noise.json")
#: Noise assumed for a feature missing from the table, degree-equivalents.
DEFAULT_NOISE = 15.0
#: No feature is trusted more than this (degree-equivalents).
MIN_NOISE = 3.0


@functools.lru_cache(maxsize=1)
def _noise_table() -> tuple[tuple[str, float], ...]:
    try:
        return tuple((k, float(v)) for k, v in json.loads(NOISE_FILE.read_text())["noise"].items())
    except (OSError, KeyError, ValueError):
        return ()


def load_feature_noise() -> dict[str, float]:
    """The shipped per-feature noise table, feature name -> sigma in degree-equivalents (empty if missing)."""
    return dict(_noise_table())


def noise_weights(names: tuple[str, ...] | list[str], *, noise: dict[str, float] | None = None) -> np.ndarray:
    """Per-feature weights 1 / sigma^2 (F,), sigma in degree-equivalents, at least :data:`MIN_NOISE`."""
    table = load_feature_noise() if noise is None else noise
    sig = np.array([max(table.get(n, DEFAULT_NOISE), MIN_NOISE) for n in names])
    return 1.0 / sig ** 2


def scale_features(fs: FeatureSet, *, weighting: str = "noise",
                   noise: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Feature values in degree-equivalents (T, F) and per-feature weights (F,).

    ``weighting``: "noise" = 1 / sigma^2 with sigma the feature's measured
    disagreement with mocap truth, times the kind share :data:`KIND_WEIGHTS`;
    "flat" = the kind share only. ``noise`` replaces the shipped noise table
    (feature name -> sigma).
    """
    scale = np.array([1.0 if fs.kind(n) in ("angle", "travel") else
                      POSITION_DEG_PER_TORSO if fs.kind(n) == "position" else VELOCITY_S
                      for n in fs.names])
    w = np.array([KIND_WEIGHTS[fs.kind(n)] for n in fs.names])
    if weighting == "noise":
        w = w * noise_weights(fs.names, noise=noise)
    elif weighting != "flat":
        raise ValueError(f"weighting must be 'noise' or 'flat', got {weighting!r}")
    return fs.values * scale, w


def measure_motion_amplitude(fs: FeatureSet, *, weighting: str = "noise",
                             noise: dict[str, float] | None = None) -> float:
    """How much a clip moves, in the distance's own unit (degree-equivalents).

    The weighted RMS, over time and features, of each scaled feature's
    deviation from its own median (:func:`scale_features`; NaN ignored): the
    distance a clip would have from a statue of its own median pose. NaN when
    no feature has two finite values.
    """
    x, w = scale_features(fs, weighting=weighting, noise=noise)
    finite = np.isfinite(x)
    use = finite.sum(axis=0) >= 2
    if not use.any():
        return float("nan")
    x, w, finite = x[:, use], w[use], finite[:, use]
    dev = np.where(finite, x - np.nanmedian(x, axis=0), 0.0)
    ms = (dev ** 2).sum(axis=0) / finite.sum(axis=0)
    return float(np.sqrt(np.sum(w * ms) / np.sum(w)))
