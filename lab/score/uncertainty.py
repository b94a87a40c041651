"""How sure is each joint-angle number: a standard error from what the camera saw, fitted on ground truth.

Error model
-----------
A joint angle measured from one MediaPipe clip differs from the truth by

    error(t) = systematic_j + bias + u(t)

``systematic_j`` is the part every MediaPipe clip of that joint shares (for
example the neck angle, which MediaPipe measures from the ears and motion
capture from the head): it cancels between two video clips and counts only
against motion capture. ``bias`` is constant over one clip (one camera, one
person) and ``u`` an AR(1) process with correlation time ``tau``; together
their standard deviation at a step is

    sd(t) = scale * exp(a_kind + slope * (1 - confidence(t)) + view_slope * hidden)

with ``confidence`` the feature's confidence (:attr:`lab.features.FeatureSet.confidence`:
landmark visibility times how much of the limb lies across the image),
``a_kind`` one level per kind of joint (knee, hip, elbow...) and ``hidden``
how much the joint moves along the camera's line of sight, from the camera's
azimuth: ``|cos azimuth|`` for a joint that moves in the sagittal plane
(knees, hips, elbows, shoulders, ankles, trunk, neck: a camera in front or
behind sees it bend in depth), ``|sin azimuth|`` for hip abduction (frontal
plane); 0.5 when the azimuth is unknown. A fraction ``bias_fraction`` of the variance is
the clip-constant bias, the rest the AR(1) part. The standard error of a
confidence-weighted mean over steps (a phase of the movement) follows from
that covariance (:func:`estimate_mean_se_deg`): the bias never averages out,
the AR(1) part only over stretches longer than ``tau``.

The fitted table ``uncertainty.json`` (beside this file) also holds the
landmark noise model that :mod:`lab.score.detectability` gives synthetic
camera views. Regenerate both with ``python -m lab.score.uncertainty`` (needs
``../shared``): the four Pose2Sim views against their TRC, every frame,
resampled at 30 Hz; leave-one-view-out cross-validation is written beside
the fit. The model is fitted on the ``full`` landmarker; how much more or less
the others' angles err (:func:`measure_pose_model_scales`, applied by a clip's
``pose_model``) can be measured again alone with ``--pose-models-only``. The
figures are in the README ("How sure is each number").

Differences between two clips
-----------------------------
:func:`summarize_phase_differences` turns a comparison's per-step table into
one row per joint and phase: the mean difference, its standard error (both
clips, independent), the reporting threshold ``threshold_deg`` (the 95%
minimal detectable difference: with no real difference, noise exceeds it in
at most 5% of comparisons, Bonferroni over every joint and phase tested) and
``detectable_deg`` (a real difference that large is reported at least 90% of
the time).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lab.pose.track import PoseTrack

UNCERTAINTY_FILE = Path(__file__).with_name("uncertainty.json")

#: Kind of each angle of :mod:`lab.features.angles` (levels of the error model are shared by both sides).
ANGLE_KINDS: dict[str, str] = {
    "left_knee": "knee", "right_knee": "knee", "left_hip": "hip", "right_hip": "hip",
    "left_elbow": "elbow", "right_elbow": "elbow", "left_shoulder": "shoulder", "right_shoulder": "shoulder",
    "left_ankle": "ankle", "right_ankle": "ankle", "trunk_lean": "trunk_lean",
    "left_hip_abduction": "hip_abduction", "right_hip_abduction": "hip_abduction", "neck": "neck",
}

#: Chance that noise alone gives any sentence in a comparison without a real difference.
FAMILY_ALPHA = 0.05
#: Chance that a real difference of ``detectable_deg`` is reported.
POWER = 0.9
#: Standard deviation assumed for motion capture angles (marker placement: constant over a clip), degrees.
MOCAP_SD_DEG = 2.0
#: Used when ``uncertainty.json`` is missing: a flat model, conservative.
#: Plane in which each kind of joint mostly moves (what a camera must see across its image).
ANGLE_PLANES: dict[str, str] = {"hip_abduction": "frontal"}
FALLBACK = {"levels": {}, "default_level": math.log(15.0), "confidence_slope": 0.0, "view_slope": 0.0,
            "scale": 1.0, "bias_fraction": 0.5, "correlation_time_s": 0.2, "systematic_deg": {}}


def compute_normal_quantile(p: float) -> float:
    """Quantile of the standard normal distribution at probability ``p`` (0 < p < 1)."""
    from scipy.stats import norm

    return float(norm.ppf(p))


def compute_family_z(n_tests: int, *, alpha: float = FAMILY_ALPHA) -> float:
    """Two-sided z for ``n_tests`` tests with a family-wise error ``alpha`` (Bonferroni)."""
    return compute_normal_quantile(1.0 - alpha / (2.0 * max(int(n_tests), 1)))


def classify_angle_kind(name: str) -> str:
    """Kind of an angle feature (``left_knee`` -> ``knee``); the name itself when unknown."""
    return ANGLE_KINDS.get(name, name)


def estimate_hidden_fraction(joint: str, azimuth_deg: float | None) -> float:
    """How much ``joint`` moves along the line of sight of a camera at ``azimuth_deg`` (0 in front of the
    subject): ``|cos azimuth|`` for sagittal-plane joints, ``|sin azimuth|`` for frontal-plane ones
    (:data:`ANGLE_PLANES`); 0.5 when the azimuth is unknown."""
    if azimuth_deg is None or not np.isfinite(azimuth_deg):
        return 0.5
    a = math.radians(azimuth_deg)
    return float(abs(math.sin(a)) if ANGLE_PLANES.get(classify_angle_kind(joint)) == "frontal" else abs(math.cos(a)))


@dataclasses.dataclass(frozen=True)
class AngleErrorModel:
    """The fitted error model of MediaPipe joint angles (see the module docstring).

    Attributes
    ----------
    levels : dict
        Kind of joint -> ``a_kind`` (log degrees).
    default_level : float
        ``a`` for a kind missing from ``levels``.
    confidence_slope : float
        Log-sd added per unit of missing confidence.
    view_slope : float
        Log-sd added when the joint moves straight along the line of sight
        (:func:`estimate_hidden_fraction` = 1).
    scale : float
        Overall factor on the standard deviation.
    bias_fraction : float
        Share of the variance that is constant over a clip.
    correlation_time_s : float
        Correlation time of the AR(1) part, seconds.
    systematic_deg : dict
        Joint -> error shared by every MediaPipe clip, degrees (counts only against motion capture).
    pose_model_scales : dict
        MediaPipe landmarker (``meta["model"]`` of a track, e.g. ``pose_landmarker_lite``) -> factor
        on the standard deviation for clips it measured, against the one the model was fitted on
        (:func:`measure_pose_model_scales`); 1 for a landmarker not listed or not known.
    """

    levels: dict[str, float]
    default_level: float
    confidence_slope: float
    view_slope: float
    scale: float
    bias_fraction: float
    correlation_time_s: float
    systematic_deg: dict[str, float]
    pose_model_scales: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AngleErrorModel":
        return cls(levels={k: float(v) for k, v in d["levels"].items()}, default_level=float(d["default_level"]),
                   confidence_slope=float(d["confidence_slope"]), view_slope=float(d.get("view_slope", 0.0)),
                   scale=float(d["scale"]), bias_fraction=float(d["bias_fraction"]),
                   correlation_time_s=float(d["correlation_time_s"]),
                   systematic_deg={k: float(v) for k, v in d.get("systematic_deg", {}).items()},
                   pose_model_scales={k: float(v) for k, v in d.get("pose_model_scales", {}).items()})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def find_level(self, joint: str) -> float:
        """``a`` of ``joint``: its own level, else its kind's, else the default."""
        return self.levels.get(joint, self.levels.get(classify_angle_kind(joint), self.default_level))

    def find_pose_model_scale(self, pose_model: str | None) -> float:
        """The factor on the standard deviation for clips measured by ``pose_model`` (1 if not listed);
        the short name (``lite``, as live recordings made before 2026-12-07 say) is the same landmarker."""
        if not pose_model:
            return 1.0
        return float(self.pose_model_scales.get(pose_model, self.pose_model_scales.get(f"pose_landmarker_{pose_model}", 1.0)))

    def estimate_step_sd_deg(self, joint: str, confidence: np.ndarray, *,
                             azimuth_deg: float | None = None, pose_model: str | None = None) -> np.ndarray:
        """Standard deviation (degrees) of a MediaPipe angle's error at each step, from its confidence.

        Parameters
        ----------
        joint : str
            Angle name (:data:`ANGLE_KINDS`).
        confidence : ndarray
            The feature's confidence at each step, in [0, 1].
        azimuth_deg : float, optional
            The clip's camera azimuth (:func:`estimate_hidden_fraction`).
        pose_model : str, optional
            The landmarker that measured the clip (``meta["model"]``): :attr:`pose_model_scales`.
        """
        c = np.clip(np.nan_to_num(np.asarray(confidence, float), nan=0.0), 0.0, 1.0)
        return self.scale * self.find_pose_model_scale(pose_model) * np.exp(
            self.find_level(joint) + self.confidence_slope * (1.0 - c)
            + self.view_slope * estimate_hidden_fraction(joint, azimuth_deg))


@functools.lru_cache(maxsize=1)
def _table_text() -> str:
    try:
        return UNCERTAINTY_FILE.read_text()
    except OSError:
        return ""


def load_angle_error_model() -> AngleErrorModel:
    """The shipped model (``uncertainty.json``), or a flat conservative one when the file is missing."""
    try:
        return AngleErrorModel.from_dict(json.loads(_table_text())["angles"]["model"])
    except (KeyError, ValueError, TypeError):
        return AngleErrorModel.from_dict(FALLBACK)


def load_landmark_noise() -> dict[str, Any]:
    """The shipped landmark noise model of MediaPipe's world landmarks (``uncertainty.json``, ``landmarks``)."""
    try:
        return dict(json.loads(_table_text())["landmarks"])
    except (KeyError, ValueError, TypeError):
        return {}


# ----------------------------------------------------------------- standard errors
def build_error_covariance(sd_deg: np.ndarray, time_s: np.ndarray, *, bias_fraction: float,
                           correlation_time_s: float) -> np.ndarray:
    """Covariance (N, N) of one clip's errors at N steps: clip-constant bias plus AR(1).

    ``sd_i sd_j (rho + (1 - rho) exp(-|t_i - t_j| / tau))``; steps at the same
    time (a frame repeated by the DTW path) are fully correlated.
    """
    s = np.asarray(sd_deg, float)
    t = np.asarray(time_s, float)
    lag = np.abs(t[:, None] - t[None, :])
    tau = max(float(correlation_time_s), 1e-6)
    corr = bias_fraction + (1.0 - bias_fraction) * np.exp(-lag / tau)
    return s[:, None] * s[None, :] * corr


def estimate_mean_se_deg(sd_deg: np.ndarray, weights: np.ndarray, time_s: np.ndarray, *,
                         bias_fraction: float, correlation_time_s: float, extra_bias_deg: float = 0.0) -> float:
    """Standard error (degrees) of the weighted mean of one clip's angle over some steps.

    Parameters
    ----------
    sd_deg : ndarray (N,)
        Per-step error standard deviation (:meth:`AngleErrorModel.estimate_step_sd_deg`).
    weights : ndarray (N,)
        Weights of the mean (confidences).
    time_s : ndarray (N,)
        The clip's own time of each step (repeated frames repeat their time).
    bias_fraction, correlation_time_s : float
        Of the model.
    extra_bias_deg : float
        A further error constant over the clip (the systematic part against motion capture).
    """
    w = np.asarray(weights, float)
    if w.sum() <= 0:
        return float("nan")
    w = w / w.sum()
    cov = build_error_covariance(sd_deg, time_s, bias_fraction=bias_fraction,
                                 correlation_time_s=correlation_time_s)
    return float(np.sqrt(max(w @ cov @ w, 0.0) + extra_bias_deg ** 2))


@dataclasses.dataclass(frozen=True)
class ClipErrorSource:
    """What kind of measurement a clip's angles are: MediaPipe from a camera (with its view and the
    landmarker that measured it, ``meta["model"]``), or motion capture."""

    mocap: bool = False
    azimuth_deg: float | None = None
    pose_model: str | None = None

    @classmethod
    def from_clip(cls, frame: str | None, azimuth_deg: float | None, *,
                  pose_model: str | None = None) -> "ClipErrorSource":
        """``frame`` of the clip's track (``lab`` = motion capture), its camera's azimuth and its landmarker."""
        return cls(mocap=frame == "lab", azimuth_deg=azimuth_deg, pose_model=pose_model)


def estimate_step_sd_deg(joint: str, confidence: np.ndarray, source: ClipErrorSource, *,
                         model: AngleErrorModel | None = None) -> np.ndarray:
    """Per-step error standard deviation (degrees) of one clip's ``joint`` angle.

    Motion capture gets :data:`MOCAP_SD_DEG`; a camera clip the fitted model.
    """
    c = np.asarray(confidence, float)
    if source.mocap:
        return np.full(c.shape, MOCAP_SD_DEG)
    model = model or load_angle_error_model()
    return model.estimate_step_sd_deg(joint, c, azimuth_deg=source.azimuth_deg, pose_model=source.pose_model)


def summarize_phase_differences(per_step, *, reference: ClipErrorSource, attempt: ClipErrorSource,
                                model: AngleErrorModel | None = None, min_confidence: float = 0.05,
                                alpha: float = FAMILY_ALPHA, power: float = POWER):
    """Per joint and phase: the mean difference, its standard error and what it takes to report it.

    Parameters
    ----------
    per_step : DataFrame
        :attr:`lab.score.Comparison.per_step` with the columns ``reference_se_deg`` and
        ``attempt_se_deg`` (each step's error standard deviation in each clip).
    reference, attempt : ClipErrorSource
        Where each clip's angles come from.
    model : AngleErrorModel, optional
        Default :func:`load_angle_error_model`.
    min_confidence : float
        Steps below this confidence are not used.
    alpha : float
        Family-wise chance of a sentence with no real difference (Bonferroni over joints x phases).
    power : float
        Chance of reporting a real difference of ``detectable_deg``.

    Returns
    -------
    DataFrame
        One row per joint and phase: ``joint, attempt_joint, phase, steps, mean_deg, se_deg,
        reference_se_deg, attempt_se_deg, threshold_deg, detectable_deg, z, worst_time_s,
        worst_deg, start_s, stop_s`` (times on the reference clip, seconds).
    """
    import pandas as pd

    model = model or load_angle_error_model()
    n_tests = per_step["joint"].nunique() * per_step["phase"].nunique()
    z_alpha = compute_family_z(n_tests, alpha=alpha)
    z_power = compute_normal_quantile(power)
    mixed = reference.mocap != attempt.mocap
    rows = []
    for (joint, phase), g in per_step.groupby(["joint", "phase"], sort=True):
        ok = np.isfinite(g["difference_deg"].to_numpy(float)) & (g["confidence"].to_numpy(float) > min_confidence)
        row = {"joint": joint, "attempt_joint": str(g["attempt_joint"].iloc[0]), "phase": int(phase),
               "steps": int(ok.sum()), "start_s": float(g["reference_time_s"].min()),
               "stop_s": float(g["reference_time_s"].max())}
        if ok.sum() < 3:
            rows.append(row)
            continue
        g = g[ok]
        w = g["confidence"].to_numpy(float)
        d = g["difference_deg"].to_numpy(float)
        se = {}
        for clip, src in (("reference", reference), ("attempt", attempt)):
            extra = abs(model.systematic_deg.get(joint if clip == "reference" else str(g["attempt_joint"].iloc[0]),
                                                 0.0)) if (mixed and not src.mocap) else 0.0
            # motion capture errs by a constant offset (marker placement)
            tau = 1.0 if src.mocap else model.correlation_time_s
            rho = 1.0 if src.mocap else model.bias_fraction
            se[clip] = estimate_mean_se_deg(g[f"{clip}_se_deg"].to_numpy(float), w,
                                            g[f"{clip}_time_s"].to_numpy(float), bias_fraction=rho,
                                            correlation_time_s=tau, extra_bias_deg=extra)
        m = float(np.average(d, weights=w))
        se_d = float(np.hypot(se["reference"], se["attempt"]))
        same_sign = np.sign(d) == np.sign(m)
        iw = int(np.argmax(np.where(same_sign, np.abs(d) * w, -1.0)))
        row.update(mean_deg=m, se_deg=se_d, reference_se_deg=se["reference"], attempt_se_deg=se["attempt"],
                   threshold_deg=z_alpha * se_d, detectable_deg=(z_alpha + z_power) * se_d, z=m / se_d,
                   worst_time_s=float(g["reference_time_s"].iloc[iw]), worst_deg=float(d[iw]))
        rows.append(row)
    cols = ["joint", "attempt_joint", "phase", "steps", "mean_deg", "se_deg", "reference_se_deg", "attempt_se_deg",
            "threshold_deg", "detectable_deg", "z", "worst_time_s", "worst_deg", "start_s", "stop_s"]
    return pd.DataFrame(rows).reindex(columns=cols)


# ------------------------------------------------------------------ range of motion
def measure_range_of_motion(values_deg: np.ndarray, confidence: np.ndarray, *, min_confidence: float = 0.05,
                            low_pct: float = 5.0, high_pct: float = 95.0) -> float:
    """Range of motion of one angle over a clip: its 95th minus 5th percentile (degrees), NaN if unseen."""
    v = np.asarray(values_deg, float)
    ok = np.isfinite(v) & (np.asarray(confidence, float) > min_confidence)
    if ok.sum() < 3:
        return float("nan")
    lo, hi = np.percentile(v[ok], [low_pct, high_pct])
    return float(hi - lo)


def estimate_range_se_deg(sd_deg: np.ndarray, *, bias_fraction: float) -> float:
    """Standard error (degrees) of a range of motion: the difference of two independent
    draws of the part of the error that changes within a clip (the bias cancels)."""
    s = np.asarray(sd_deg, float)
    s = s[np.isfinite(s)]
    if not len(s):
        return float("nan")
    return float(np.sqrt(2.0 * (1.0 - bias_fraction)) * np.median(s))


# ------------------------------------------------------------------ fitting
def measure_angle_errors(views: dict[str, Any], truth, *, rate_hz: float = 30.0,
                         azimuths_deg: dict[str, float] | None = None, refine: bool = False):
    """Per-step joint-angle errors of camera clips against simultaneous motion-capture truth.

    Parameters
    ----------
    views : dict name -> PoseTrack
        Frame ``camera`` (MediaPipe) tracks whose frame i is the truth's frame i.
    truth : PoseTrack
        Frame ``lab`` (TRC) of the same frames.
    rate_hz : float
        Both are resampled at this rate (the comparison's time base).
    azimuths_deg : dict name -> float, optional
        Each view's camera azimuth; default estimated (:func:`lab.align.estimate_view`).
    refine : bool
        Angles from :func:`lab.lift.refine_depth` (for the before/after measurement).

    Returns
    -------
    DataFrame
        ``view, azimuth_deg, joint, time_s, error_deg, confidence, truth_deg`` (angles only).
    """
    import pandas as pd

    from lab.align import estimate_view
    from lab.features import compute_features
    from lab.lift import lift_track, refine_depth

    g = compute_features(truth, lift=True, positions=False, velocities=False)
    t_grid = np.arange(g.time_s[0], g.time_s[-1] + 1e-9, 1.0 / rate_hz)

    def at_grid(fs):
        vals = np.stack([np.interp(t_grid, fs.time_s, fs.values[:, k], left=np.nan, right=np.nan)
                         for k in range(len(fs.names))], 1)
        conf = np.stack([np.interp(t_grid, fs.time_s, fs.confidence[:, k]) for k in range(len(fs.names))], 1)
        return vals, conf

    G, _ = at_grid(g)
    rows = []
    for name, track in views.items():
        body = lift_track(track)
        az = (azimuths_deg or {}).get(name)
        if az is None:
            az = float(estimate_view(body).azimuth_deg)
        if refine:
            body = refine_depth(body)
        f = compute_features(track, body=body, positions=False, velocities=False)
        if f.names != g.names:
            raise ValueError("views and truth must give the same features")
        V, C = at_grid(f)
        for k, joint in enumerate(f.names):
            rows.append(pd.DataFrame({"view": name, "azimuth_deg": az, "joint": joint, "time_s": t_grid,
                                      "error_deg": V[:, k] - G[:, k], "confidence": C[:, k],
                                      "truth_deg": G[:, k]}))
    out = pd.concat(rows, ignore_index=True)
    return out[np.isfinite(out["error_deg"])].reset_index(drop=True)


def _series(errors):
    """Per (view, joint) arrays sorted by time."""
    out = []
    for (view, joint), g in errors.groupby(["view", "joint"], sort=True):
        g = g.sort_values("time_s")
        out.append({"view": view, "joint": joint, "t": g["time_s"].to_numpy(float),
                    "e": g["error_deg"].to_numpy(float), "c": g["confidence"].to_numpy(float),
                    "az": float(g["azimuth_deg"].iloc[0])})
    return out


def _fit_marginal(series, *, per: str, use_confidence: bool, use_view: bool) -> tuple[dict, float, float, float]:
    """Stage 1: levels, confidence slope and view slope of the per-step sd (Gaussian pseudo-likelihood)."""
    from scipy.optimize import minimize

    keys = sorted({s["joint"] if per == "joint" else classify_angle_kind(s["joint"]) for s in series})
    idx = np.concatenate([np.full(len(s["r"]), keys.index(s["joint"] if per == "joint" else classify_angle_kind(s["joint"])))
                          for s in series])
    r = np.concatenate([s["r"] for s in series])
    miss = np.concatenate([1.0 - np.clip(s["c"], 0, 1) for s in series])
    beh = np.concatenate([np.full(len(s["r"]), estimate_hidden_fraction(s["joint"], s["az"])) for s in series])

    def nll(p):
        a = p[:len(keys)]
        b = p[len(keys)] if use_confidence else 0.0
        c = p[len(keys) + 1] if use_view else 0.0
        ls = a[idx] + b * miss + c * beh
        return float(np.sum(ls + 0.5 * r ** 2 * np.exp(-2 * ls)))

    p0 = np.concatenate([np.full(len(keys), np.log(np.std(r) + 1e-6)), [0.0, 0.0]])
    res = minimize(nll, p0, method="L-BFGS-B")
    p = res.x
    return ({k: float(p[i]) for i, k in enumerate(keys)}, float(p[len(keys)]) if use_confidence else 0.0,
            float(p[len(keys) + 1]) if use_view else 0.0, float(np.mean(p[:len(keys)])))


def _series_loglik(z: np.ndarray, t: np.ndarray, *, scale2: float, rho: float, tau: float) -> float:
    cov = scale2 * build_error_covariance(np.ones(len(z)), t, bias_fraction=rho, correlation_time_s=tau)
    cov[np.diag_indices_from(cov)] += 1e-9
    L = np.linalg.cholesky(cov)
    y = np.linalg.solve(L, z)
    return float(-0.5 * (y @ y) - np.log(np.diag(L)).sum() - 0.5 * len(z) * np.log(2 * np.pi))


def fit_angle_error_model(errors, *, per: str = "kind", use_confidence: bool = True,
                          use_view: bool = True, tail_quantile: float | None = 0.99,
                          n_phases: int = 4) -> AngleErrorModel:
    """Fit :class:`AngleErrorModel` to per-step errors (:func:`measure_angle_errors`).

    ``systematic_deg`` is each joint's mean error over the views; the clip
    biases around it are re-inflated by k / (k - 1) (k views) so that they are
    not under-estimated for having been measured from the same views. Stage 1
    fits the per-step standard deviation (levels ``per`` kind or joint,
    confidence and view slopes); stage 2 the bias fraction, the AR(1)
    correlation time and an overall scale, by maximum likelihood over each
    clip's standardised error series. With ``tail_quantile``, the scale is
    then raised (never lowered) until that quantile of the phase means' |z|
    (``n_phases`` per clip) is the normal distribution's: errors with heavier
    tails than a normal must not turn into sentences when many joints and
    phases are tested at once.
    """
    views = sorted(errors["view"].unique())
    k = len(views)
    if k < 2:
        raise ValueError("fitting needs at least two views")
    series = _series(errors)
    systematic = {}
    for joint in sorted({s["joint"] for s in series}):
        systematic[joint] = float(np.mean([s["e"].mean() for s in series if s["joint"] == joint]))
    infl = math.sqrt(k / (k - 1))
    for s in series:
        r = s["e"] - systematic[s["joint"]]
        m = r.mean()
        s["r"] = (r - m) + m * infl
    levels, slope, view_slope, default = _fit_marginal(series, per=per, use_confidence=use_confidence,
                                                       use_view=use_view)
    partial = AngleErrorModel(levels=levels, default_level=default, confidence_slope=slope,
                              view_slope=view_slope, scale=1.0, bias_fraction=0.0, correlation_time_s=0.1,
                              systematic_deg=systematic)
    # series on the same time steps share their correlation matrix: one factorisation per time base
    bases: dict[bytes, tuple[np.ndarray, list[np.ndarray]]] = {}
    for s in series:
        z = s["r"] / partial.estimate_step_sd_deg(s["joint"], s["c"], azimuth_deg=s["az"])
        bases.setdefault(s["t"].tobytes(), (s["t"], []))[1].append(z)
    best = None
    for rho in np.arange(0.0, 0.95, 0.1):
        for tau in np.geomspace(0.05, 2.5, 18):
            # scale^2 in closed form: mean of z' C^-1 z / n over all steps
            q, n, logdet = 0.0, 0, 0.0
            for t, zs in bases.values():
                cov = build_error_covariance(np.ones(len(t)), t, bias_fraction=rho, correlation_time_s=tau)
                cov[np.diag_indices_from(cov)] += 1e-9
                L = np.linalg.cholesky(cov)
                y = np.linalg.solve(L, np.stack(zs, 1))
                q += float(np.sum(y * y))
                n += y.size
                logdet += 2 * np.log(np.diag(L)).sum() * len(zs)
            s2 = q / n
            ll = -0.5 * (n * np.log(s2) + logdet + n)
            if best is None or ll > best[0]:
                best = (ll, float(rho), float(tau), float(s2))
    _, rho, tau, s2 = best
    model = dataclasses.replace(partial, scale=float(np.sqrt(s2)), bias_fraction=round(float(rho), 3),
                                correlation_time_s=float(tau))
    if tail_quantile is not None:
        zs = []
        for s in series:
            sd = model.estimate_step_sd_deg(s["joint"], s["c"], azimuth_deg=s["az"])
            cov = build_error_covariance(sd, s["t"], bias_fraction=model.bias_fraction,
                                         correlation_time_s=model.correlation_time_s)
            edges = np.linspace(s["t"][0], s["t"][-1] + 1e-9, n_phases + 1)
            for a, b in zip(edges[:-1], edges[1:]):
                sel = (s["t"] >= a) & (s["t"] < b)
                if sel.sum() >= 3:
                    w = np.full(sel.sum(), 1.0 / sel.sum())
                    zs.append(float(w @ s["r"][sel]) / float(np.sqrt(w @ cov[np.ix_(sel, sel)] @ w)))
        factor = float(np.quantile(np.abs(zs), tail_quantile)) / compute_normal_quantile(0.5 + tail_quantile / 2)
        model = dataclasses.replace(model, scale=model.scale * max(1.0, factor))
    return model


def cross_validate_angle_model(errors, *, per: str = "kind", use_confidence: bool = True,
                               use_view: bool = True, n_phases: int = 4):
    """Leave-one-view-out: each view's errors against a model fitted on the other views.

    Returns
    -------
    DataFrame
        One row per held-out view and joint: ``predicted_se_deg`` (the model's
        standard error of one phase mean, median over phases), ``observed_rms_deg``
        (RMS over phases of the phase-mean error around the training views'
        systematic part), ``loglik`` (the held-out series under the model),
        ``z_rms`` and ``covered_95`` (share of phase means within 1.96 standard errors).
    """
    import pandas as pd

    rows = []
    for view in sorted(errors["view"].unique()):
        train = errors[errors["view"] != view]
        k = train["view"].nunique()
        model = fit_angle_error_model(train, per=per, use_confidence=use_confidence, use_view=use_view)
        for s in _series(errors[errors["view"] == view]):
            sd = model.estimate_step_sd_deg(s["joint"], s["c"], azimuth_deg=s["az"])
            r = s["e"] - model.systematic_deg[s["joint"]]
            # the training views' mean is itself uncertain: its bias variance adds rho sd^2 / k
            rho_eff = model.bias_fraction
            cov = build_error_covariance(sd, s["t"], bias_fraction=rho_eff,
                                         correlation_time_s=model.correlation_time_s)
            cov += np.outer(sd, sd) * rho_eff / k
            cov[np.diag_indices_from(cov)] += 1e-9
            L = np.linalg.cholesky(cov)
            y = np.linalg.solve(L, r)
            ll = float(-0.5 * (y @ y) - np.log(np.diag(L)).sum() - 0.5 * len(r) * np.log(2 * np.pi))
            edges = np.linspace(s["t"][0], s["t"][-1] + 1e-9, n_phases + 1)
            zs, ses, means = [], [], []
            for p in range(n_phases):
                sel = (s["t"] >= edges[p]) & (s["t"] < edges[p + 1])
                if sel.sum() < 3:
                    continue
                w = s["c"][sel] / max(s["c"][sel].sum(), 1e-9) if s["c"][sel].sum() > 0 else None
                w = np.full(sel.sum(), 1.0 / sel.sum()) if w is None else w
                c = cov[np.ix_(sel, sel)]
                se = float(np.sqrt(w @ c @ w))
                m = float(w @ r[sel])
                zs.append(m / se)
                ses.append(se)
                means.append(m)
            rows.append({"view": view, "joint": s["joint"], "predicted_se_deg": float(np.median(ses)),
                         "observed_rms_deg": float(np.sqrt(np.mean(np.square(means)))), "loglik": ll,
                         "z_rms": float(np.sqrt(np.mean(np.square(zs)))),
                         "covered_95": float(np.mean(np.abs(zs) < 1.96)), "mean_confidence": float(s["c"].mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ landmark noise
#: Landmark groups of the synthetic noise model (:mod:`lab.score.detectability`).
LANDMARK_GROUPS: dict[str, tuple[str, ...]] = {
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "elbow_knee": ("left_elbow", "right_elbow", "left_knee", "right_knee"),
    "wrist_ankle": ("left_wrist", "right_wrist", "left_ankle", "right_ankle"),
    "foot": ("left_heel", "right_heel", "left_foot_index", "right_foot_index"),
    "head": ("nose",),
}

#: Kinematic links of the synthetic noise: child -> parent. A child's error is correlated with its
#: parent's as measured (MediaPipe misplaces a limb as a whole, not landmark by landmark).
NOISE_LINKS: dict[str, str] = {
    **{f"{s}_elbow": f"{s}_shoulder" for s in ("left", "right")},
    **{f"{s}_wrist": f"{s}_elbow" for s in ("left", "right")},
    **{f"{s}_knee": f"{s}_hip" for s in ("left", "right")},
    **{f"{s}_ankle": f"{s}_knee" for s in ("left", "right")},
    **{f"{s}_heel": f"{s}_ankle" for s in ("left", "right")},
    **{f"{s}_foot_index": f"{s}_ankle" for s in ("left", "right")},
}


def measure_landmark_noise(views: dict[str, Any], truth, cameras: dict[str, Any]) -> dict[str, Any]:
    """MediaPipe's world-landmark errors against the truth, as a bias + AR(1) model per landmark group.

    Each view's raw track (front/back flips repaired as :func:`lab.lift.lift_track`
    finds them) is compared with the truth in that camera's axes, both
    hip-centred, after one similarity transform per clip (MediaPipe's own
    rotation and scale are not errors of the angles). Per group and camera
    axis (x, y across the image, z along the line of sight): the standard
    deviation over views and landmarks of the clip-mean error (``bias_m``) and
    of what remains (``ar_m``); per kinematic link (:data:`NOISE_LINKS`) the
    correlation of a child's error with its parent's (``links``); the
    correlation time of the raw errors (``raw_correlation_time_s``, from the
    autocorrelation at 0.1 s); the 2D error over the person's height in the
    image; the mean visibility of limbs on the near and far side of the body.

    Returns
    -------
    dict
        ``{"groups": {group: {"bias_m": [x, y, z], "ar_m": [x, y, z]}}, "links": {child: r},
        "raw_correlation_time_s", "image_bias_rel", "image_ar_rel", "near_side_visibility",
        "far_side_visibility"}``.
    """
    from lab.align.calibration import y_up_to_z_up
    from lab.align.evaluate import truth_as_camera_track
    from lab.lift import flip_repaired, lift_track

    per_group: dict[str, dict[str, list]] = {g: {"bias": [], "ar": []} for g in LANDMARK_GROUPS}
    acf_num, acf_den = [], []
    link_r: dict[str, list[float]] = {c: [] for c in NOISE_LINKS}
    img_bias, img_ar = [], []
    near_vis, far_vis = [], []
    dt = None
    for name, track in views.items():
        flips = lift_track(track).meta["lift"].get("flipped_frames") or []
        raw = flip_repaired(track, np.asarray(flips, int)) if len(flips) else track
        cam_truth = truth_as_camera_track(truth, cameras[name])
        kps = [k for g in LANDMARK_GROUPS.values() for k in g if k in truth.keypoints]
        A = np.stack([raw.world_m[:, raw.index(k)] for k in kps], 1)
        B = np.stack([cam_truth.world_m[:, cam_truth.index(k)] for k in kps], 1)
        ok = np.isfinite(A).all(-1) & np.isfinite(B).all(-1)
        a, b = A[ok], B[ok]
        U, S, Vt = np.linalg.svd(a.T @ b)
        d = np.sign(np.linalg.det(Vt.T @ U.T))
        R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
        s = float(np.sum(S * np.array([1.0, 1.0, d])) / np.sum(a * a))
        E = s * A @ R.T - B
        dt = float(np.median(np.diff(track.time_s)))
        for child, parent in NOISE_LINKS.items():
            if child in kps and parent in kps:
                x, y = E[:, kps.index(child)], E[:, kps.index(parent)]
                fin = np.isfinite(x).all(-1) & np.isfinite(y).all(-1)
                if fin.sum() >= 20:
                    link_r[child] += [float(np.corrcoef(x[fin, a], y[fin, a])[0, 1]) for a in range(3)]
        for k, kp in enumerate(kps):
            group = next(g for g, members in LANDMARK_GROUPS.items() if kp in members)
            e = E[:, k]
            fin = np.isfinite(e).all(-1)
            if fin.sum() < 20:
                continue
            e = e[fin]
            m = e.mean(0)
            r = e - m
            per_group[group]["bias"].append(m)
            per_group[group]["ar"].append(r.std(0))
            lag = max(1, int(round(0.1 / dt)))
            acf_num.append(np.sum(r[:-lag] * r[lag:]))
            acf_den.append(np.sum(r * r))
        # 2D: pixels relative to the person's height in the image
        proj = cameras[name].project(y_up_to_z_up(truth.world_m))
        ki = [truth.index(k) for k in kps]
        e2 = np.stack([raw.image_px[:, raw.index(k)] for k in kps], 1) - proj[:, ki]
        height = np.nanmedian(np.nanmax(proj[:, ki, 1], 1) - np.nanmin(proj[:, ki, 1], 1))
        m2 = np.nanmean(e2, 0)
        img_bias.append(np.sqrt(np.nanmean(m2 ** 2)) / height)
        img_ar.append(np.sqrt(np.nanmean((e2 - m2) ** 2)) / height)
        # visibility of a side turned away from the camera (near side: the other)
        W = cam_truth.world_m
        left = W[:, truth.index("left_hip")] - W[:, truth.index("right_hip")]
        away = np.nanmedian(left[:, 2] / np.linalg.norm(left, axis=-1))   # > 0: the left side is farther
        for side in ("left", "right"):
            vis = np.nanmean([np.nanmean(track.visibility[:, track.index(f"{side}_{p}")])
                              for p in ("elbow", "wrist", "knee", "ankle")])
            far = (away > 0.3) if side == "left" else (away < -0.3)
            (far_vis if far else near_vis).append(float(vis))
    rho1 = float(np.sum(acf_num) / np.sum(acf_den))
    tau = float(-0.1 / np.log(min(max(rho1, 1e-3), 0.999)))
    groups = {g: {"bias_m": np.round(np.sqrt(np.mean(np.square(v["bias"]), 0)), 4).tolist(),
                  "ar_m": np.round(np.sqrt(np.mean(np.square(v["ar"]), 0)), 4).tolist()}
              for g, v in per_group.items() if v["bias"]}
    return {"groups": groups, "links": {c: round(float(np.mean(v)), 3) for c, v in link_r.items() if v},
            "raw_correlation_time_s": round(tau, 4),
            "image_bias_rel": round(float(np.mean(img_bias)), 4), "image_ar_rel": round(float(np.mean(img_ar)), 4),
            "near_side_visibility": round(float(np.mean(near_vis)), 3) if near_vis else 0.95,
            "far_side_visibility": round(float(np.mean(far_vis)), 3) if far_vis else 0.6}


#: Landmarks outside :data:`LANDMARK_GROUPS` move with this one's noise (hands with the wrist, face with the nose).
NOISE_ANCHORS: dict[str, str] = {
    **{k: "nose" for k in ("left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                           "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")},
    **{f"{s}_{p}": f"{s}_wrist" for s in ("left", "right") for p in ("pinky", "index", "thumb")},
}


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], *, n_frames: int, dt_s: float,
         correlation_time_s: float) -> np.ndarray:
    """Unit-variance AR(1) noise (n_frames, *shape) with the given correlation time."""
    phi = float(np.exp(-dt_s / max(correlation_time_s, 1e-6)))
    out = np.empty((n_frames,) + shape)
    out[0] = rng.standard_normal(shape)
    innov = rng.standard_normal((n_frames,) + shape) * np.sqrt(1 - phi ** 2)
    for i in range(1, n_frames):
        out[i] = phi * out[i - 1] + innov[i]
    return out


def _pose_locked_ar1(pose_time_s, *, share: float, n_frames: int, dt_s: float, correlation_time_s: float,
                     seed: int):
    """``draw(*shape) -> (n_frames, *shape)`` unit-variance AR(1) noise along ``pose_time_s`` (frames showing
    one pose get one value), from its own random stream; None when ``share`` is 0 or no pose times are given."""
    if not 0 <= share <= 1:
        raise ValueError(f"pose_locked_share must be within [0, 1], got {share}")
    if pose_time_s is None or share == 0:
        return None
    pose_t = np.asarray(pose_time_s, float)
    if pose_t.shape != (n_frames,) or not np.isfinite(pose_t).all() or (pose_t < 0).any():
        raise ValueError(f"pose_time_s must hold one finite time >= 0 per frame ({n_frames})")
    index = np.rint(pose_t / dt_s).astype(int)
    rng = np.random.default_rng([seed, 1])

    def draw(*shape: int) -> np.ndarray:
        return _ar1(rng, shape, n_frames=int(index.max()) + 1, dt_s=dt_s, correlation_time_s=correlation_time_s)[index]
    return draw


def film_like_mediapipe(track: PoseTrack, *, azimuth_deg: float, elevation_deg: float = 10.0,
                        distance_m: float = 4.5, seed: int = 0, noise_scale: float | None = None,
                        noise: dict[str, Any] | None = None, travel: bool = False,
                        pose_time_s: np.ndarray | None = None, pose_locked_share: float = 0.0) -> PoseTrack:
    """What MediaPipe might report for a camera filming a motion-capture track.

    Parameters
    ----------
    track : PoseTrack
        Frame ``lab`` (mocap).
    azimuth_deg, elevation_deg, distance_m : float
        The camera (:mod:`lab.align.view` conventions; 0 = in front of the
        subject's clip-median facing).
    seed : int
        Of the noise.
    noise_scale : float, optional
        Factor on every noise standard deviation; default the model's
        ``distance_matched_scale``, with which synthetic views of the Pose2Sim
        TRC are as far apart (comparison distance) as MediaPipe's views of it
        (:func:`match_noise_scale_to_distance`).
    noise : dict, optional
        The landmark noise model (default :func:`load_landmark_noise`).
    travel : bool
        Film the subject travelling, from a camera standing still
        (:func:`lab.align.synthetic.simulate_camera_track`); by default the
        subject is pinned at the hips.
    pose_time_s : ndarray, optional
        (T,) for each frame, the time in the source motion whose pose it shows
        (:attr:`lab.reps.synthetic.RepeatedClip.pose_time_s`: a repeated
        motion shows the same poses again). With ``pose_locked_share`` > 0,
        that share of the AR(1) noise's variance is a function of this pose
        time (AR(1) along it), so that a pose filmed again by the same camera
        errs again as it did; the rest wanders with the clip's time.
    pose_locked_share : float
        In [0, 1]; 0 (default): every error wanders with the clip's time.

    Returns
    -------
    PoseTrack
        Frame ``camera`` (:func:`lab.align.synthetic.simulate_camera_track`, the
        subject hip-pinned unless ``travel``), with per landmark group and camera axis a clip
        constant bias plus AR(1) noise on the 3D, the same on the pixels
        (relative to the person's height in the image), and MediaPipe's
        visibility: lower for the side of the body turned away from the camera.
        Down each limb (:data:`NOISE_LINKS`) a landmark's noise is correlated
        with its parent's as measured; hands and face move with the wrist and nose.
    """
    from lab.align.synthetic import simulate_camera_track
    from lab.lift import lift_mocap

    if track.frame != "lab":
        raise ValueError("film_like_mediapipe expects a mocap track (frame 'lab')")
    nm = noise if noise is not None else load_landmark_noise()
    if not nm:
        raise ValueError("no landmark noise model (lab/score/uncertainty.json)")
    if noise_scale is None:
        noise_scale = float(nm.get("distance_matched_scale", 1.0))
    body = lift_mocap(track, enforce_bones=False)
    cam = simulate_camera_track(body, azimuth_deg=azimuth_deg, elevation_deg=elevation_deg, distance_m=distance_m,
                                travel=travel)
    rng = np.random.default_rng(seed)
    T, K = cam.n_frames, len(cam.keypoints)
    dt = float(np.median(np.diff(cam.time_s))) if T > 1 else 1 / 30
    tau = float(nm["correlation_time_s"])
    group_of = {k: g for g, members in LANDMARK_GROUPS.items() for k in members}
    bias_sd = np.zeros((K, 3))
    ar_sd = np.zeros((K, 3))
    for i, kp in enumerate(cam.keypoints):
        g = group_of.get(kp) or group_of.get(NOISE_ANCHORS.get(kp, ""), "torso")
        bias_sd[i] = nm["groups"][g]["bias_m"]
        ar_sd[i] = nm["groups"][g]["ar_m"]
    Zb = rng.standard_normal((K, 3))
    Za = _ar1(rng, (K, 3), n_frames=T, dt_s=dt, correlation_time_s=tau)
    locked = _pose_locked_ar1(pose_time_s, share=pose_locked_share, n_frames=T, dt_s=dt, correlation_time_s=tau,
                              seed=seed)
    if locked is not None:
        Za = np.sqrt(1 - pose_locked_share) * Za + np.sqrt(pose_locked_share) * locked(K, 3)
    # down each limb, a child's unit noise leans on its parent's by the measured correlation
    for child, parent in NOISE_LINKS.items():
        r = float(nm.get("links", {}).get(child, 0.0))
        if child in cam.keypoints and parent in cam.keypoints and r > 0:
            c, q = cam.index(child), cam.index(parent)
            Zb[c] = r * Zb[q] + np.sqrt(1 - r ** 2) * Zb[c]
            Za[:, c] = r * Za[:, q] + np.sqrt(1 - r ** 2) * Za[:, c]
    E = (Zb * bias_sd)[None] + Za * ar_sd[None]
    for kp, anchor in NOISE_ANCHORS.items():   # hands and face move with their anchor
        E[:, cam.index(kp)] = E[:, cam.index(anchor)]
    world = cam.world_m + noise_scale * E
    img = cam.image_px
    ys = img[..., 1]
    height = float(np.nanmedian(np.nanmax(ys, 1) - np.nanmin(ys, 1))) if np.isfinite(ys).any() else 1000.0
    A2 = _ar1(rng, (K, 2), n_frames=T, dt_s=dt, correlation_time_s=tau)
    if locked is not None:
        A2 = np.sqrt(1 - pose_locked_share) * A2 + np.sqrt(pose_locked_share) * locked(K, 2)
    E2 = (rng.standard_normal((K, 2)) * nm["image_bias_rel"])[None] + A2 * nm["image_ar_rel"]
    img = img + noise_scale * height * E2
    # visibility: the side of the body turned away from the camera is seen less
    lh, rh = cam.world_m[:, cam.index("left_hip")], cam.world_m[:, cam.index("right_hip")]
    lr = lh - rh
    away = np.clip(lr[:, 2] / np.maximum(np.linalg.norm(lr, axis=-1), 1e-9), -1, 1)   # > 0: left side farther
    near, far = float(nm.get("near_side_visibility", 0.95)), float(nm.get("far_side_visibility", 0.75))
    vis = np.full((T, K), near)
    for i, kp in enumerate(cam.keypoints):
        if kp.startswith("left_"):
            vis[:, i] = near + (far - near) * np.clip(away, 0, 1)
        elif kp.startswith("right_"):
            vis[:, i] = near + (far - near) * np.clip(-away, 0, 1)
    ok = np.isfinite(world).all(-1)
    vis = np.where(ok, vis, 0.0)
    meta = {**cam.meta, "source": f"{track.meta.get('source', 'mocap')}@az{azimuth_deg:g}",
            "synthetic_noise": {"seed": seed, "noise_scale": noise_scale}}
    return cam.replace(world_m=np.where(ok[..., None], world, np.nan), image_px=np.where(ok[..., None], img, np.nan),
                       visibility=vis, presence=vis.copy(), meta=meta)


def match_noise_scale(truth: PoseTrack, angle_model: AngleErrorModel, noise: dict[str, Any], *,
                      azimuths_deg: tuple[float, ...] = (-45.0, 0.0, 125.0, -160.0), seeds: int = 3) -> float:
    """Factor on the landmark noise so that synthetic views of ``truth`` err in their joint angles as
    MediaPipe's do: the median over joint kinds of (MediaPipe's fitted sd / the synthetic views' fitted sd),
    from synthetic views at the Pose2Sim cameras' azimuths with noise as measured (factor 1).

    Independent per-landmark noise bends the angles more than MediaPipe's, whose
    errors move whole limbs together, so the measured landmark noise alone would
    overstate the angle errors.
    """
    views = {f"az{az:g}#{k}": film_like_mediapipe(truth, azimuth_deg=az, seed=1000 + 10 * i + k, noise_scale=1.0,
                                                  noise=noise)
             for i, az in enumerate(azimuths_deg) for k in range(seeds)}
    errors = measure_angle_errors(views, truth, azimuths_deg={n: 0.0 for n in views})
    synthetic = fit_angle_error_model(errors, use_view=False)
    ratios = [np.exp(angle_model.levels[k]) * angle_model.scale / (np.exp(synthetic.find_level(k)) * synthetic.scale)
              for k in angle_model.levels]
    return float(np.median(ratios))


def match_noise_scale_to_distance(truth: PoseTrack, views: dict[str, PoseTrack], noise: dict[str, Any], *,
                                  azimuths_deg: tuple[float, ...] = (-45.0, 0.0, 125.0, -160.0), seeds: int = 2,
                                  iterations: int = 2) -> float:
    """Factor on the landmark noise so that synthetic views of ``truth`` at the Pose2Sim cameras' azimuths
    are as far apart as MediaPipe's ``views`` of it: the median, over the cross-view pairs, of the
    comparison's distance at one tempo without mirroring (noise-weighted features at 30 Hz,
    :func:`lab.dtw.dtw_align` with open ends and a 0.3 s band), two rounds of rescaling."""
    import itertools

    from lab.dtw import dtw_align
    from lab.features import compute_features, resample_features
    from lab.features.scale import scale_features

    def distance(a, b):
        x, w = scale_features(resample_features(a, rate_hz=30.0))
        y, _ = scale_features(resample_features(b, rate_hz=30.0))
        ca = resample_features(a, rate_hz=30.0).confidence
        cb = resample_features(b, rate_hz=30.0).confidence
        return dtw_align(x, y, conf_x=ca, conf_y=cb, feature_weights=w, window=9, open_begin=True,
                         open_end=True).distance

    real = [compute_features(v) for v in views.values()]
    target = float(np.median([distance(a, b) for a, b in itertools.combinations(real, 2)]))
    scale = 1.0
    for _ in range(iterations):
        syn = [(i, compute_features(film_like_mediapipe(truth, azimuth_deg=az, seed=2000 + 10 * i + k,
                                                        noise_scale=scale, noise=noise)))
               for i, az in enumerate(azimuths_deg) for k in range(seeds)]
        got = float(np.median([distance(a, b) for (i, a), (j, b) in itertools.combinations(syn, 2) if i != j]))
        scale *= target / got
    return float(scale)


# ------------------------------------------------------------------ regeneration
def load_pose2sim_ground_truth():
    """(views, truth, cameras) of the Pose2Sim sample: MediaPipe tracks cam01..04, the TRC, the calibration."""
    from lab.align.calibration import read_qca
    from lab.pose.extract import extract_pose_cached
    from lab.pose.mocap import read_trc
    from lab.samples import ensure_samples, project_root, sample_path

    root = project_root() or Path.cwd()
    trc = root / ".." / "shared" / "data" / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc"
    if not trc.exists():
        raise FileNotFoundError(f"needs {trc} (../shared beside the checkout)")
    ensure_samples()
    views = {f"cam0{i}": extract_pose_cached(sample_path(f"pose2sim/cam0{i}.mp4"), progress=False)
             for i in range(1, 5)}
    return views, read_trc(trc), read_qca(sample_path("pose2sim/Calib.qca.txt"))


def measure_pose_model_scales(model: AngleErrorModel, *, pose_models: tuple[str, ...] = ("full", "lite", "heavy"),
                              truth: PoseTrack | None = None) -> dict[str, dict[str, Any]]:
    """How much more (or less) each MediaPipe landmarker's angles err than ``model`` says.

    The four Pose2Sim views are extracted with each landmarker (``lab extract --model``) and their
    angle errors against the TRC (:func:`measure_angle_errors`) whitened by ``model``'s covariance,
    per view and joint (its systematic part removed); the maximum-likelihood factor on its standard
    deviation is the RMS of the whitened errors.

    Parameters
    ----------
    model : AngleErrorModel
    pose_models : tuple of str
        Landmarkers (``lite``, ``full``, ``heavy``).
    truth : PoseTrack, optional
        The TRC (:func:`load_pose2sim_ground_truth`), if already loaded.

    Returns
    -------
    dict
        ``meta["model"]`` of the landmarker's tracks (e.g. ``pose_landmarker_lite``) ->
        ``{"scale": factor over the four views, "per_view": {view: factor}}``.
    """
    from lab.pose.extract import extract_pose_cached
    from lab.samples import sample_path

    if truth is None:
        _, truth, _ = load_pose2sim_ground_truth()
    out = {}
    for name in pose_models:
        tracks = {f"cam0{i}": extract_pose_cached(sample_path(f"pose2sim/cam0{i}.mp4"), model=name, progress=False)
                  for i in range(1, 5)}
        sums: dict[str, list[float]] = {}
        for s in _series(measure_angle_errors(tracks, truth)):
            sd = model.estimate_step_sd_deg(s["joint"], s["c"], azimuth_deg=s["az"])
            cov = build_error_covariance(sd, s["t"], bias_fraction=model.bias_fraction,
                                         correlation_time_s=model.correlation_time_s)
            cov[np.diag_indices_from(cov)] += 1e-9
            y = np.linalg.solve(np.linalg.cholesky(cov), s["e"] - model.systematic_deg.get(s["joint"], 0.0))
            acc = sums.setdefault(s["view"], [0.0, 0.0])
            acc[0] += float(y @ y)
            acc[1] += len(y)
        key = str(tracks["cam01"].meta.get("model", name))
        out[key] = {"scale": round(math.sqrt(sum(a for a, _ in sums.values()) / sum(n for _, n in sums.values())), 3),
                    "per_view": {v: round(math.sqrt(a / n), 3) for v, (a, n) in sorted(sums.items())}}
    return out


def compare_model_choices(errors):
    """Held-out log-likelihood and calibration of the candidate models (leave one view out)."""
    import pandas as pd

    rows = []
    for per in ("kind", "joint"):
        for conf in (False, True):
            for view in (False, True):
                cv = cross_validate_angle_model(errors, per=per, use_confidence=conf, use_view=view)
                rows.append({"levels_per": per, "confidence": conf, "view": view,
                             "heldout_loglik": round(float(cv["loglik"].sum()), 1),
                             "z_rms": round(float(np.sqrt(np.mean(cv["z_rms"] ** 2))), 3),
                             "covered_95": round(float(cv["covered_95"].mean()), 3)})
    return pd.DataFrame(rows)


def _scales_to_apply(pose_models: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The factors :attr:`AngleErrorModel.pose_model_scales` applies: each landmarker's measured one, but
    for the landmarker the model was fitted on (``pose_landmarker_full``, whose figure only checks the fit)."""
    return {k: v["scale"] for k, v in pose_models.items() if k != "pose_landmarker_full"}


def update_pose_model_scales(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Measure :func:`measure_pose_model_scales` against the shipped model and write only them into
    ``uncertainty.json`` (``angles.pose_models``, ``angles.model.pose_model_scales``); the rest of the
    file is left as it is. Returns the measurement."""
    from lab.io import write_bytes_atomic

    path = path or UNCERTAINTY_FILE
    table = json.loads(path.read_text())
    model = AngleErrorModel.from_dict(table["angles"]["model"])
    measured = measure_pose_model_scales(model)  # its errors against the model itself: no factor applied
    table["angles"]["pose_models"] = measured
    table["angles"]["model"]["pose_model_scales"] = _scales_to_apply(measured)
    write_bytes_atomic(path, (json.dumps(table, indent=1) + "\n").encode())
    _table_text.cache_clear()
    return measured


def write_uncertainty_file(path: Path | None = None, *, choose: bool = True) -> dict[str, Any]:
    """Fit everything on the Pose2Sim ground truth and write ``uncertainty.json``; return its content."""
    from lab.io import write_bytes_atomic

    views, truth, cameras = load_pose2sim_ground_truth()
    errors = measure_angle_errors(views, truth)
    options = {"per": "kind", "use_confidence": True, "use_view": True}
    choices = None
    if choose:
        # the confidence must be in the model: it is what says a joint cannot be judged from a camera
        choices = compare_model_choices(errors)
        best = choices[choices["confidence"]].sort_values("heldout_loglik", ascending=False).iloc[0]
        options = {"per": best["levels_per"], "use_confidence": bool(best["confidence"]),
                   "use_view": bool(best["view"])}
    model = fit_angle_error_model(errors, **options)
    pose_models = measure_pose_model_scales(model, truth=truth)
    model = dataclasses.replace(model, pose_model_scales=_scales_to_apply(pose_models))
    cv = cross_validate_angle_model(errors, **options)
    landmarks = measure_landmark_noise(views, truth, cameras)
    # the lift filters the raw jitter out: synthetic errors change as slowly as MediaPipe's angle errors do
    landmarks["correlation_time_s"] = round(model.correlation_time_s, 4)
    landmarks["angle_matched_scale"] = round(match_noise_scale(truth, model, landmarks), 3)
    landmarks["distance_matched_scale"] = round(match_noise_scale_to_distance(truth, views, landmarks), 3)
    per_joint = cv.groupby("joint").agg(predicted_se_deg=("predicted_se_deg", "median"),
                                        observed_rms_deg=("observed_rms_deg", lambda x: float(np.sqrt(np.mean(x ** 2)))),
                                        covered_95=("covered_95", "mean")).round(2)
    out = {
        "provenance": "lab.score.uncertainty.write_uncertainty_file: Pose2Sim cam01-04 (MediaPipe full, lab.lift) "
                      "against S00_P00_T01_BalancingTrial TRC, every frame at 30 Hz; model chosen by "
                      "leave-one-view-out log-likelihood among those using the confidence",
        "command": "python -m lab.score.uncertainty",
        "angles": {
            "options": options,
            "model": {k: (round(v, 4) if isinstance(v, float) else
                          {kk: round(vv, 4) for kk, vv in v.items()} if isinstance(v, dict) else v)
                      for k, v in model.to_dict().items()},
            "model_choices": None if choices is None else choices.to_dict("records"),
            "pose_models": pose_models,
            "cross_validation": {
                "per_view_joint": cv.round(3).to_dict("records"),
                "per_joint": {j: r for j, r in per_joint.to_dict("index").items()},
            },
        },
        "landmarks": landmarks,
    }
    write_bytes_atomic(path or UNCERTAINTY_FILE, (json.dumps(out, indent=1) + "\n").encode())
    _table_text.cache_clear()
    return out


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - regeneration script
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lab.score.uncertainty",
                                     description="Fit the joint-angle error model and the landmark noise model on "
                                                 "the Pose2Sim ground truth; write lab/score/uncertainty.json.")
    parser.add_argument("--pose-models-only", action="store_true",
                        help="only measure how much each landmarker (lite, full, heavy) errs against the shipped "
                             "model, and write that into the file")
    args = parser.parse_args(argv)
    if args.pose_models_only:
        print(json.dumps(update_pose_model_scales(), indent=1))
        return
    out = write_uncertainty_file()
    print(UNCERTAINTY_FILE)
    print(json.dumps({"options": out["angles"]["options"], "model": out["angles"]["model"],
                      "per_joint": out["angles"]["cross_validation"]["per_joint"],
                      "landmarks": out["landmarks"]}, indent=1))


if __name__ == "__main__":  # pragma: no cover
    _main()
