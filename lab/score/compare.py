"""Compare a reference movement (the coach) with an attempt (the player): score, verdict, feedback.

Pipeline of :func:`compare_tracks`: view-invariant features of each track
(:mod:`lab.features`), both resampled to ``rate_hz``, confidence-weighted DTW
with open begin/end and a Sakoe-Chiba band of ``window_s`` (:mod:`lab.dtw`),
optionally against the left/right mirror image of the attempt; the distance is
the RMS feature difference along the path in degree-equivalents (angles in
degrees; positions scaled so that 1 torso length = ``POSITION_DEG_PER_TORSO``
degrees; velocities scaled by ``VELOCITY_S`` seconds).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lab.features import ANGLE_WORDS, FeatureSet, compute_features, mirror_features, resample_features
from lab.features.scale import KIND_WEIGHTS, POSITION_DEG_PER_TORSO, VELOCITY_S, scale_features
from lab.pose.sides import swap_side
from lab.pose.track import PoseTrack

__all__ = ["POSITION_DEG_PER_TORSO", "VELOCITY_S", "KIND_WEIGHTS", "scale_features"]

THRESHOLD_FILE = Path(__file__).with_name("threshold.json")
#: Used only when threshold.json is missing (see :func:`default_threshold`).
FALLBACK_THRESHOLD = 20.0


def default_threshold() -> tuple[float, str]:
    """The shipped same/different threshold (distance, degree-equivalents) and its provenance."""
    try:
        data = json.loads(THRESHOLD_FILE.read_text())
        return float(data["threshold"]), f"{THRESHOLD_FILE.name}: {data.get('provenance', '')}"
    except (OSError, KeyError, ValueError):
        return FALLBACK_THRESHOLD, "built-in fallback (threshold.json missing)"


def score_from_distance(distance: float, *, threshold: float) -> float:
    """Similarity 0-100 from a distance: 100 at 0, 50 at the threshold, ->0 far away.

    ``score = 100 * 2 ** (-(distance / threshold) ** 2)``: above 50 means "same".
    """
    if not np.isfinite(distance):
        return 0.0
    return float(100.0 * 2.0 ** (-(distance / threshold) ** 2))


def _round(x: Any, digits: int = 3) -> float | None:
    """A JSON number: rounded, or None for a missing / non-finite value."""
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


@dataclasses.dataclass(frozen=True)
class ViewInfo:
    """Where one clip's camera stood (see :class:`lab.align.ViewEstimate`), as reported.

    ``distance_m`` and ``ambiguous`` are None when no view was estimated (a pose
    file without image points, motion capture); ``error`` says why it failed.
    """

    azimuth_deg: float | None = None
    elevation_deg: float | None = None
    distance_m: float | None = None
    ambiguous: bool | None = None
    error: str | None = None

    @classmethod
    def from_estimate(cls, view) -> "ViewInfo":
        """From a :class:`lab.align.ViewEstimate` (values rounded to 0.01)."""
        return cls(azimuth_deg=_round(view.azimuth_deg, 2), elevation_deg=_round(view.elevation_deg, 2),
                   distance_m=_round(view.distance_m, 2), ambiguous=bool(view.ambiguous))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"azimuth_deg": self.azimuth_deg, "elevation_deg": self.elevation_deg}
        if self.ambiguous is not None:
            out.update(distance_m=self.distance_m, ambiguous=self.ambiguous)
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclasses.dataclass(frozen=True)
class ClipInfo:
    """One compared clip: where it came from, its size, how often a person was seen, its view."""

    path: str | None
    frames: int
    fps: float | None
    duration_s: float
    detection_rate: float
    view: ViewInfo

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "frames": self.frames, "fps": self.fps, "duration_s": self.duration_s,
                "detection_rate": self.detection_rate, "view": self.view.to_dict()}


def describe_clip(track: PoseTrack, *, path: str | None = None, view: Any = None) -> ClipInfo:
    """The :class:`ClipInfo` of ``track``.

    Parameters
    ----------
    track : PoseTrack
    path : str, optional
        Where it came from (default ``meta["source"]``).
    view : ViewEstimate, ViewInfo, str or None
        Its estimated view, or the reason it could not be estimated (str).
    """
    if isinstance(view, ViewInfo):
        info = view
    elif isinstance(view, str):
        info = ViewInfo(error=view)
    elif view is not None:
        info = ViewInfo.from_estimate(view)
    else:
        info = ViewInfo()
    return ClipInfo(path=path or track.meta.get("source"), frames=int(track.n_frames),
                    fps=round(float(track.fps), 3) if np.isfinite(track.fps) else None,
                    duration_s=round(float(track.time_s[-1] - track.time_s[0]), 3) if track.n_frames else 0.0,
                    detection_rate=round(track.detection_rate(), 3), view=info)


@dataclasses.dataclass(frozen=True)
class JointResult:
    """One joint angle over the matched movement (degrees, attempt minus reference).

    ``name`` is the coach's joint; ``attempt_joint`` the player's own joint it
    was matched with (the other side when the attempt was mirrored). The
    numbers are None when the joint was seen on fewer than 3 matched steps.
    """

    name: str
    attempt_joint: str
    mean_abs_deg: float | None = None
    mean_signed_deg: float | None = None
    worst_time_s: float | None = None
    worst_attempt_time_s: float | None = None
    worst_deg: float | None = None
    confidence: float = 0.0

    @property
    def judged(self) -> bool:
        return self.mean_abs_deg is not None

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "attempt_joint": self.attempt_joint, "mean_abs_deg": self.mean_abs_deg,
               "mean_signed_deg": self.mean_signed_deg, "worst_time_s": self.worst_time_s}
        if self.judged:
            out["worst_attempt_time_s"] = self.worst_attempt_time_s
        out.update(worst_deg=self.worst_deg, confidence=self.confidence)
        return out


@dataclasses.dataclass(frozen=True)
class Evidence:
    """How much the verdict rests on: matched steps, confidence, detection, view ambiguity."""

    matched_steps: int
    steps_with_evidence: int
    matched_reference_s: float
    mean_confidence: float
    reference_detection_rate: float
    attempt_detection_rate: float
    view_ambiguous: bool
    margin: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Comparison:
    """Result of :func:`compare_features` / :func:`compare_tracks`. ``to_dict()`` is what
    ``lab compare --json`` prints."""

    score: float
    distance: float
    threshold: float
    threshold_provenance: str
    verdict: str
    mirrored: bool
    mirror_costs: dict[str, float]
    path_time_s: np.ndarray                 # (L, 2) reference time, attempt time of each path step
    slope: float
    reference: ClipInfo
    attempt: ClipInfo
    relative_azimuth_deg: float | None
    joints: list[JointResult]
    feedback: list[str]
    warnings: list[str]
    evidence: Evidence
    per_step: Any = None                    # pandas DataFrame: per path step x joint differences
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def joint(self, name: str) -> JointResult:
        """The :class:`JointResult` of the coach's joint ``name``."""
        return next(j for j in self.joints if j.name == name)

    def to_dict(self) -> dict[str, Any]:
        f = _round
        return {
            "score": f(self.score), "distance": f(self.distance), "threshold": f(self.threshold),
            "threshold_provenance": self.threshold_provenance,
            "verdict": self.verdict, "mirrored": bool(self.mirrored),
            "distances_tried": {k: f(v) for k, v in self.mirror_costs.items()},
            "relative_azimuth_deg": f(self.relative_azimuth_deg),
            "time_scale": f(self.slope),
            "matched": {"reference_s": [f(self.path_time_s[0, 0]), f(self.path_time_s[-1, 0])],
                        "attempt_s": [f(self.path_time_s[0, 1]), f(self.path_time_s[-1, 1])]},
            "reference": self.reference.to_dict(), "attempt": self.attempt.to_dict(),
            "joints": [j.to_dict() for j in self.joints], "feedback": self.feedback,
            "warnings": self.warnings, "evidence": self.evidence.to_dict(), "settings": self.settings,
        }


#: Global speed ratios tried (attempt duration / reference duration); the DTW
#: band then only absorbs the remaining tempo changes.
DEFAULT_SPEEDS: tuple[float, ...] = (0.67, 0.8, 1.0, 1.25, 1.5)


def prepare_features(track: PoseTrack, *, lift: bool = True) -> FeatureSet:
    """Features of ``track`` on its own frame times (what :func:`distance_between` takes)."""
    return compute_features(track, lift=lift)


def align_feature_sets(ref: FeatureSet, att: FeatureSet, *, rate_hz: float, window_s: float | None,
                       open_ends: bool = True, weighting: str = "noise",
                       noise: dict[str, float] | None = None):
    """DTW between two feature sets already on uniform time bases with the same
    number of samples per movement (same names). Returns :class:`lab.dtw.Alignment`."""
    from lab.dtw import dtw_align

    x, w = scale_features(ref, weighting=weighting, noise=noise)
    y, _ = scale_features(att, weighting=weighting, noise=noise)
    window = None if window_s is None else max(1, int(round(window_s * rate_hz)))
    if not open_ends and window is not None:
        window = max(window, abs(len(x) - len(y)) + 1)
    return dtw_align(x, y, conf_x=ref.confidence, conf_y=att.confidence, feature_weights=w,
                     window=window, open_begin=open_ends, open_end=open_ends)


@dataclasses.dataclass
class Match:
    """Best alignment found by :func:`match_features`."""

    distance: float
    mirrored: bool
    speed: float                 # attempt duration / reference duration tried
    alignment: Any               # lab.dtw.Alignment, indices into reference / attempt below
    reference: FeatureSet        # resampled at rate_hz
    attempt: FeatureSet          # resampled at rate_hz / speed, mirrored if ``mirrored``
    tried: dict[str, float]      # "plain@1" / "mirrored@1.25"... -> distance

    @property
    def slope(self) -> float:
        """Attempt time per reference time along the path (1 = same tempo)."""
        return float(self.speed * self.alignment.slope())


def match_features(ref: FeatureSet, att: FeatureSet, *, rate_hz: float = 30.0,
                   window_s: float | None = 0.3, open_ends: bool = True, mirror: str = "auto",
                   speeds: tuple[float, ...] = DEFAULT_SPEEDS, weighting: str = "noise",
                   noise: dict[str, float] | None = None) -> Match:
    """Best DTW match of ``att`` against ``ref`` over mirror options and global speeds.

    The reference is resampled at ``rate_hz``; for each speed ``s`` the attempt
    is resampled at ``rate_hz / s`` (so an attempt ``s`` times slower lies on
    the diagonal) and aligned with a Sakoe-Chiba band of ``window_s``; the
    lowest mean cost wins. ``mirror``: "auto" (both), "no", "yes".
    """
    if mirror not in ("auto", "no", "yes"):
        raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
    ref_r = resample_features(ref, rate_hz=rate_hz)
    best, tried = None, {}
    for s in speeds:
        att_r = resample_features(att, rate_hz=rate_hz / s)
        for m in {"no": [False], "yes": [True], "auto": [False, True]}[mirror]:
            fs = mirror_features(att_r) if m else att_r
            try:
                al = align_feature_sets(ref_r, fs, rate_hz=rate_hz, window_s=window_s,
                                        open_ends=open_ends, weighting=weighting, noise=noise)
            except ValueError:
                continue
            tried[f"{'mirrored' if m else 'plain'}@{s:g}"] = al.distance
            if best is None or al.cost < best.alignment.cost:
                best = Match(distance=al.distance, mirrored=m, speed=s, alignment=al, reference=ref_r,
                             attempt=fs, tried=tried)
    if best is None:
        raise ValueError("no alignment found inside the window at any speed")
    return best


def distance_between(ref: FeatureSet, att: FeatureSet, *, rate_hz: float = 30.0,
                     window_s: float | None = 0.3, open_ends: bool = True,
                     mirror: str = "auto", weighting: str = "noise",
                     speeds: tuple[float, ...] = DEFAULT_SPEEDS,
                     noise: dict[str, float] | None = None) -> tuple[float, bool, Any]:
    """(distance, mirrored, alignment) of :func:`match_features` (features from
    :func:`prepare_features`)."""
    m = match_features(ref, att, rate_hz=rate_hz, window_s=window_s, open_ends=open_ends,
                       mirror=mirror, speeds=speeds, weighting=weighting, noise=noise)
    return m.distance, m.mirrored, m.alignment


def estimate_clip_view(track: PoseTrack, *, body: PoseTrack | None = None):
    """A camera clip's :class:`lab.align.ViewEstimate`, or a str saying why there is none.

    ``body`` is ``track`` lifted (:func:`lab.lift.lift_track`, default settings)
    when the caller has it; motion capture and pose files without image points
    have no camera view (None).
    """
    if track.frame != "camera" or track.world_m is None or track.image_px is None:
        return None
    from lab.align import estimate_view  # lazy: OpenCV and SciPy's optimizer only when a view is needed

    try:
        return estimate_view(body if body is not None and body.frame == "body" else track)
    except Exception as exc:  # the view is informative only; never stop a comparison
        return f"{exc.__class__.__name__}: {exc}"


def compare_tracks(reference: PoseTrack, attempt: PoseTrack, *, mirror: str = "auto",
                   rate_hz: float = 30.0, window_s: float | None = 0.3, open_ends: bool = True,
                   threshold: float | None = None, lift: bool = True,
                   speeds: tuple[float, ...] = DEFAULT_SPEEDS,
                   reference_path: str | None = None, attempt_path: str | None = None,
                   n_phases: int = 4) -> Comparison:
    """Compare an attempt with a reference movement, from any viewpoint.

    Lifts each track once, estimates each camera's view from the lifted track,
    computes the features and calls :func:`compare_features`.
    :func:`lab.pipeline.analyze` does the same with every stage cached.

    Parameters
    ----------
    reference, attempt : PoseTrack
        Frame ``camera`` (video), ``lab`` (mocap) or ``body``; 3D needed.
    lift : bool
        Use :mod:`lab.lift` for the body frame (else the basic body frame).
    reference_path, attempt_path : str, optional
        Reported as the clips' paths.

    Other parameters are those of :func:`compare_features`.
    """
    from lab.features import lift_or_basic

    if mirror not in ("auto", "no", "yes"):
        raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lifted = [lift_or_basic(t, lift=lift) for t in (reference, attempt)]
        feats = [compute_features(t, body=b) for t, (b, _) in zip((reference, attempt), lifted)]
    # the view always rests on lab.lift's model: the basic body frame is not used for it
    clips = [describe_clip(t, path=p, view=estimate_clip_view(t, body=b if how == "lift" else None))
             for t, (b, how), p in zip((reference, attempt), lifted, (reference_path, attempt_path))]
    return compare_features(feats[0], feats[1], reference_info=clips[0], attempt_info=clips[1], mirror=mirror,
                            rate_hz=rate_hz, window_s=window_s, open_ends=open_ends, threshold=threshold,
                            speeds=speeds, n_phases=n_phases, lift=lift,
                            notes=[str(w.message) for w in caught])


def compare_features(reference: FeatureSet, attempt: FeatureSet, *, reference_info: ClipInfo,
                     attempt_info: ClipInfo, mirror: str = "auto", rate_hz: float = 30.0,
                     window_s: float | None = 0.3, open_ends: bool = True, threshold: float | None = None,
                     speeds: tuple[float, ...] = DEFAULT_SPEEDS, n_phases: int = 4, lift: bool = True,
                     notes: list[str] | None = None) -> Comparison:
    """Score, verdict and feedback of two clips' features.

    Parameters
    ----------
    reference, attempt : FeatureSet
        On each clip's own frame times (:func:`lab.features.compute_features`).
    reference_info, attempt_info : ClipInfo
        What is reported about each clip (:func:`describe_clip`).
    mirror : {"auto", "no", "yes"}
        Compare with the attempt's left/right mirror image: "auto" tries both
        and keeps the better (reported in ``mirrored``).
    rate_hz : float
        Common time base both are resampled to, Hz.
    window_s : float or None
        Sakoe-Chiba band half-width, seconds (None = unbounded), around the
        diagonal of each global speed tried.
    open_ends : bool
        Either clip may hold extra movement before/after the shared part.
    threshold : float, optional
        Distance (degree-equivalents) above which the verdict is "different";
        default :func:`default_threshold`.
    speeds : tuple of float
        Global tempo ratios tried (attempt duration / reference duration).
    n_phases : int
        Phases (equal parts of the matched reference time) for the feedback.
    lift : bool
        Recorded in ``settings`` (how the body frames were made).
    notes : list of str
        Warnings from earlier stages, reported first.

    Returns
    -------
    Comparison
        ``distance`` = RMS of the degree-equivalent feature differences along
        the DTW path; ``score`` = :func:`score_from_distance`; ``verdict`` =
        "same" / "different", or "uncertain" when the evidence is too thin
        (see ``evidence`` and ``warnings``).
    """
    import pandas as pd

    ref_d, att_d = reference_info, attempt_info
    if mirror not in ("auto", "no", "yes"):
        raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
    warn: list[str] = list(notes or [])
    provenance = "given"
    if threshold is None:
        threshold, provenance = default_threshold()
    best = match_features(reference, attempt, rate_hz=rate_hz, window_s=window_s, open_ends=open_ends,
                          mirror=mirror, speeds=speeds)
    al, ref_fs, att_used, mirrored = best.alignment, best.reference, best.attempt, best.mirrored
    distance = best.distance
    score = score_from_distance(distance, threshold=threshold)
    path = al.path
    path_t = np.stack([ref_fs.time_s[path[:, 0]], att_used.time_s[path[:, 1]]], axis=1)

    # --- per joint, per step differences (angles only, degrees; attempt - reference)
    ang = [i for i, n in enumerate(ref_fs.names) if ref_fs.kind(n) == "angle"]
    X = ref_fs.values[path[:, 0]][:, ang]
    Y = att_used.values[path[:, 1]][:, ang]
    C = ref_fs.confidence[path[:, 0]][:, ang] * att_used.confidence[path[:, 1]][:, ang]
    diff = Y - X
    names = [ref_fs.names[i] for i in ang]
    own = [swap_side(n) if mirrored else n for n in names]
    L, A = diff.shape
    span = path_t[-1, 0] - path_t[0, 0]
    edges = path_t[0, 0] + span * np.arange(n_phases + 1) / n_phases
    phase = np.clip(np.searchsorted(edges, path_t[:, 0], side="right") - 1, 0, n_phases - 1) + 1
    per_step = pd.DataFrame({
        "step": np.tile(np.arange(L), A), "reference_time_s": np.tile(path_t[:, 0], A),
        "attempt_time_s": np.tile(path_t[:, 1], A), "joint": np.repeat(names, L),
        "attempt_joint": np.repeat(own, L), "reference_deg": X.T.ravel(), "attempt_deg": Y.T.ravel(),
        "difference_deg": diff.T.ravel(), "confidence": C.T.ravel(), "phase": np.tile(phase, A)})
    joints = []
    for k, n in enumerate(names):
        ok = np.isfinite(diff[:, k]) & (C[:, k] > 0.05)
        if ok.sum() < 3:
            joints.append(JointResult(name=n, attempt_joint=own[k]))
            continue
        d, c = diff[ok, k], C[ok, k]
        iw = int(np.argmax(np.abs(d) * c))
        joints.append(JointResult(name=n, attempt_joint=own[k],
                                  mean_abs_deg=round(float(np.average(np.abs(d), weights=c)), 2),
                                  mean_signed_deg=round(float(np.average(d, weights=c)), 2),
                                  worst_time_s=round(float(path_t[ok][iw, 0]), 3),
                                  worst_attempt_time_s=round(float(path_t[ok][iw, 1]), 3),
                                  worst_deg=round(float(d[iw]), 2), confidence=round(float(c.mean()), 3)))
    joints.sort(key=lambda j: -(j.mean_abs_deg or 0.0) * (j.confidence or 0.0))
    feedback = feedback_sentences(per_step, n_sentences=3)

    # --- evidence
    rel = None
    ra, aa = ref_d.view.azimuth_deg, att_d.view.azimuth_deg
    if ra is not None and aa is not None:
        rel = float((aa - ra + 180.0) % 360.0 - 180.0)
    mean_conf = float(np.mean(C)) if C.size else 0.0
    n_ev = int(al.evidence.sum()) if al.evidence is not None else len(path)
    view_ambiguous = bool(ref_d.view.ambiguous or att_d.view.ambiguous)
    thin = []
    for who, d in (("reference", ref_d), ("attempt", att_d)):
        if d.detection_rate < 0.5:
            thin.append(f"a person was found on only {d.detection_rate:.0%} of the {who}'s frames")
    if n_ev < max(8, int(0.5 * rate_hz)):
        thin.append(f"only {n_ev} time steps could be matched with a person seen in both clips")
    if mean_conf < 0.25:
        thin.append(f"the landmarks are seen with low confidence (mean {mean_conf:.2f})")
    if view_ambiguous:
        warn.append("the camera viewpoint of one clip is ambiguous (front/back); joint sides may be swapped")
    warn += thin
    margin = abs(distance - threshold) / threshold
    evidence = Evidence(matched_steps=int(len(path)), steps_with_evidence=n_ev,
                        matched_reference_s=round(float(span), 3), mean_confidence=round(mean_conf, 3),
                        reference_detection_rate=ref_d.detection_rate,
                        attempt_detection_rate=att_d.detection_rate, view_ambiguous=view_ambiguous,
                        margin=round(float(margin), 3))
    if thin:
        verdict = "uncertain"
    else:
        verdict = "same" if distance <= threshold else "different"
    if verdict != "uncertain" and margin < 0.1:
        warn.append(f"the distance {distance:.1f} is within 10% of the threshold {threshold:.1f}: a close call")
    settings = {"rate_hz": rate_hz, "window_s": window_s, "open_ends": open_ends, "mirror": mirror,
                "lift": lift, "n_phases": n_phases, "speeds": list(speeds), "speed_used": best.speed}
    return Comparison(score=score, distance=distance, threshold=threshold,
                      threshold_provenance=provenance, verdict=verdict, mirrored=bool(mirrored),
                      mirror_costs=best.tried, path_time_s=path_t, slope=best.slope, reference=ref_d,
                      attempt=att_d, relative_azimuth_deg=rel, joints=joints, feedback=feedback,
                      warnings=warn, evidence=evidence, per_step=per_step, settings=settings)


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def describe_difference(joint: str, difference_deg: float, time_s: float) -> str:
    """One sentence: how the attempt's ``joint`` angle differs from the coach's at ``time_s``.

    ``difference_deg`` is attempt minus reference, in the conventions of
    :mod:`lab.features.angles` (positive = more flexion / lean / elevation).
    """
    key = next((k for k in ("hip_abduction", "trunk_lean", "neck", "knee", "elbow", "shoulder",
                            "ankle", "hip") if k in joint), None)
    more, less = ANGLE_WORDS.get(key, ("is {d:.0f} degrees larger", "is {d:.0f} degrees smaller"))
    verb = (more if difference_deg > 0 else less).format(d=abs(difference_deg))
    subject = {"trunk_lean": "trunk", "neck": "head"}.get(joint, _pretty(joint))
    if subject.endswith("hip abduction"):
        subject = subject.replace(" hip abduction", " leg")
    elif subject.endswith("shoulder"):
        subject = subject.replace("shoulder", "arm")
    return f"{subject} {verb} than the coach at {time_s:.1f} s"


def feedback_sentences(per_step, *, n_sentences: int = 3, min_deg: float = 8.0) -> list[str]:
    """The largest confident departures, one sentence per joint, per phase.

    Joints are named as the coach's (``joint``); when the attempt was compared
    as a mirror image (``attempt_joint`` differs), the player's own side is
    named and the coach's side given in brackets.

    Looks, for every joint and phase, at the confidence-weighted mean signed
    difference; the ``n_sentences`` largest (at least ``min_deg``) become
    sentences timed at the moment of the largest difference in that phase.
    """
    df = per_step[np.isfinite(per_step["difference_deg"]) & (per_step["confidence"] > 0.05)]
    cands = []
    for (joint, phase), g in df.groupby(["joint", "phase"]):
        if len(g) < 3:
            continue
        m = float(np.average(g["difference_deg"], weights=g["confidence"]))
        same_sign = g[np.sign(g["difference_deg"]) == np.sign(m)]
        if same_sign.empty:
            continue
        iw = (same_sign["difference_deg"].abs() * same_sign["confidence"]).idxmax()
        cands.append((abs(m) * float(g["confidence"].mean()), joint, phase, m,
                      float(df.loc[iw, "reference_time_s"]), float(df.loc[iw, "difference_deg"])))
    cands.sort(reverse=True)
    out, used = [], set()
    for _, joint, phase, m, t, worst in cands:
        if joint in used or abs(m) < min_deg:
            continue
        used.add(joint)
        own = joint
        if "attempt_joint" in df.columns:
            own = str(df.loc[df["joint"] == joint, "attempt_joint"].iloc[0])
        text = describe_difference(own, worst, t)
        text = text[0].upper() + text[1:]
        if own != joint:
            text = text.replace(" than the coach", f" than the coach's {_pretty(joint)}", 1)
        out.append(text + f" (phase {phase}, {abs(m):.0f} degrees on average)")
        if len(out) >= n_sentences:
            break
    return out
