"""The comparison as the player moves: one pose frame in, where they are in the drill out.

:class:`LiveComparison` holds the coach's repetition (features on a uniform
time base, as offline) and, for the stream, the causal body frame
(:class:`lab.lift.stream.StreamLifter`) and features
(:class:`lab.features.stream.StreamFeatures`). Each pushed frame is turned
into samples at ``rate_hz`` (interpolated between frames; a gap of more than
``max_gap_s`` is not bridged) and each sample advances an open-begin,
open-end subsequence DTW against the coach's repetition
(:class:`lab.dtw.online.OnlineMatcher`; also against the mirror image with
``mirror="auto"``). After each frame a :class:`LiveUpdate` says:

- **where**: the coach's sample whose prefix fits the stream best (its mean
  cost, not allowed to run back more than a tenth of the drill within a
  repetition), as ``progress`` 0-1 and ``phase`` 1..``n_phases``;
- **how close so far**: ``score`` and ``p_same`` of that prefix match, by the
  shipped verdict model (:mod:`lab.score.verdict`) with the prefix as the
  reference;
- **one cue at most**, only while the repetition so far is judged the same
  movement (no technique advice for a different one): per joint angle, the confidence-weighted mean
  difference over the last ``hold_s`` against its standard error from the
  error model (:mod:`lab.score.uncertainty`: both clips, correlated in time),
  with the same family-wise z and "can't be judged" rule as the offline
  feedback; the joint furthest beyond its threshold, named on the player's
  own side;
- **repetitions**: a whole match of the coach's repetition that costs at most
  :data:`LIVE_MAX_COST_FRACTION` of the statue's cost plus :data:`LIVE_NOISE_COST`
  and moves at least :data:`lab.reps.segment.MIN_MOTION_RATIO` as much and more
  than :data:`lab.reps.segment.STILL_MOTION`, once no
  cheaper end has come for ``settle_s``, is a repetition: it is reported
  (``completed``) and the alignment restarts after its end.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any

import numpy as np

from lab.align.ghost import ghost_in_frame
from lab.dtw.online import OnlineMatcher
from lab.features import FeatureSet, compute_features, mirror_features, resample_features
from lab.features.scale import measure_motion_amplitude, scale_features
from lab.features.stream import StreamFeatures
from lab.lift import face_forward
from lab.lift.stream import StreamLifter
from lab.pose.sides import mirror_permutation, swap_side
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.reps.segment import (
    MIN_MOTION_RATIO,
    MIN_PARTIAL_FRACTION,
    MIN_PARTIAL_MOTION,
    STILL_MOTION,
    STILL_PARTIAL_MOTION,
)
from lab.score.compare import JUDGEABLE_MAX_DEG, describe_difference, score_from_distance
from lab.score.uncertainty import (
    FAMILY_ALPHA,
    AngleErrorModel,
    ClipErrorSource,
    compute_family_z,
    estimate_mean_se_deg,
    estimate_step_sd_deg,
    load_angle_error_model,
)
from lab.score.verdict import compute_terms, load_verdict_model

#: A repetition's whole match costs at most this fraction of the statue's cost. Live features are
#: noisier than the offline search's (causal filters, the lift's warm-up), so the offline limit
#: (:data:`lab.reps.segment.MAX_COST_FRACTION`) would miss most repetitions; chosen on the tuning
#: styles of :mod:`lab.reps.evaluate` (0.9, 1.2 and 1.5 tried) and reported on the other styles.
LIVE_MAX_COST_FRACTION = 1.5
#: What measurement noise alone adds to a live match's cost (squared degree-equivalents; as
#: :data:`lab.reps.segment.NOISE_COST` offline). None: the allowances tried with
#: ``python -m lab.live.evaluate --reps --tune`` (with smaller fractions) did no better.
LIVE_NOISE_COST = 0.0
#: A repetition is partial when its match lacks more than this fraction of the coach's repetition at
#: its start (the offline search's partial repetitions hold at least MIN_PARTIAL_FRACTION of it).
MAX_MISSING_FRACTION = 0.25


@dataclasses.dataclass(frozen=True)
class LiveCue:
    """A difference the cameras can show, held for long enough.

    Attributes
    ----------
    joint : str
        The player's own joint (angle name of :mod:`lab.features.angles`).
    text : str
        One sentence for the player.
    difference_deg : float
        Mean difference over the window (player minus coach), degrees.
    threshold_deg : float
        What noise alone could make it (the family-wise z times its standard error), degrees.
    """

    joint: str
    text: str
    difference_deg: float
    threshold_deg: float

    def to_dict(self) -> dict[str, Any]:
        return {"joint": self.joint, "text": self.text, "difference_deg": round(self.difference_deg, 1),
                "threshold_deg": round(self.threshold_deg, 1)}


@dataclasses.dataclass(frozen=True)
class LiveRepetition:
    """A repetition completed in the stream (times on the stream's clock, seconds).

    ``partial``: it began before the player was seen (the stream started, or the player came back into
    view, in the middle of it); it is reported but not counted in ``rep_count``.
    """

    index: int
    start_s: float
    end_s: float
    score: float
    p_same: float | None
    verdict: str
    mirrored: bool
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "partial": self.partial,
                "score": round(self.score, 1), "p_same": None if self.p_same is None else round(self.p_same, 3),
                "verdict": self.verdict, "mirrored": self.mirrored}


@dataclasses.dataclass(frozen=True)
class LiveUpdate:
    """What the comparison knows after one frame.

    Attributes
    ----------
    time_s : float
        The frame's time on the stream's clock.
    seen : bool
        A person was found in the frame.
    progress : float or None
        How far through the coach's repetition the player is, 0-1 (None before any sample).
    phase : int or None
        1..n_phases.
    score : float or None
        Similarity 0-100 of the repetition so far (50 = the verdict model's line).
    p_same : float or None
        The verdict model's probability of the same movement, for the repetition so far.
    mirrored : bool or None
        The stream matches the coach's mirror image better.
    cue : LiveCue or None
    rep_count : int
        Full repetitions completed.
    completed : LiveRepetition or None
        The repetition that was completed at this frame.
    ghost_px : ndarray (K, 2) or None
        The coach's matched pose over this frame, in the player's pixels
        (:func:`lab.align.ghost.ghost_in_frame`; with a ``reference_body``). Not in :meth:`to_dict`.
    """

    time_s: float
    seen: bool
    progress: float | None
    phase: int | None
    score: float | None
    p_same: float | None
    mirrored: bool | None
    cue: LiveCue | None
    rep_count: int
    completed: LiveRepetition | None
    ghost_px: np.ndarray | None = dataclasses.field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        def r(v, d):
            return None if v is None else round(float(v), d)
        return {"time_s": round(self.time_s, 3), "seen": self.seen, "progress": r(self.progress, 3),
                "phase": self.phase, "score": r(self.score, 1), "p_same": r(self.p_same, 3),
                "mirrored": self.mirrored, "cue": None if self.cue is None else self.cue.to_dict(),
                "rep_count": self.rep_count,
                "completed": None if self.completed is None else self.completed.to_dict()}


def prepare_live_reference(track: PoseTrack, body: PoseTrack, *, start_s: float | None = None,
                           end_s: float | None = None) -> FeatureSet:
    """The coach's features for a live comparison: the stretch ``[start_s, end_s]`` facing forward.

    A live stream's body frame takes its heading from the last few seconds
    (:class:`lab.lift.stream.StreamLifter`); the coach's stretch is turned the
    same way (:func:`lab.lift.face_forward`) before its features are computed,
    so a coach who turns elsewhere in the clip does not turn the drill's
    positions.

    Parameters
    ----------
    track : PoseTrack
        The coach's pose track (frame ``camera``, ``lab`` or ``body``).
    body : PoseTrack
        The same frames in frame ``body`` (:func:`lab.pipeline.lift_stage`).
    start_s, end_s : float, optional
        The stretch (default the whole clip), seconds on the track's time base.
    """
    keep = _stretch(track, start_s, end_s)
    return compute_features(track.select_frames(keep), body=face_forward(body.select_frames(keep)))


def prepare_live_ghost(track: PoseTrack, body: PoseTrack, *, start_s: float | None = None,
                       end_s: float | None = None) -> PoseTrack:
    """The coach's stretch in frame ``body`` as :func:`prepare_live_reference` turns it: the
    ``reference_body`` of :class:`LiveComparison`, whose updates then carry the coach's ghost."""
    return face_forward(body.select_frames(_stretch(track, start_s, end_s)))


def _stretch(track: PoseTrack, start_s: float | None, end_s: float | None) -> np.ndarray:
    t = track.time_s
    keep = (t >= (t[0] if start_s is None else start_s) - 1e-9) & (t <= (t[-1] if end_s is None else end_s) + 1e-9)
    if keep.sum() < 4:
        raise ValueError("the coach's stretch is too short to follow (fewer than 4 frames)")
    return keep


@dataclasses.dataclass
class _Variant:
    mirrored: bool
    matcher: OnlineMatcher
    columns: collections.deque  # (sample index, local costs, open start) for replay after a repetition


class LiveComparison:
    """Compare a pose stream with a coach's repetition, one frame at a time (see the module docstring).

    Parameters
    ----------
    reference : FeatureSet
        The coach's repetition (:func:`lab.features.compute_features` of the stored track, or one
        repetition cut by :func:`lab.reps.typical_repetition`).
    reference_source : ClipErrorSource
        How the coach's angles were measured (camera or motion capture, and the landmarker).
    attempt_source : ClipErrorSource
        How the player's are: by the stream's landmarker (``pose_model``), from a camera.
    keypoints : tuple of str
        Landmark names of the frames pushed.
    width, height : int, optional
        The player's image size, pixels.
    rate_hz : float
        Samples per second of the alignment (the coach's features are resampled to it).
    mirror : {"auto", "no", "yes"}
        Also match the player's mirror image ("auto"), never ("no", sided drills), only ("yes").
    n_phases : int
        Phases of the drill for ``phase``.
    hold_s : float
        A cue needs a difference over this long a window, seconds.
    settle_s : float
        A repetition ends when no cheaper end has come for this long, seconds.
    max_gap_s : float
        Frames further apart than this are not interpolated between.
    error_model : AngleErrorModel, optional
        The joint-angle error model (default the shipped one, ``uncertainty.json``).
    max_cost_fraction : float
        A repetition's whole match may cost at most this fraction of the statue's cost
        (:data:`LIVE_MAX_COST_FRACTION`), plus ``noise_cost``.
    noise_cost : float
        What measurement noise alone adds to a match's cost (:data:`LIVE_NOISE_COST`).
    reference_body : PoseTrack, optional
        The coach's repetition in frame ``body``, the frames ``reference`` was computed from (as
        :func:`prepare_live_reference` turns them); each update then carries the coach's ghost.
    """

    def __init__(self, reference: FeatureSet, *, reference_source: ClipErrorSource = ClipErrorSource(),
                 attempt_source: ClipErrorSource = ClipErrorSource(),
                 keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS, width: int | None = None,
                 height: int | None = None, rate_hz: float = 30.0, mirror: str = "auto", n_phases: int = 4,
                 hold_s: float = 0.5, settle_s: float = 0.3, max_gap_s: float = 0.25,
                 error_model: AngleErrorModel | None = None, reference_body: PoseTrack | None = None,
                 max_cost_fraction: float = LIVE_MAX_COST_FRACTION, noise_cost: float = LIVE_NOISE_COST):
        if mirror not in ("auto", "no", "yes"):
            raise ValueError(f"mirror must be auto, no or yes, got {mirror!r}")
        ref = resample_features(reference, rate_hz=rate_hz)
        if len(ref.time_s) < 4:
            raise ValueError("the coach's repetition is too short to follow (fewer than 4 samples)")
        self.reference = ref
        self.rate_hz, self.n_phases, self.max_gap_s = rate_hz, n_phases, max_gap_s
        self.hold_n = max(3, int(round(hold_s * rate_hz)))
        self.settle_n = max(1, int(round(settle_s * rate_hz)))
        #: the running score's measure of the player's motion is refreshed every this many samples
        self.motion_refresh_n = max(1, int(round(0.2 * rate_hz)))
        self.lifter = StreamLifter(keypoints=keypoints, width=width, height=height)
        self.keypoints = tuple(keypoints)
        self.max_cost_fraction = float(max_cost_fraction)
        self.noise_cost = float(noise_cost)
        self._ghost: tuple[np.ndarray, np.ndarray] | None = None
        self._row_delay_s = 0.0
        if reference_body is not None:
            if reference_body.frame != "body" or reference_body.world_m is None:
                raise ValueError("reference_body must be a track in frame 'body'")
            where = [reference_body.keypoints.index(k) if k in reference_body.keypoints else -1 for k in self.keypoints]
            poses = np.where(np.array(where)[None, :, None] >= 0, reference_body.world_m[:, where], np.nan)
            self._ghost = (np.asarray(reference_body.time_s, float), poses)
            self._ghost_perm = mirror_permutation(self.keypoints)
        self.features = StreamFeatures(keypoints=keypoints)
        x, self.weights = scale_features(ref)
        ones = np.ones((1, len(ref.names)))
        self.scale = scale_features(FeatureSet(time_s=np.zeros(1), values=ones, confidence=ones,
                                               names=ref.names))[0][0]  # each feature's unit, (F,)
        self.variants = [_Variant(m, OnlineMatcher(x, query_confidence=ref.confidence, feature_weights=self.weights),
                                  collections.deque(maxlen=int(4 * rate_hz)))
                         for m in {"auto": (False, True), "no": (False,), "yes": (True,)}[mirror]]
        # a mirror image permutes the features and flips some signs: found once, from mirror_features itself
        probe = FeatureSet(time_s=np.zeros(1), values=np.arange(1.0, len(ref.names) + 1)[None],
                           confidence=np.ones((1, len(ref.names))), names=ref.names)
        mirrored = mirror_features(probe).values[0]
        self._mirror_index = (np.abs(mirrored) - 1).astype(int)
        self._mirror_sign = np.sign(mirrored)
        self.statue = measure_motion_amplitude(ref) ** 2
        self._prefix_motion: dict[int, float] = {}
        self._stream_motion: tuple[int, int, float] = (-1, -1, float("nan"))
        self.ref_motion = float(np.sqrt(self.statue))
        self.verdict_model = load_verdict_model()
        self.error_model = error_model or load_angle_error_model()
        self.reference_source = reference_source
        self.attempt_source = attempt_source
        self.angles = [i for i, n in enumerate(ref.names) if ref.kind(n) == "angle"]
        self.ref_sd = {ref.names[k]: estimate_step_sd_deg(ref.names[k], ref.confidence[:, k], reference_source,
                                                          model=self.error_model) for k in self.angles}
        self.z = compute_family_z(len(self.angles) * n_phases, alpha=FAMILY_ALPHA)
        self.z_power = 1.2815515655446004  # normal quantile of 0.9: the offline detectable difference's power
        # the stream, one sample per 1 / rate_hz
        self.samples: list[np.ndarray] = []      # feature values (F,), in the reference's order
        self.confidence: list[np.ndarray] = []
        self.sample_time_s: list[float] = []
        self.positions: list[int] = []           # the coach's sample matched to each stream sample (-1: none)
        self.repetitions: list[LiveRepetition] = []
        self._names: tuple[str, ...] | None = None
        self._order: np.ndarray | None = None
        self._last: tuple[float, np.ndarray, np.ndarray] | None = None
        self._next_tick_s: float | None = None
        self._position: int | None = None
        self._since_rep = 0                       # first stream sample of the repetition in progress
        self._best: tuple[float, int, int, bool, int] | None = None  # (cost, end, start, mirrored, matched)
        self._open_start = True
        self._variant: _Variant | None = None

    # ------------------------------------------------------------------ samples
    def _take_row(self, values: np.ndarray, conf: np.ndarray, names: tuple[str, ...]):
        if self._names != names:
            missing = [n for n in self.reference.names if n not in names]
            if missing:
                raise ValueError(f"the stream's features lack {missing[:3]}")
            self._names = names
            self._order = np.array([names.index(n) for n in self.reference.names])
        return values[self._order], conf[self._order]

    def _ticks(self, t: float, values: np.ndarray, conf: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """Samples at steps of 1 / rate_hz after the last frame up to ``t``, interpolated between the two.

        The first frame, and the first after a gap longer than ``max_gap_s``
        (not bridged: the samples in the gap are lost), is a sample itself.
        """
        last, self._last = self._last, (t, values, conf)
        if last is None or t - last[0] > self.max_gap_s:
            self._next_tick_s = t + 1.0 / self.rate_hz
            self._open_start = True  # the player may be in the middle of a repetition
            return [(t, values, conf)]
        out = []
        while self._next_tick_s <= t + 1e-9:
            tk = self._next_tick_s
            a = (tk - last[0]) / (t - last[0])
            v = (1.0 - a) * last[1] + a * values
            v = np.where(np.isfinite(v), v, values if a >= 0.5 else last[1])
            out.append((tk, v, np.where(np.isfinite(v), np.minimum(last[2], conf), 0.0)))
            self._next_tick_s = tk + 1.0 / self.rate_hz
        return out

    def _mirror_row(self, values: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One sample's mirror image (:func:`lab.features.mirror_features`, by its permutation and signs)."""
        return values[self._mirror_index] * self._mirror_sign, conf[self._mirror_index]

    def _advance(self, values: np.ndarray, conf: np.ndarray) -> None:
        j = len(self.samples)
        self.samples.append(values)
        self.confidence.append(conf)
        scaled = values * self.scale
        open_start, self._open_start = self._open_start, False
        for v in self.variants:
            row, rc = (self._mirror_row(scaled, conf) if v.mirrored else (scaled, conf))
            c = v.matcher.local_costs(row, rc)
            v.matcher.push_costs(c, open_start=open_start)
            v.columns.append((j, c, open_start))

    # ------------------------------------------------------------------ reading the match
    def _locate(self) -> tuple[_Variant, int, float]:
        """The variant and the coach's sample that fit the stream best now, and that prefix's mean cost."""
        best = None
        N = len(self.reference.time_s)
        lo = 0 if self._position is None else max(0, self._position - N // 10)
        for v in self.variants:
            p = v.matcher.prefix_cost[lo:]
            if not np.isfinite(p).any():
                continue
            i = lo + int(np.nanargmin(np.where(np.isfinite(p), p, np.nan)))
            if best is None or v.matcher.prefix_cost[i] < best[2]:
                best = (v, i, float(v.matcher.prefix_cost[i]))
        return best if best is not None else (self.variants[0], 0, float("inf"))

    def _motion_since(self, start: int, stop: int, *, refresh_n: int = 1) -> float:
        """How much the stream's samples [start, stop) move (:func:`measure_motion_amplitude`); with
        ``refresh_n`` > 1 the last value is reused until the window has grown by that many samples."""
        if stop - start < 2:
            return float("nan")
        s0, e0, value = self._stream_motion
        if s0 == start and 0 <= stop - e0 < refresh_n:
            return value
        fs = FeatureSet(time_s=np.arange(stop - start) / self.rate_hz, values=np.array(self.samples[start:stop]),
                        confidence=np.array(self.confidence[start:stop]), names=self.reference.names)
        value = measure_motion_amplitude(fs)
        self._stream_motion = (start, stop, value)
        return value

    def _reference_motion(self, stop: int) -> float:
        """How much the coach's samples [0, stop] move."""
        if stop < 2:
            return float("nan")
        if stop not in self._prefix_motion:
            ref = self.reference
            self._prefix_motion[stop] = measure_motion_amplitude(dataclasses.replace(
                ref, time_s=ref.time_s[:stop + 1], values=ref.values[:stop + 1], confidence=ref.confidence[:stop + 1]))
        return self._prefix_motion[stop]

    def _judge(self, cost: float, *, ref_stop: int, start: int, stop: int,
               refresh_n: int = 1) -> tuple[float, float | None, str]:
        """(score, p_same, verdict) of the stream's samples [start, stop) against the coach's [0, ref_stop]."""
        distance = math.sqrt(max(cost, 0.0))
        if self.verdict_model is None:
            return score_from_distance(distance, threshold=20.0), None, "uncertain"
        terms = compute_terms(distance=distance, reference_motion_deg=self._reference_motion(ref_stop),
                              attempt_motion_deg=self._motion_since(start, stop, refresh_n=refresh_n),
                              matched_fraction=1.0, extreme_speed=False)
        p = self.verdict_model.p_same(terms)
        line = self.verdict_model.threshold_distance(terms)
        return score_from_distance(distance, threshold=line), p, self.verdict_model.verdict(p)

    def _cue(self, variant: _Variant) -> LiveCue | None:
        """The joint furthest beyond its threshold over the last ``hold_n`` samples, if any."""
        n = self.hold_n
        pos = np.array(self.positions[-n:])
        if len(pos) < n or (pos < 0).any():
            return None
        att = np.array(self.samples[-n:])
        att_c = np.array(self.confidence[-n:])
        if variant.mirrored:
            rows = [self._mirror_row(a, c) for a, c in zip(att, att_c)]
            att, att_c = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
        t_att = np.array(self.sample_time_s[-n:])
        t_ref = self.reference.time_s[pos]
        best = None
        for k in self.angles:
            name = self.reference.names[k]
            d = att[:, k] - self.reference.values[pos, k]
            w = np.minimum(att_c[:, k], self.reference.confidence[pos, k])
            ok = np.isfinite(d) & (w > 0.05)
            if ok.sum() < 3:
                continue
            att_sd = estimate_step_sd_deg(name, att_c[ok, k], self.attempt_source, model=self.error_model)
            se = math.hypot(
                estimate_mean_se_deg(self.ref_sd[name][pos[ok]], w[ok], t_ref[ok],
                                     bias_fraction=self.error_model.bias_fraction,
                                     correlation_time_s=self.error_model.correlation_time_s),
                estimate_mean_se_deg(att_sd, w[ok], t_att[ok], bias_fraction=self.error_model.bias_fraction,
                                     correlation_time_s=self.error_model.correlation_time_s))
            if not np.isfinite(se) or (self.z + self.z_power) * se > JUDGEABLE_MAX_DEG:
                continue  # this joint can't be judged from these cameras
            m = float(np.average(d[ok], weights=w[ok]))
            ratio = abs(m) / (self.z * se)
            if ratio > 1.0 and (best is None or ratio > best[0]):
                best = (ratio, name, m, self.z * se)
        if best is None:
            return None
        _, name, m, thr = best
        joint = swap_side(name) if variant.mirrored else name
        text = describe_difference(joint, m, float(t_att[-1]))
        return LiveCue(joint=joint, text=text[:1].upper() + text[1:], difference_deg=m, threshold_deg=thr)

    def _check_repetition(self, *, final: bool = False) -> LiveRepetition | None:
        j = len(self.samples) - 1
        N = len(self.reference.time_s)
        limit = self.max_cost_fraction * self.statue + self.noise_cost
        for v in self.variants:
            end = float(v.matcher.prefix_cost[-1])
            matched = int(v.matcher.matched[-1])
            if end <= limit and matched >= MIN_PARTIAL_FRACTION * N and (self._best is None or end < self._best[0]):
                self._best = (end, j, int(v.matcher.start[-1]), v.mirrored, matched)
        if self._best is None or (j - self._best[1] < self.settle_n and not final):
            return None
        cost, end_j, start_j, mirrored, matched = self._best
        self._best = None
        # it began before the stream (or the player) was seen: the match lacks more of the coach's start
        # than the stream's first samples, which wait for the features' window and the lift's warm-up, lose
        partial = matched < (1.0 - MAX_MISSING_FRACTION) * N
        motion = self._motion_since(start_j, end_j + 1)
        need = (max(MIN_PARTIAL_MOTION * self.ref_motion, STILL_PARTIAL_MOTION) if partial
                else max(MIN_MOTION_RATIO * self.ref_motion, STILL_MOTION))
        if not (np.isfinite(motion) and motion >= need):
            return None
        score, p, verdict = self._judge(cost, ref_stop=N - 1, start=start_j, stop=end_j + 1)
        rep = LiveRepetition(index=len(self.repetitions) + 1, start_s=float(self.sample_time_s[start_j]),
                             end_s=float(self.sample_time_s[end_j]), score=score, p_same=p, verdict=verdict,
                             mirrored=mirrored, partial=partial)
        self.repetitions.append(rep)
        # the next repetition starts after this one's end: replay the samples since then
        for v in self.variants:
            v.matcher.restart()
            v.matcher.j = end_j
            for jj, c, open_start in list(v.columns):
                if jj > end_j:
                    v.matcher.push_costs(c, open_start=open_start)
        self._position = None
        self._since_rep = end_j + 1
        return rep

    @property
    def rep_count(self) -> int:
        """Full repetitions completed so far."""
        return sum(not r.partial for r in self.repetitions)

    def finish(self) -> LiveRepetition | None:
        """The stream has ended: a repetition that ended in its last ``settle_s`` is counted now."""
        if not self.samples:
            return None
        return self._check_repetition(final=True)

    # ------------------------------------------------------------------ the step
    def push(self, time_s: float, world_m: np.ndarray | None, *, image_px: np.ndarray | None = None,
             visibility: np.ndarray | None = None) -> LiveUpdate:
        """Take one pose frame and say where the player is.

        Parameters
        ----------
        time_s : float
            Seconds on the stream's clock, increasing.
        world_m : ndarray (K, 3) or None
            MediaPipe's world landmarks (frame ``camera``); None or NaN when nobody was found.
        image_px : ndarray (K, 2), optional
            Image landmarks, pixels.
        visibility : ndarray (K,), optional
        """
        lifted = None
        if world_m is not None:
            lifted = self.lifter.push(time_s, world_m, image_px=image_px, visibility=visibility)
        completed = None
        row = None if lifted is None else self.features.push(lifted)
        if row is not None:
            t_row, values, conf, names = row
            self._row_delay_s = time_s - t_row  # the features describe the pose this long before the frame
            values, conf = self._take_row(values, conf, names)
            for tk, v, c in self._ticks(t_row, values, conf):
                self._advance(v, c)
                self.sample_time_s.append(tk)
                variant, i, _ = self._locate()
                self._position, self._variant = i, variant
                self.positions.append(i)
                rep = self._check_repetition()
                completed = rep or completed
        if self._variant is None or not self.samples:
            return LiveUpdate(time_s=time_s, seen=lifted is not None, progress=None, phase=None, score=None,
                              p_same=None, mirrored=None, cue=None, rep_count=self.rep_count,
                              completed=completed)
        variant, i, cost = self._locate()
        N = len(self.reference.time_s)
        start = max(int(variant.matcher.start[i]), self._since_rep)
        score, p, verdict = self._judge(cost, ref_stop=i, start=start, stop=len(self.samples),
                                        refresh_n=self.motion_refresh_n)
        # technique cues only while the movement matches (no advice for a different movement)
        cue = self._cue(variant) if lifted is not None and verdict == "same" else None
        ghost = (self._ghost_at(i, variant.mirrored, lifted, image_px)
                 if self._ghost is not None and lifted is not None and image_px is not None else None)
        return LiveUpdate(time_s=time_s, seen=lifted is not None, progress=(i + 1) / N,
                          phase=min(self.n_phases, 1 + i * self.n_phases // N), score=score, p_same=p,
                          mirrored=variant.mirrored, cue=cue, rep_count=self.rep_count, completed=completed,
                          ghost_px=ghost)

    def _ghost_at(self, i: int, mirrored: bool, lifted, image_px: np.ndarray) -> np.ndarray:
        """The coach's pose at their sample ``i`` (mirrored if matched so) over the player's frame.

        Sample ``i`` matches the features' row, which describes the pose a little before the frame
        (:class:`lab.features.stream.StreamFeatures`); the coach is taken as far ahead.
        """
        times, poses = self._ghost
        t = self.reference.time_s[i] + self._row_delay_s
        k = int(np.clip(np.searchsorted(times, t - 0.5 / self.rate_hz), 0, len(times) - 1))
        pose = poses[k]
        if mirrored:  # the subject's left is body x: a reflection, left and right swapped
            pose = pose[self._ghost_perm] * np.array([-1.0, 1.0, 1.0])
        return ghost_in_frame(pose, lifted.camera_m, lifted.rotation, np.asarray(image_px, float),
                              keypoints=self.keypoints)
