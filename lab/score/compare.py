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
from lab.features.scale import KIND_WEIGHTS, POSITION_DEG_PER_TORSO, VELOCITY_S, measure_motion_amplitude, scale_features
from lab.features.travel import SIGHT_NAMES, TRAVEL_NAMES
from lab.pose.sides import swap_side, unsided
from lab.pose.track import PoseTrack
from lab.score.uncertainty import (
    FAMILY_ALPHA,
    AngleErrorModel,
    ClipErrorSource,
    compute_family_z,
    estimate_range_se_deg,
    estimate_step_sd_deg,
    load_angle_error_model,
    measure_range_of_motion,
    summarize_phase_differences,
)
from lab.score.verdict import STILL_TRAVEL, TERM_INPUTS, VERDICT_FILE, VerdictModel, compute_terms, load_verdict_model

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


#: What a clip's track is, from its frame: its angles' errors follow (:class:`lab.score.uncertainty.ClipErrorSource`).
SOURCE_KINDS = {"camera": "video", "lab": "mocap", "body": "body model"}


@dataclasses.dataclass(frozen=True)
class ClipInfo:
    """One compared clip: where it came from, its size, how often a person was seen, its view.

    ``source_kind`` is ``video`` (MediaPipe from a camera), ``mocap`` (motion
    capture) or ``body model`` (a body-frame track, treated as video); None
    when unknown (treated as video). ``pose_model`` is the landmarker that
    measured it (``meta["model"]``, e.g. ``pose_landmarker_lite``): how much
    its angles err depends on it.
    """

    path: str | None
    frames: int
    fps: float | None
    duration_s: float
    detection_rate: float
    view: ViewInfo
    source_kind: str | None = None
    pose_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "frames": self.frames, "fps": self.fps, "duration_s": self.duration_s,
                "detection_rate": self.detection_rate, "view": self.view.to_dict(), "source_kind": self.source_kind,
                "pose_model": self.pose_model}

    def build_error_source(self) -> ClipErrorSource:
        """How this clip's angles err: motion capture, or MediaPipe (its landmarker) seen from its camera's azimuth."""
        return ClipErrorSource.from_clip("lab" if self.source_kind == "mocap" else "camera", self.view.azimuth_deg,
                                         pose_model=self.pose_model)


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
                    detection_rate=round(track.detection_rate(), 3), view=info,
                    source_kind=SOURCE_KINDS.get(track.frame),
                    pose_model=str(track.meta["model"]) if track.meta.get("model") else None)


@dataclasses.dataclass(frozen=True)
class JointResult:
    """One joint angle over the matched movement (degrees, attempt minus reference).

    ``name`` is the coach's joint; ``attempt_joint`` the player's own joint it
    was matched with (the other side when the attempt was mirrored). The
    numbers are None when the joint was seen on fewer than 3 matched steps.

    How sure (:mod:`lab.score.uncertainty`): ``standard_error_deg`` is the
    standard error of a phase's mean difference (both clips; median over the
    phases), ``threshold_deg`` the 95% minimal detectable difference (a phase
    difference beyond it is reported; noise alone exceeds it in under 5% of
    comparisons) and ``detectable_deg`` the difference that would be reported
    9 times in 10, in whichever phase it happens (the largest over phases).
    ``can_judge`` is False when these cameras cannot show a difference of
    :data:`JUDGEABLE_MAX_DEG` (or the joint was not seen): such a joint is
    not judged at all, whatever its difference, and its ``detectable_deg``
    says how large a difference its noise would hide.
    """

    name: str
    attempt_joint: str
    mean_abs_deg: float | None = None
    mean_signed_deg: float | None = None
    worst_time_s: float | None = None
    worst_attempt_time_s: float | None = None
    worst_deg: float | None = None
    confidence: float = 0.0
    standard_error_deg: float | None = None
    threshold_deg: float | None = None
    detectable_deg: float | None = None
    can_judge: bool = False

    @property
    def judged(self) -> bool:
        return self.mean_abs_deg is not None

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "attempt_joint": self.attempt_joint, "mean_abs_deg": self.mean_abs_deg,
               "mean_signed_deg": self.mean_signed_deg, "worst_time_s": self.worst_time_s}
        if self.judged:
            out["worst_attempt_time_s"] = self.worst_attempt_time_s
        out.update(worst_deg=self.worst_deg, confidence=self.confidence,
                   standard_error_deg=self.standard_error_deg, threshold_deg=self.threshold_deg,
                   detectable_deg=self.detectable_deg, can_judge=self.can_judge)
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
    ``lab compare --json`` prints.

    ``feedback`` holds technique sentences only, each about a difference larger
    than these recordings can show by chance; ``cannot_judge`` one sentence per
    joint these cameras cannot judge; ``summary`` the whole movement in words
    (what differs for a "different" verdict, what evidence is missing for
    "uncertain").
    """

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
    cannot_judge: list[str] = dataclasses.field(default_factory=list)
    summary: str = ""
    p_same: float | None = None
    verdict_terms: dict[str, float] = dataclasses.field(default_factory=dict)

    def joint(self, name: str) -> JointResult:
        """The :class:`JointResult` of the coach's joint ``name``."""
        return next(j for j in self.joints if j.name == name)

    def summarize_phases(self, *, model: AngleErrorModel | None = None):
        """Per joint and phase: mean difference, standard error, threshold and detectable difference
        (:func:`lab.score.uncertainty.summarize_phase_differences` on ``per_step``)."""
        return summarize_phase_differences(self.per_step, reference=self.reference.build_error_source(),
                                           attempt=self.attempt.build_error_source(), model=model)

    def to_dict(self) -> dict[str, Any]:
        f = _round
        return {
            "score": f(self.score), "p_same": f(self.p_same), "distance": f(self.distance),
            "threshold": f(self.threshold),
            "threshold_provenance": self.threshold_provenance,
            "verdict": self.verdict, "mirrored": bool(self.mirrored),
            "distances_tried": {k: f(v) for k, v in self.mirror_costs.items()},
            "relative_azimuth_deg": f(self.relative_azimuth_deg),
            "time_scale": f(self.slope),
            "matched": {"reference_s": [f(self.path_time_s[0, 0]), f(self.path_time_s[-1, 0])],
                        "attempt_s": [f(self.path_time_s[0, 1]), f(self.path_time_s[-1, 1])]},
            "reference": self.reference.to_dict(), "attempt": self.attempt.to_dict(),
            "joints": [j.to_dict() for j in self.joints], "feedback": self.feedback,
            "cannot_judge": self.cannot_judge, "summary": self.summary,
            "warnings": self.warnings, "evidence": self.evidence.to_dict(), "settings": self.settings,
        }


#: Global speed ratios tried (attempt duration / reference duration); the DTW
#: band then only absorbs the remaining tempo changes.
DEFAULT_SPEEDS: tuple[float, ...] = (0.67, 0.8, 1.0, 1.25, 1.5)
#: Distance factor per unit of |ln speed| (:func:`tempo_factor`): 1.5x slower or faster costs 8% more.
TEMPO_PENALTY = 0.2


def prepare_features(track: PoseTrack, *, lift: bool = True) -> FeatureSet:
    """Features of ``track`` on its own frame times, with its travel (what :func:`distance_between` takes)."""
    return compute_features(track, lift=lift, travel=True)


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
    tried: dict[str, float]      # "plain@1" / "mirrored@1.25"... -> distance (tempo factor included)

    @property
    def slope(self) -> float:
        """Attempt time per reference time along the path (1 = same tempo)."""
        return float(self.speed * self.alignment.slope())


def tempo_factor(speed: float, *, tempo_penalty: float = TEMPO_PENALTY) -> float:
    """What stretching the attempt's time by ``speed`` multiplies the distance by: ``1 + tempo_penalty * |ln speed|``."""
    return 1.0 + tempo_penalty * abs(math.log(speed))


def match_features(ref: FeatureSet, att: FeatureSet, *, rate_hz: float = 30.0,
                   window_s: float | None = 0.3, open_ends: bool = True, mirror: str = "auto",
                   speeds: tuple[float, ...] = DEFAULT_SPEEDS, weighting: str = "noise",
                   noise: dict[str, float] | None = None, tempo_penalty: float = TEMPO_PENALTY) -> Match:
    """Best DTW match of ``att`` against ``ref`` over mirror options and global speeds.

    The reference is resampled at ``rate_hz``; for each speed ``s`` the attempt
    is resampled at ``rate_hz / s`` (so an attempt ``s`` times slower lies on
    the diagonal) and aligned with a Sakoe-Chiba band of ``window_s``. Each
    alignment's distance is multiplied by :func:`tempo_factor` (a stretched
    match must be that much better to win, so a different movement cannot
    match by stretching alone: see the README); the lowest wins. ``mirror``:
    "auto" (both), "no", "yes".
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
            d = al.distance * tempo_factor(s, tempo_penalty=tempo_penalty)
            tried[f"{'mirrored' if m else 'plain'}@{s:g}"] = d
            if best is None or d < best.distance:
                best = Match(distance=d, mirrored=m, speed=s, alignment=al, reference=ref_r, attempt=fs,
                             tried=tried)
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


def describe_match(match: Match, reference: FeatureSet, attempt: FeatureSet, *,
                   speeds: tuple[float, ...] = DEFAULT_SPEEDS) -> dict[str, Any]:
    """What the verdict model (:mod:`lab.score.verdict`) needs to know about a match, besides its distance.

    Returns
    -------
    dict
        ``distance`` (degree-equivalents), ``reference_motion_deg`` and
        ``attempt_motion_deg`` (how much each clip moves,
        :func:`lab.features.scale.measure_motion_amplitude`), ``matched_fraction``
        (share of the reference's duration the path covers), ``speed`` (global
        tempo chosen), ``extreme_speed`` (the slowest or fastest of ``speeds``),
        ``travel_difference``, ``reference_travel`` and ``attempt_travel``
        (:func:`measure_travel_difference`).
    """
    path = match.alignment.path
    span = float(match.reference.time_s[path[-1, 0]] - match.reference.time_s[path[0, 0]])
    duration = float(reference.time_s[-1] - reference.time_s[0]) if len(reference.time_s) else 0.0
    return {"distance": float(match.distance), "reference_motion_deg": measure_motion_amplitude(reference),
            "attempt_motion_deg": measure_motion_amplitude(attempt),
            "matched_fraction": span / duration if duration > 0 else float("nan"),
            "speed": float(match.speed), "extreme_speed": bool(match.speed in (min(speeds), max(speeds))),
            **measure_travel_difference(match)}


def measure_travel_difference(match: Match, *, min_steps: int = 5) -> dict[str, float]:
    """How differently the two bodies travel along the matched path, and how fast each travels there.

    Travel: :mod:`lab.features.travel`, the mid-hip's velocity in each body's
    own axes, torso lengths per second (the attempt's mirrored with it).

    A mirrored match cannot tell a player who moves as the coach's mirror
    image from a clip the pose model read front to back as a whole: it then
    mirrors the body across the plane facing the camera, and the travel read
    has its part along the camera's line of sight reversed
    (:data:`lab.features.travel.SIGHT_NAMES`). For a mirrored match the
    difference is therefore the smaller of the travel as read and the travel
    with either clip's line-of-sight part reversed (as a whole).

    Returns
    -------
    dict
        ``travel_difference``: the RMS over the path's steps of the difference
        of the two travel vectors; ``reference_travel`` / ``attempt_travel``:
        the RMS of each clip's horizontal travel over the same steps;
        ``travel_direction_difference``: how far apart the directions of the
        two clips' mean horizontal travel are (the distance between their unit
        vectors, 0-2: 2 sin of half the angle), times ``s / (STILL_TRAVEL + s)``
        with ``s`` the slower of the two mean speeds, so that a clip staying in
        place has no direction (:data:`lab.score.verdict.STILL_TRAVEL`). NaN
        when either clip has no travel or fewer than ``min_steps`` steps see both.
    """
    nan = {"travel_difference": float("nan"), "reference_travel": float("nan"), "attempt_travel": float("nan"),
           "travel_direction_difference": float("nan")}
    names = list(TRAVEL_NAMES)
    if any(n not in fs.names for fs in (match.reference, match.attempt) for n in names):
        return nan
    path = match.alignment.path
    x = match.reference.select(names).values[path[:, 0]]
    y = match.attempt.select(names).values[path[:, 1]]
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    if ok.sum() < min_steps:
        return nan
    x, y = x[ok], y[ok]

    def rms(d):
        return float(np.sqrt((d ** 2).sum(axis=1).mean()))

    readings = [(x, y)]
    if match.mirrored:
        for k, fs in enumerate((match.reference, match.attempt)):
            if all(n in fs.names for n in SIGHT_NAMES):
                q = fs.select(list(SIGHT_NAMES)).values[path[ok, k]]
                if np.isfinite(q).all():
                    v = (x, y)[k]
                    seen = v - 2 * (v * q).sum(axis=1, keepdims=True) * q   # line-of-sight part reversed
                    readings.append((seen, y) if k == 0 else (x, seen))
    difference, (x, y) = min(((rms(a - b), (a, b)) for a, b in readings), key=lambda r: r[0])
    flat = [names.index("travel:left"), names.index("travel:front")]
    mean_x, mean_y = x[:, flat].mean(axis=0), y[:, flat].mean(axis=0)
    slower = float(min(np.linalg.norm(mean_x), np.linalg.norm(mean_y)))
    direction = (float(np.linalg.norm(mean_x / np.linalg.norm(mean_x) - mean_y / np.linalg.norm(mean_y)))
                 * slower / (STILL_TRAVEL + slower) if slower > 0 else 0.0)
    return {"travel_difference": difference, "reference_travel": rms(x[:, flat]), "attempt_travel": rms(y[:, flat]),
            "travel_direction_difference": direction}


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
                   n_phases: int = 4, error_model: AngleErrorModel | None = None) -> Comparison:
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
    error_model : AngleErrorModel, optional
        The joint-angle error model (default the shipped one, ``uncertainty.json``).

    Other parameters are those of :func:`compare_features`.
    """
    from lab.features import lift_or_basic

    if mirror not in ("auto", "no", "yes"):
        raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lifted = [lift_or_basic(t, lift=lift) for t in (reference, attempt)]
        feats = [compute_features(t, body=b, travel=True) for t, (b, _) in zip((reference, attempt), lifted)]
    # the view always rests on lab.lift's model: the basic body frame is not used for it
    clips = [describe_clip(t, path=p, view=estimate_clip_view(t, body=b if how == "lift" else None))
             for t, (b, how), p in zip((reference, attempt), lifted, (reference_path, attempt_path))]
    return compare_features(feats[0], feats[1], reference_info=clips[0], attempt_info=clips[1], mirror=mirror,
                            rate_hz=rate_hz, window_s=window_s, open_ends=open_ends, threshold=threshold,
                            speeds=speeds, n_phases=n_phases, lift=lift, error_model=error_model,
                            notes=[str(w.message) for w in caught])


def compare_features(reference: FeatureSet, attempt: FeatureSet, *, reference_info: ClipInfo,
                     attempt_info: ClipInfo, mirror: str = "auto", rate_hz: float = 30.0,
                     window_s: float | None = 0.3, open_ends: bool = True, threshold: float | None = None,
                     speeds: tuple[float, ...] = DEFAULT_SPEEDS, n_phases: int = 4, lift: bool = True,
                     notes: list[str] | None = None, error_model: AngleErrorModel | None = None,
                     verdict_model: VerdictModel | None = None) -> Comparison:
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
        A fixed line: distance (degree-equivalents) above which the verdict is
        "different". Default: this pair's line from the verdict model (the
        distance at which ``p_same`` = 0.5, see ``verdict_model``).
    speeds : tuple of float
        Global tempo ratios tried (attempt duration / reference duration).
    n_phases : int
        Phases (equal parts of the matched reference time) for the feedback.
    lift : bool
        Recorded in ``settings`` (how the body frames were made).
    notes : list of str
        Warnings from earlier stages, reported first.
    error_model : AngleErrorModel, optional
        How MediaPipe's joint angles err (default :func:`lab.score.uncertainty.load_angle_error_model`):
        each step's standard error, hence what a difference must exceed to be reported.
    verdict_model : VerdictModel, optional
        Turns the match into ``p_same`` and this pair's line (default the shipped one,
        :func:`lab.score.verdict.load_verdict_model`; without it, the fixed line of ``threshold.json``).

    Returns
    -------
    Comparison
        ``distance`` = RMS of the degree-equivalent feature differences along
        the DTW path (times :func:`tempo_factor`); ``p_same`` = the verdict
        model's probability of the same movement; ``score`` =
        :func:`score_from_distance` (50 at the line); ``verdict`` = "same" /
        "different", or "uncertain" when the evidence is too thin (see
        ``evidence`` and ``warnings``) or ``p_same`` lies in the model's
        uncertain band. ``feedback`` (only for "same"):
        per joint and phase, differences beyond the 95% minimal detectable
        difference; ``cannot_judge``: joints these cameras cannot judge;
        ``summary``: the whole movement in words.
    """
    import pandas as pd

    ref_d, att_d = reference_info, attempt_info
    if mirror not in ("auto", "no", "yes"):
        raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
    warn: list[str] = list(notes or [])
    best = match_features(reference, attempt, rate_hz=rate_hz, window_s=window_s, open_ends=open_ends,
                          mirror=mirror, speeds=speeds)
    al, ref_fs, att_used, mirrored = best.alignment, best.reference, best.attempt, best.mirrored
    distance = best.distance
    # the line for this pair: where the verdict model's p_same is 0.5 (or the fixed line given / shipped)
    verdict_model = verdict_model or load_verdict_model()
    described = describe_match(best, reference, attempt, speeds=speeds)
    terms = compute_terms(**{k: v for k, v in described.items() if k in TERM_INPUTS})
    p_same = verdict_model.p_same(terms) if verdict_model is not None else None
    if threshold is not None:
        provenance = "given"
    elif verdict_model is not None:
        threshold, provenance = verdict_model.threshold_distance(terms), f"{VERDICT_FILE.name}: {verdict_model.provenance}"
    else:
        threshold, provenance = default_threshold()
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
    # each step's standard error in each clip, from the feature's confidence there (lab.score.uncertainty)
    model = error_model or load_angle_error_model()
    ref_src, att_src = ref_d.build_error_source(), att_d.build_error_source()
    se_ref = np.stack([estimate_step_sd_deg(n, ref_fs.confidence[path[:, 0], i], ref_src, model=model)
                       for n, i in zip(names, ang)], 1)
    se_att = np.stack([estimate_step_sd_deg(o, att_used.confidence[path[:, 1], i], att_src, model=model)
                       for o, i in zip(own, ang)], 1)
    per_step = pd.DataFrame({
        "step": np.tile(np.arange(L), A), "reference_time_s": np.tile(path_t[:, 0], A),
        "attempt_time_s": np.tile(path_t[:, 1], A), "joint": np.repeat(names, L),
        "attempt_joint": np.repeat(own, L), "reference_deg": X.T.ravel(), "attempt_deg": Y.T.ravel(),
        "difference_deg": diff.T.ravel(), "confidence": C.T.ravel(), "phase": np.tile(phase, A),
        "reference_se_deg": se_ref.T.ravel(), "attempt_se_deg": se_att.T.ravel()})
    phases = summarize_phase_differences(per_step, reference=ref_src, attempt=att_src, model=model)
    joints = []
    for k, n in enumerate(names):
        ok = np.isfinite(diff[:, k]) & (C[:, k] > 0.05)
        sure = _joint_uncertainty(phases[phases["joint"] == n])
        if ok.sum() < 3:
            joints.append(JointResult(name=n, attempt_joint=own[k], **sure))
            continue
        d, c = diff[ok, k], C[ok, k]
        iw = int(np.argmax(np.abs(d) * c))
        joints.append(JointResult(name=n, attempt_joint=own[k],
                                  mean_abs_deg=round(float(np.average(np.abs(d), weights=c)), 2),
                                  mean_signed_deg=round(float(np.average(d, weights=c)), 2),
                                  worst_time_s=round(float(path_t[ok][iw, 0]), 3),
                                  worst_attempt_time_s=round(float(path_t[ok][iw, 1]), 3),
                                  worst_deg=round(float(d[iw]), 2), confidence=round(float(c.mean()), 3), **sure))
    joints.sort(key=lambda j: -(j.mean_abs_deg or 0.0) * (j.confidence or 0.0))

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
    near_line = False
    if thin:
        verdict = "uncertain"
    elif provenance == "given" or verdict_model is None or p_same is None:
        verdict = "same" if distance <= threshold else "different"
    else:
        verdict = verdict_model.verdict(p_same)
        near_line = verdict == "uncertain"
    if verdict != "uncertain" and margin < 0.1:
        warn.append(f"the distance {distance:.1f} is within 10% of the threshold {threshold:.1f}: a close call")
    # --- words: technique only for the same movement, and only beyond what these cameras can show
    judgeable = {j.name for j in joints if j.can_judge}
    feedback = feedback_sentences(phases, judgeable=judgeable, n_sentences=3) if verdict == "same" else []
    cannot = describe_unjudged_joints(joints, per_step)
    if verdict == "same":
        summary = summarize_same(score=score, feedback=feedback, joints=joints, mirrored=bool(mirrored))
    elif verdict == "different":
        summary = summarize_different(ref_fs, att_used, reference_source=ref_src, attempt_source=att_src,
                                      mirrored=bool(mirrored), model=model)
    elif near_line:
        summary = (f"Uncertain: the two clips are neither clearly the same movement nor clearly a different one "
                   f"(probability of the same movement {p_same:.0%}, between {verdict_model.uncertain_band[0]:.0%} "
                   f"and {verdict_model.uncertain_band[1]:.0%}). Missing evidence: a longer attempt, or one filmed "
                   "closer to the coach's viewpoint, would decide. No technique advice until then.")
    else:
        summary = ("Uncertain: " + "; ".join(thin) + ". No technique advice until both clips show the whole "
                   "movement with the person in view.")
    settings = {"rate_hz": rate_hz, "window_s": window_s, "open_ends": open_ends, "mirror": mirror,
                "lift": lift, "n_phases": n_phases, "speeds": list(speeds), "speed_used": best.speed,
                "tempo_penalty": TEMPO_PENALTY}
    return Comparison(score=score, distance=distance, threshold=threshold, p_same=p_same, verdict_terms=terms,
                      threshold_provenance=provenance, verdict=verdict, mirrored=bool(mirrored),
                      mirror_costs=best.tried, path_time_s=path_t, slope=best.slope, reference=ref_d,
                      attempt=att_d, relative_azimuth_deg=rel, joints=joints, feedback=feedback,
                      warnings=warn, evidence=evidence, per_step=per_step, settings=settings,
                      cannot_judge=cannot, summary=summary)


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def describe_difference(joint: str, difference_deg: float, time_s: float, *, than: str = "the coach") -> str:
    """One sentence: how the attempt's ``joint`` angle differs from the coach's at ``time_s``.

    ``difference_deg`` is attempt minus reference, in the conventions of
    :mod:`lab.features.angles` (positive = more flexion / lean / elevation);
    ``than`` names what it is compared with.
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
    return f"{subject} {verb} than {than} at {time_s:.1f} s"


#: A joint whose detectable difference exceeds this (degrees) cannot be judged from these cameras.
JUDGEABLE_MAX_DEG = 60.0

#: Body parts named in a movement summary, and the angles that move them.
BODY_PARTS: dict[str, tuple[str, ...]] = {
    "arms": ("left_elbow", "right_elbow", "left_shoulder", "right_shoulder"),
    "legs": ("left_knee", "right_knee", "left_hip", "right_hip", "left_ankle", "right_ankle",
             "left_hip_abduction", "right_hip_abduction"),
    "trunk": ("trunk_lean",),
    "head": ("neck",),
}


def _joint_uncertainty(rows) -> dict[str, Any]:
    """JointResult's uncertainty fields from one joint's rows of the phase table."""
    seen = rows[rows["steps"] >= 3]
    if seen.empty or not np.isfinite(seen["detectable_deg"]).any():
        return {"can_judge": False}
    det = float(seen["detectable_deg"].max())
    return {"standard_error_deg": round(float(seen["se_deg"].median()), 2),
            "threshold_deg": round(float(seen["threshold_deg"].max()), 2), "detectable_deg": round(det, 2),
            "can_judge": bool(det <= JUDGEABLE_MAX_DEG)}


def feedback_sentences(phases, *, judgeable: set[str] | None = None, n_sentences: int = 3) -> list[str]:
    """Technique sentences: per joint, the phase whose difference most exceeds what noise can make.

    Parameters
    ----------
    phases : DataFrame
        :func:`lab.score.uncertainty.summarize_phase_differences` (one row per joint and phase).
    judgeable : set of str, optional
        The coach's joints these cameras can judge (default: all).
    n_sentences : int
        At most this many sentences, one per joint, largest ``|mean| / threshold`` first.

    A sentence appears only where the phase's mean difference exceeds its
    ``threshold_deg`` (the 95% minimal detectable difference). It names the
    player's own joint (``attempt_joint``: the other side when the attempt was
    matched as a mirror image) and no side of the coach's, so the words never
    mix sides; it is timed on the coach's clip at the largest difference of
    that phase and says the phase mean with its 95% interval.
    """
    ok = phases[np.isfinite(phases["threshold_deg"]) & (phases["mean_deg"].abs() > phases["threshold_deg"])]
    if judgeable is not None:
        ok = ok[ok["joint"].isin(judgeable)]
    ok = ok.assign(excess=ok["mean_deg"].abs() / ok["threshold_deg"]).sort_values("excess", ascending=False)
    out, used = [], set()
    for r in ok.itertuples():
        if r.joint in used:
            continue
        used.add(r.joint)
        text = describe_difference(r.attempt_joint, r.worst_deg, r.worst_time_s)
        half = 1.96 * r.se_deg
        out.append(text[0].upper() + text[1:] + f" (phase {r.phase}, {abs(r.mean_deg):.0f} \u00b1 {half:.0f} degrees "
                                                 "on average)")
        if len(out) >= n_sentences:
            break
    return out


def describe_unjudged_joints(joints: list[JointResult], per_step) -> list[str]:
    """One sentence per joint these cameras cannot judge, naming the player's own side and which camera limits it."""
    out = []
    for j in joints:
        if j.can_judge:
            continue
        rows = per_step[per_step["joint"] == j.name]
        who = "these cameras"
        if j.detectable_deg is None:
            out.append(f"The {_pretty(j.attempt_joint)} can't be judged: it is not seen well enough in these clips")
            continue
        ref_se, att_se = float(np.nanmedian(rows["reference_se_deg"])), float(np.nanmedian(rows["attempt_se_deg"]))
        if att_se > 1.5 * ref_se:
            who = "the player's camera"
        elif ref_se > 1.5 * att_se:
            who = "the coach's camera"
        out.append(f"The {_pretty(j.attempt_joint)} can't be judged from {who}: its noise would hide differences "
                   f"smaller than {j.detectable_deg:.0f} degrees")
    return out


def summarize_same(*, score: float, feedback: list[str], joints: list[JointResult], mirrored: bool) -> str:
    """The whole movement in words for a "same" verdict."""
    text = f"Same movement (score {score:.0f}/100)."
    if feedback:
        text += f" {len(feedback)} difference{'s' if len(feedback) > 1 else ''} larger than these cameras can show."
    else:
        best = min((j for j in joints if j.can_judge), key=lambda j: j.detectable_deg, default=None)
        text += " No difference larger than these cameras can show"
        text += (f" (the smallest they could: {best.detectable_deg:.0f} degrees at the {_pretty(best.attempt_joint)})."
                 if best is not None else ".")
    n_cannot = sum(not j.can_judge for j in joints)
    if n_cannot:
        text += f" {n_cannot} of {len(joints)} joints can't be judged from these cameras."
    if mirrored:
        text += " Compared as the coach's mirror image: left and right are the player's own."
    return text


def measure_body_part_motion(fs: FeatureSet, source: ClipErrorSource, *, model: AngleErrorModel,
                             own_names: dict[str, str] | None = None):
    """Per angle of one clip: range of motion (degrees, 5th to 95th percentile) and its standard error.

    Returns a DataFrame ``joint, own_joint, part, range_deg, range_se_deg``.
    """
    import pandas as pd

    rows = []
    for part, members in BODY_PARTS.items():
        for joint in members:
            if joint not in fs.names:
                continue
            k = fs.names.index(joint)
            own = (own_names or {}).get(joint, joint)
            sd = estimate_step_sd_deg(own, fs.confidence[:, k], source, model=model)
            rows.append({"joint": joint, "own_joint": own, "part": part,
                         "range_deg": measure_range_of_motion(fs.values[:, k], fs.confidence[:, k]),
                         "range_se_deg": estimate_range_se_deg(sd[fs.confidence[:, k] > 0.05],
                                                               bias_fraction=0.0 if source.mocap
                                                               else model.bias_fraction)})
    return pd.DataFrame(rows)


def summarize_different(reference: FeatureSet, attempt: FeatureSet, *, reference_source: ClipErrorSource,
                        attempt_source: ClipErrorSource, mirrored: bool = False,
                        model: AngleErrorModel | None = None, alpha: float = FAMILY_ALPHA) -> str:
    """What differs at the level of the whole movement: which body parts move in one clip and not the other.

    A joint moves in a clip when its range of motion exceeds what noise makes
    (``z * range_se``); two clips' ranges differ when their difference exceeds
    ``z * sqrt(se_1^2 + se_2^2)``, z Bonferroni over every joint and clip at
    ``alpha``. ``attempt`` is the attempt as compared (mirrored if it was):
    its joints are named as the player's own. After a mirror match the coach's
    joint is the player's other side, so it is named without a side ("a
    shoulder", "in the coach's clip") and the text says the sides are the
    player's own: a sentence never pairs the player's right with the coach's left.
    """
    model = model or load_angle_error_model()
    ref = measure_body_part_motion(reference, reference_source, model=model)
    own = {n: (swap_side(n) if mirrored else n) for n in attempt.names}
    att = measure_body_part_motion(attempt, attempt_source, model=model, own_names=own)
    m = ref.merge(att, on=["joint", "part"], suffixes=("_ref", "_att"))
    z = compute_family_z(2 * len(m), alpha=alpha)
    m["moves_ref"] = m["range_deg_ref"] > z * m["range_se_deg_ref"]
    m["moves_att"] = m["range_deg_att"] > z * m["range_se_deg_att"]
    m["gap"] = m["range_deg_att"] - m["range_deg_ref"]
    m["gap_z"] = m["gap"] / np.hypot(m["range_se_deg_ref"], m["range_se_deg_att"])
    phrases, both = [], []
    for part, g in m.groupby("part", sort=False):
        g = g[np.isfinite(g["gap_z"])]
        if g.empty:
            continue
        sig = g[g["gap_z"].abs() > z]
        if sig.empty:
            if g["moves_ref"].any() and g["moves_att"].any():
                both.append(part)
            continue
        r = sig.loc[sig["gap_z"].abs().idxmax()]
        if r["gap"] > 0:
            more, less = "player", "coach"
            name, rng, other, other_moves = r["own_joint_att"], r["range_deg_att"], r["range_deg_ref"], r["moves_ref"]
            other_name = r["own_joint_ref"]
        else:
            more, less = "coach", "player"
            name, rng, other, other_moves = r["own_joint_ref"], r["range_deg_ref"], r["range_deg_att"], r["moves_att"]
            other_name = r["own_joint_att"]
        s = "" if part.endswith("s") else "s"
        # after a mirror match the two clips' joints are on opposite sides: only the player's is named
        if more == "coach" and mirrored and unsided(name) != name:
            named, where = f"a {_pretty(unsided(name))}", f"for the player's {_pretty(other_name)}"
        else:
            named, where = f"the {_pretty(name)}", f"in the {less}'s clip"
        tail = (f"while the {less}'s hardly move{s}" if not other_moves
                else f"against {other:.0f} {where}")
        phrases.append(f"the {more}'s {part} move{s} ({named} through {rng:.0f} degrees) {tail}")
    if phrases:
        text = "Different movement: " + "; ".join(phrases) + "."
    else:
        text = ("Different movement: no body part's range of motion differs by more than these cameras can show; "
                "the two differ in the shape and timing of the movement.")
    if both:
        text += f" The {' and the '.join(both)} move in both clips."
    if mirrored and phrases:
        text += " Compared as the coach's mirror image: left and right are the player's own."
    return text
