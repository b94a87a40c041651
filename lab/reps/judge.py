"""Judge each repetition: against the coach's repetition, and against the player's other repetitions.

Each full repetition of the player's clip is compared with the coach's typical
repetition exactly as a whole clip is (:func:`lab.score.compare_features`: score,
``p_same``, verdict, feedback under the uncertainty rules). Then each one is
compared with the player's *other* repetitions: the same camera, the same
person, so what the camera gets wrong is mostly shared. The repetitions are
aligned with each other (onto their medoid, not through the coach's
repetition, which another camera filmed: that alignment would add its own
timing errors), and per joint and phase (the coach's phases, as the medoid was
matched to them) a repetition's mean angle is set against the median of the
others'.

With four repetitions or more (:data:`MIN_REPS_FOR_CONSISTENCY`), the spread
between repetitions measures what the camera does not make again: a robust z
uses the spread of those differences (1.4826 x their median absolute value),
over every repetition and phase of the joint or over that phase alone,
whichever is larger. With two or three, too few for that, the angle error
model gives the spread (:func:`compare_few_reps`, :data:`FEW_REPS_NOISE_SHARE`).
A difference is reported beyond the Bonferroni z over the tests (5%
family-wise) and at least :data:`MIN_REP_DIFFERENCE_DEG`. Such a repetition is
"different": unlike the others, whatever its match with the coach. The others
are one movement made again, and whether it is the coach's is judged on all of
them together (:func:`pool_repetition_verdicts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from lab.features import FeatureSet
from lab.reps.segment import (
    CAMERAS,
    MatchNoise,
    Repetition,
    align_repetitions,
    choose_repetitions,
    count_shape,
    counts_agree,
    cut_features,
    measure_motion_to_noise,
    search_clip,
    tile_repetitions,
    typical_repetition,
)
from lab.score.compare import ClipInfo, Comparison, compare_features, describe_difference
from lab.score.uncertainty import FAMILY_ALPHA, compute_family_z

#: A repetition's phase mean must also differ from the others' median by at least this much (degrees).
#: MediaPipe's errors between repetitions have heavier tails than their median spread says: with 10, an
#: unchanged repetition was marked in 31% of the tuning clips with four or more. Chosen on the tuning
#: styles of :mod:`lab.reps.evaluate` among 10, 15, 20, 25 and 30 as the one with the altered repetition
#: the only "different" one in the most clips.
MIN_REP_DIFFERENCE_DEG = 20.0
#: Smallest spread between repetitions assumed for a joint (degrees): a phase mean is never surer than this.
MIN_SPREAD_DEG = 2.0
#: Repetitions needed before their own spread measures the noise between them (:func:`compare_with_other_reps`).
MIN_REPS_FOR_CONSISTENCY = 4
#: With two or three repetitions: the share of the player's camera error (variance) taken as not made
#: again on the next repetition (:func:`compare_few_reps`). Real footage puts it at most 0.14 (the
#: Sports2D jumping jacks, ``python -m lab.reps.evaluate --measure-repeated``); of 0.1, 0.15, 0.2 and 0.3,
#: the smallest that marked an unchanged repetition in at most 5% of the tuning styles' clips of two or
#: three repetitions (the family-wise rate the test is built for; 0.1 marked 15%).
FEW_REPS_NOISE_SHARE = 0.15
#: Seconds of the clip kept on each side of a repetition when it is compared with the coach's.
MARGIN_S = 0.1


@dataclasses.dataclass(frozen=True)
class RepetitionResult:
    """One repetition of the player's clip and what is said about it.

    ``verdict`` is "same", "different" or "uncertain" (as a whole comparison's),
    or "partial" for a repetition cut off by the clip (not judged).
    ``unlike_others`` holds the sentences saying how it differs from the
    player's other repetitions (empty when it does not).
    """

    repetition: Repetition
    verdict: str
    score: float | None
    p_same: float | None
    feedback: tuple[str, ...]
    unlike_others: tuple[str, ...]
    summary: str
    comparison: Comparison | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.repetition
        return {"index": r.index, "start_s": round(r.start_s, 3), "end_s": round(r.end_s, 3),
                "partial": r.partial, "cost_fraction": round(r.cost_fraction, 3),
                "score": None if self.score is None else round(float(self.score), 1),
                "p_same": None if self.p_same is None else round(float(self.p_same), 3),
                "verdict": self.verdict, "feedback": list(self.unlike_others) + list(self.feedback),
                "summary": self.summary}


@dataclasses.dataclass(frozen=True)
class RepetitionReport:
    """The repetitions of an attempt and their verdicts.

    Attributes
    ----------
    reference_repetitions : tuple of Repetition
        Repetitions found in the coach's clip (one, the whole clip, when it does not repeat).
    typical_s : tuple of float
        Start and end (seconds, coach's clip) of the repetition everything is compared with.
    mirrored : bool
        The player's clip was searched as a mirror image.
    results : tuple of RepetitionResult
        In time order, partial ones included.
    summary : str
        The clip in one sentence.
    count_sure : bool or None
        Whether the count was the same counted a second way (:func:`lab.reps.segment.tile_repetitions`,
        :func:`lab.reps.segment.counts_agree`); None when not known (a report saved before it was).
    other_count : int or None
        The full repetitions counted that second way.
    motion_to_noise : float or None
        How many times as much as a still body seems to move on the player's camera the coach's
        repetition moves (:func:`lab.reps.segment.measure_motion_to_noise`; infinite for motion capture).
    """

    reference_repetitions: tuple[Repetition, ...]
    typical_s: tuple[float, float]
    mirrored: bool
    results: tuple[RepetitionResult, ...]
    summary: str
    count_sure: bool | None = None
    other_count: int | None = None
    motion_to_noise: float | None = None

    @property
    def rep_count(self) -> int:
        """Full repetitions in the player's clip."""
        return sum(not r.repetition.partial for r in self.results)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RepetitionReport":
        """Read back what :meth:`to_dict` wrote (the per-repetition comparisons are not kept)."""
        results = tuple(RepetitionResult(
            repetition=Repetition(index=int(r["index"]), start_s=float(r["start_s"]), end_s=float(r["end_s"]),
                                  partial=bool(r["partial"]), cost_fraction=float(r.get("cost_fraction", np.nan))),
            verdict=r["verdict"], score=r["score"], p_same=r["p_same"], feedback=tuple(r["feedback"]),
            unlike_others=(), summary=r["summary"]) for r in d["reps"])
        refs = tuple(Repetition(index=int(r["index"]), start_s=float(r["start_s"]), end_s=float(r["end_s"]),
                                partial=bool(r["partial"]), cost_fraction=float(r["cost_fraction"]))
                     for r in d["reference_reps"])
        ratio = d.get("motion_to_noise")  # null: motion capture, or not measured
        return cls(reference_repetitions=refs, typical_s=tuple(d["reference_typical_s"]), mirrored=d["mirrored"],
                   results=results, summary=d["summary"], count_sure=d.get("count_sure"),
                   other_count=d.get("other_count"), motion_to_noise=None if ratio is None else float(ratio))

    def to_dict(self) -> dict[str, Any]:
        return {"rep_count": self.rep_count, "partial_count": len(self.results) - self.rep_count,
                "reference_rep_count": sum(not r.partial for r in self.reference_repetitions),
                "reference_typical_s": [round(t, 3) for t in self.typical_s], "mirrored": self.mirrored,
                "count_sure": self.count_sure, "other_count": self.other_count,
                "motion_to_noise": (round(self.motion_to_noise, 2)
                                    if self.motion_to_noise is not None and np.isfinite(self.motion_to_noise) else None),
                "reference_reps": [r.to_dict() for r in self.reference_repetitions],
                "summary": self.summary, "reps": [r.to_dict() for r in self.results]}


def count_repetitions(typical: FeatureSet, attempt: FeatureSet, *, mirror: str, rate_hz: float = 30.0,
                      noise: MatchNoise = CAMERAS) -> tuple[bool, list[Repetition], list[Repetition]]:
    """Which side (as given, or mirrored: ``mirror`` auto, no or yes) to count on, its repetitions
    (:func:`lab.reps.segment.choose_repetitions`), and those the second way of counting finds there
    (:func:`lab.reps.segment.tile_repetitions`); where they count alike
    (:func:`lab.reps.segment.counts_agree`) the count is sure."""
    options = {"no": [False], "yes": [True], "auto": [False, True]}[mirror]
    searches = {m: search_clip(typical, attempt, rate_hz=rate_hz, mirrored=m) for m in options}
    found = {m: [] if search is None else choose_repetitions(search, noise=noise) for m, search in searches.items()}

    def quality(m: bool) -> tuple[float, int]:
        # the side whose best repetition matches the coach's best (not the one finding more: a looser
        # match of the wrong side can find more)
        full = [r.cost_fraction for r in found[m] if not r.partial]
        return (min(full) if full else np.inf, -len(full))

    best = min(options, key=quality)
    other = [] if searches[best] is None else tile_repetitions(searches[best], noise=noise)
    return best, found[best], other


def measure_phase_means(attempt: FeatureSet, repetitions: list[Repetition], *, rate_hz: float = 30.0,
                        rep_steps: Sequence[tuple[np.ndarray, np.ndarray] | None] | None = None,
                        n_phases: int = 4, min_confidence: float = 0.05):
    """Per repetition, joint angle and phase: its mean angle, on the phases of the repetitions' medoid.

    The repetitions are aligned with each other (:func:`lab.reps.segment.align_repetitions`: one
    camera, so they align more tightly than each does with the coach's) and each one's angles are
    read along its path onto the medoid. ``rep_steps``, per repetition (as ``repetitions``): None or
    ``(time_s, phase)``, the clip times (seconds) of the steps of its comparison with the coach's
    repetition and the coach's phase each was matched to. A medoid sample's phase is that of the
    nearest of the medoid's own steps (another repetition's comparison may reach into it by its
    margin); without them, or with fewer than two inside the medoid, its quarter of the medoid.

    Returns
    -------
    DataFrame
        ``rep`` (position in ``repetitions``), ``joint`` (the player's own), ``phase``, ``mean_deg``,
        ``time_s`` (median clip time of the repetition's samples in that phase); samples below
        ``min_confidence`` are left out.
    """
    import pandas as pd

    empty = pd.DataFrame(columns=["rep", "joint", "phase", "mean_deg", "time_s"])
    if not repetitions:
        return empty
    if rep_steps is not None and len(rep_steps) != len(repetitions):
        raise ValueError(f"rep_steps has {len(rep_steps)} items for {len(repetitions)} repetitions")
    aligned = align_repetitions(attempt, repetitions, rate_hz=rate_hz)
    medoid = aligned.pieces[aligned.medoid]
    n = len(medoid.time_s)
    phase_m = np.minimum(np.arange(n) * n_phases // max(n, 1), n_phases - 1) + 1
    own = rep_steps[aligned.medoid] if rep_steps is not None else None
    if own is not None and n:
        step_time_s, step_phase = np.asarray(own[0], float), np.asarray(own[1])
        inside = (step_time_s >= medoid.time_s[0]) & (step_time_s <= medoid.time_s[-1])
        if inside.sum() >= 2:
            t, ph = step_time_s[inside], step_phase[inside]
            order = np.argsort(t, kind="stable")
            t, ph = t[order], ph[order]
            k = np.clip(np.searchsorted(t, medoid.time_s), 1, len(t) - 1)
            nearer = np.where(np.abs(medoid.time_s - t[k - 1]) <= np.abs(t[k] - medoid.time_s), k - 1, k)
            phase_m = ph[nearer].astype(int)
    ang = [i for i, name in enumerate(medoid.names) if medoid.kind(name) == "angle"]
    columns: dict[str, list[np.ndarray]] = {"rep": [], "joint": [], "phase": [], "deg": [], "t": []}
    for k, (piece, path) in enumerate(zip(aligned.pieces, aligned.paths)):
        values = piece.values[path[:, 1]][:, ang]
        keep = (piece.confidence[path[:, 1]][:, ang] > min_confidence) & np.isfinite(values)
        step, joint = np.nonzero(keep)
        columns["rep"].append(np.full(len(step), k))
        columns["joint"].append(np.asarray(ang)[joint])
        columns["phase"].append(phase_m[path[step, 0]])
        columns["deg"].append(values[step, joint])
        columns["t"].append(piece.time_s[path[step, 1]])
    df = pd.DataFrame({c: np.concatenate(v) for c, v in columns.items()})
    if df.empty:
        return empty
    out = (df.groupby(["rep", "joint", "phase"]).agg(mean_deg=("deg", "mean"), time_s=("t", "median"))
           .reset_index())
    out["joint"] = [medoid.names[i] for i in out["joint"]]
    return out[["rep", "joint", "phase", "mean_deg", "time_s"]]


def _say_unlike(joint: str, difference_deg: float, time_s: float, phase: int, *, than: str) -> str:
    """One "unlike the others" sentence, capitalised, with its phase."""
    text = describe_difference(joint, difference_deg, time_s, than=than)
    return f"{text[0].upper()}{text[1:]} (phase {phase})"


def _strongest(found: dict[int, list[tuple[float, str]]]) -> dict[int, list[str]]:
    """Per repetition, its three sentences of largest z (``found``: (z, sentence) pairs)."""
    return {k: [t for _, t in sorted(items, reverse=True)[:3]] for k, items in found.items()}


def compare_with_other_reps(phase_means, *, alpha: float = FAMILY_ALPHA,
                            min_difference_deg: float = MIN_REP_DIFFERENCE_DEG) -> dict[int, list[str]]:
    """Per repetition, sentences on the joints where it differs from the player's other repetitions.

    ``phase_means``: :func:`measure_phase_means`. Empty lists with fewer than
    :data:`MIN_REPS_FOR_CONSISTENCY` repetitions.
    """
    df = phase_means
    reps_seen = sorted(int(k) for k in df["rep"].unique()) if len(df) else []
    out: dict[int, list[str]] = {k: [] for k in reps_seen}
    if len(reps_seen) < MIN_REPS_FOR_CONSISTENCY:
        return out
    n_tests = df.groupby(["joint", "phase"]).ngroups * len(reps_seen)
    z_crit = compute_family_z(n_tests, alpha=alpha)
    found: dict[int, list[tuple[float, str]]] = {k: [] for k in reps_seen}
    # each repetition's phase mean against the median of the others' (same joint and phase) ...
    rows = []
    for (joint, phase), g in df.groupby(["joint", "phase"]):
        if len(g) < MIN_REPS_FOR_CONSISTENCY:
            continue
        values, reps = g["mean_deg"].to_numpy(float), g["rep"].to_numpy()
        for value, rep, t in zip(values, reps, g["time_s"].to_numpy(float)):
            rows.append((joint, int(phase), int(rep), float(value - np.median(values[reps != rep])), t))
    # ... and the spread of those differences over all repetitions and phases of the joint: pooled,
    # so that four or five repetitions that happen to agree in one phase do not make a tiny noise
    for joint in {r[0] for r in rows}:
        devs = [r for r in rows if r[0] == joint]
        pooled = max(1.4826 * float(np.median([abs(r[3]) for r in devs])), MIN_SPREAD_DEG)
        by_phase = {p: 1.4826 * float(np.median([abs(r[3]) for r in devs if r[1] == p])) for p in {r[1] for r in devs}}
        for _, phase, rep, dev, t in devs:
            spread = max(pooled, by_phase[phase])
            if abs(dev) >= max(z_crit * spread, min_difference_deg):
                found[rep].append((abs(dev) / spread, _say_unlike(joint, dev, t, phase,
                                                                  than="in the player's other repetitions")))
    return _strongest(found)


def compare_few_reps(phase_means, *, phase_se_deg: dict[tuple[str, int], float],
                     coach_difference_deg: dict[int, dict[tuple[str, int], float]] | None = None,
                     noise_share: float | None = None, alpha: float = FAMILY_ALPHA,
                     min_difference_deg: float = MIN_REP_DIFFERENCE_DEG) -> dict[int, list[str]]:
    """:func:`compare_with_other_reps` for two or three repetitions, too few to measure their own spread.

    The spread comes from the angle error model instead: per joint and phase, the player's clip's
    per-step standard error ``phase_se_deg[(joint, phase)]`` (degrees), of which the share
    ``noise_share`` of the variance (:data:`FEW_REPS_NOISE_SHARE`) is not made again on the next
    repetition. With three, the repetition farthest from the median of the other two is the
    candidate; with two, the difference between them is tested once per joint and phase, and the one
    farther from the coach's there (``coach_difference_deg``: per repetition, its mean difference from
    the coach's per joint and phase) is the one said to differ: the coach's camera errs the same way for
    both, so the one the change moved away is the farther, unless that camera's error is larger than
    the change. Bonferroni over joints x phases (x repetitions with three), 5% family-wise, and at least
    ``min_difference_deg``.

    Returns
    -------
    dict
        Position in ``phase_means["rep"]`` -> up to three sentences (empty when it does not differ,
        and for every repetition unless there are two or three).
    """
    share = FEW_REPS_NOISE_SHARE if noise_share is None else noise_share
    df = phase_means
    reps_seen = sorted(int(k) for k in df["rep"].unique()) if len(df) else []
    out: dict[int, list[str]] = {k: [] for k in reps_seen}
    n = len(reps_seen)
    if n not in (2, 3):
        return out
    z_crit = compute_family_z(df.groupby(["joint", "phase"]).ngroups * (1 if n == 2 else n), alpha=alpha)
    # the variance of one phase mean minus the other one (two) or the mean of the other two (three)
    factor = np.sqrt(share * (2.0 if n == 2 else 1.5))
    found: dict[int, list[tuple[float, str]]] = {k: [] for k in reps_seen}
    for (joint, phase), g in df.groupby(["joint", "phase"]):
        se = phase_se_deg.get((joint, int(phase)), np.nan)
        if len(g) != n or not np.isfinite(se) or se <= 0:
            continue
        values, reps, times = g["mean_deg"].to_numpy(float), g["rep"].to_numpy(int), g["time_s"].to_numpy(float)
        devs = np.array([v - np.median(values[reps != r]) for v, r in zip(values, reps)])
        if n == 2:
            far = [abs((coach_difference_deg or {}).get(int(r), {}).get((joint, int(phase)), np.nan)) for r in reps]
            if not np.all(np.isfinite(far)):
                continue
            k = int(np.argmax(far))
        else:
            k = int(np.argmax(np.abs(devs)))
        spread = factor * se
        if abs(devs[k]) >= max(z_crit * spread, min_difference_deg):
            than = "in the player's other repetition" + ("" if n == 2 else "s")
            found[int(reps[k])].append((abs(devs[k]) / spread,
                                        _say_unlike(joint, float(devs[k]), float(times[k]), int(phase), than=than)))
    return _strongest(found)


def pool_repetition_verdicts(comparisons: dict[int, Comparison], unlike: dict[int, list[str]], *,
                             verdict_model=None) -> dict[int, tuple[str, float]]:
    """The verdict of the player's repetitions that agree with each other, judged together.

    With two repetitions or more, those not unlike the others (:func:`compare_with_other_reps`,
    :func:`compare_few_reps`) are one movement made again: whether it is the coach's is one
    question, and the median of their ``p_same`` answers it better than each repetition's few seconds
    alone. Each of them whose own verdict came from its ``p_same`` (not from thin evidence) gets
    ``verdict_model.verdict`` of that median.

    Returns
    -------
    dict
        Repetition index -> (pooled verdict, median p_same); empty with fewer repetitions, without a
        verdict model, or when none agree.
    """
    if verdict_model is None or len(comparisons) < 2:
        return {}
    alike = {k: c for k, c in comparisons.items() if not unlike.get(k) and c.p_same is not None}
    if not alike:
        return {}
    p = float(np.median([c.p_same for c in alike.values()]))
    verdict = verdict_model.verdict(p)
    return {k: (verdict, p) for k, c in alike.items() if c.verdict == verdict_model.verdict(c.p_same)}


def judge_repetitions(reference: FeatureSet, attempt: FeatureSet, *, reference_info: ClipInfo,
                      attempt_info: ClipInfo, mirror: str = "auto", rate_hz: float = 30.0,
                      window_s: float | None = 0.3, n_phases: int = 4, lift: bool = True,
                      threshold: float | None = None, verdict_model=None) -> RepetitionReport:
    """Find the repetitions of the coach's movement in the player's clip and judge each one.

    Parameters
    ----------
    reference, attempt : FeatureSet
        The coach's and the player's clips, on their own frame times; the
        coach's may hold several repetitions (:func:`lab.reps.typical_repetition`).
    reference_info, attempt_info : ClipInfo
        As for :func:`lab.score.compare_features`; their ``source_kind`` also sets how much noise a
        search allows for (:meth:`lab.reps.segment.MatchNoise.for_sources`: none for motion capture).
    mirror : {"auto", "no", "yes"}
        Search the player's clip as a mirror image too ("auto": whichever
        holds the repetition closest to the coach's; chosen on the tuning styles of
        :mod:`lab.reps.evaluate`, where "whichever finds more" counted fewer clips right).
    rate_hz, window_s, n_phases, lift, threshold, verdict_model
        As for :func:`lab.score.compare_features`.

    Returns
    -------
    RepetitionReport
    """
    if verdict_model is None and threshold is None:
        from lab.score.verdict import load_verdict_model

        verdict_model = load_verdict_model()
    ref_mocap, att_mocap = reference_info.build_error_source().mocap, attempt_info.build_error_source().mocap
    typical, reference_reps = typical_repetition(
        reference, rate_hz=rate_hz, noise=MatchNoise.for_sources(reference_mocap=ref_mocap, attempt_mocap=ref_mocap))
    noise = MatchNoise.for_sources(reference_mocap=ref_mocap, attempt_mocap=att_mocap)
    mirrored, reps, other = count_repetitions(typical, attempt, mirror=mirror, rate_hz=rate_hz, noise=noise)
    comparisons: dict[int, Comparison] = {}
    failed: dict[int, str] = {}
    for rep in reps:
        if rep.partial:
            continue
        piece = cut_features(attempt, start_s=rep.start_s - MARGIN_S, end_s=rep.end_s + MARGIN_S)
        try:
            comparisons[rep.index] = compare_features(
                typical, piece, reference_info=reference_info, attempt_info=attempt_info,
                mirror="yes" if mirrored else "no", rate_hz=rate_hz, window_s=window_s, threshold=threshold,
                n_phases=n_phases, lift=lift, verdict_model=verdict_model)
        except ValueError as exc:
            failed[rep.index] = str(exc)
    unlike: dict[int, list[str]] = {}
    full = [rep for rep in reps if not rep.partial]
    if len(comparisons) >= 2:
        import pandas as pd

        rep_steps = [None if (c := comparisons.get(rep.index)) is None else
                     (c.per_step["attempt_time_s"].to_numpy(float), c.per_step["phase"].to_numpy(int))
                     for rep in full]
        means = measure_phase_means(attempt, full, rate_hz=rate_hz, n_phases=n_phases, rep_steps=rep_steps)
        if len(comparisons) >= MIN_REPS_FOR_CONSISTENCY:
            by_position = compare_with_other_reps(means)
        else:
            # the player's standard error per joint and phase, over the repetitions' comparisons
            steps = pd.concat([c.per_step[["attempt_joint", "phase", "attempt_se_deg"]] for c in comparisons.values()])
            se = steps.groupby(["attempt_joint", "phase"])["attempt_se_deg"].median()
            coach = {k: c.summarize_phases().set_index(["attempt_joint", "phase"])["mean_deg"].to_dict()
                     for k, rep in enumerate(full) if (c := comparisons.get(rep.index)) is not None}
            by_position = compare_few_reps(means, phase_se_deg={(j, int(p)): float(v) for (j, p), v in se.items()},
                                           coach_difference_deg=coach)
        unlike = {full[k].index: v for k, v in by_position.items()}
    pooled = pool_repetition_verdicts(comparisons, unlike, verdict_model=verdict_model)
    results = []
    for rep in reps:
        if rep.partial:
            results.append(RepetitionResult(repetition=rep, verdict="partial", score=None, p_same=None,
                                            feedback=(), unlike_others=(),
                                            summary="Partial: cut off by the clip's "
                                                    + ("start." if rep.index == 1 else "end.")))
            continue
        c = comparisons.get(rep.index)
        if c is None:
            results.append(RepetitionResult(repetition=rep, verdict="uncertain", score=None, p_same=None,
                                            feedback=(), unlike_others=(),
                                            summary=f"Uncertain: cannot compare this repetition ({failed[rep.index]})."))
            continue
        odd = tuple(unlike.get(rep.index, []))
        verdict = "different" if odd and c.verdict != "different" else c.verdict
        summary = (f"Unlike the player's other repetitions: {odd[0]}." if odd and c.verdict != "different"
                   else c.summary)
        feedback = tuple(c.feedback)
        if rep.index in pooled and pooled[rep.index][0] != c.verdict:
            verdict, p = pooled[rep.index]
            together = {"same": "match the coach's", "different": "do not match the coach's",
                        "uncertain": "are too near the line to say whether they match the coach's"}[verdict]
            summary = (f"{verdict.capitalize()}: like the player's other repetitions, which agree with each other "
                       f"and together {together} (p_same {p:.2f}, their median; this one alone {c.p_same:.2f}).")
            feedback = feedback if verdict == "same" else ()
        results.append(RepetitionResult(repetition=rep, verdict=verdict, score=c.score, p_same=c.p_same,
                                        feedback=feedback, unlike_others=odd, summary=summary, comparison=c))
    ratio = measure_motion_to_noise(typical, noise=noise)
    sure = counts_agree(reps, other)
    return RepetitionReport(reference_repetitions=tuple(reference_reps),
                            typical_s=(float(typical.time_s[0]), float(typical.time_s[-1])), mirrored=mirrored,
                            results=tuple(results),
                            summary=summarize_repetitions(results, motion_to_noise=ratio,
                                                          other=None if sure else other),
                            count_sure=sure, other_count=sum(not r.partial for r in other), motion_to_noise=ratio)


def summarize_repetitions(results: list[RepetitionResult], *, motion_to_noise: float = float("inf"),
                          other: list[Repetition] | None = None) -> str:
    """The clip in one sentence: how many repetitions match, and what is wrong with the others.

    ``motion_to_noise``: how many times as much as a still body filmed by one camera seems to move
    the coach's repetition moves (:func:`lab.reps.segment.measure_motion_to_noise`). Below 1, when
    nothing is found, the summary says the movement can hardly be told from standing still.
    ``other``: the repetitions counted a second way (:func:`lab.reps.segment.tile_repetitions`) where
    that count differs; the summary then says the count may be off, and what the other way found.
    """
    full = [r for r in results if r.verdict != "partial"]
    partial = len(results) - len(full)
    tail = f" ({partial} partial repetition{'s' if partial != 1 else ''} at the ends, not judged)" if partial else ""
    unsure = "" if other is None else " " + _say_other_count(other)
    if not full:
        if motion_to_noise < 1:
            return ("No repetition of the coach's movement was found" + tail + "; the coach's movement is small, "
                    "and from one camera it can hardly be told from standing still, so its repetitions cannot be "
                    "counted.")
        return "No repetition of the coach's movement was found" + tail + "." + unsure
    same = [r for r in full if r.verdict == "same"]
    text = f"{len(same)} of {len(full)} repetition{'s' if len(full) != 1 else ''} match{'es' if len(full) == 1 else ''}"
    off = [r for r in full if r.verdict != "same"]
    if off:
        parts = []
        for r in off[:4]:
            why = (r.unlike_others or r.feedback or (r.verdict,))[0]
            parts.append(f"repetition {r.repetition.index} ({r.verdict}): {why}")
        text += "; " + "; ".join(parts)
    return text + tail + "." + unsure


def _say_other_count(other: list[Repetition]) -> str:
    """The sentence saying that a second way of counting found something else (``other``)."""
    n_full, front, back = count_shape(other)
    ends = [where for where, has in (("at the start", front), ("at the end", back)) if has]
    partial = f", with a partial one {' and '.join(ends)}" if ends else ""
    return (f"The count may be off: counted another way (the whole clip matched at once), the clip holds "
            f"{n_full} full repetition{'s' if n_full != 1 else ''}{partial}.")
