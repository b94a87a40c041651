"""Measure repetition finding against known answers: motion capture repeated K times through synthetic cameras.

``python -m lab.reps.evaluate`` prints the README's tables. Each clip: one
Bandai-Namco take (the 6 s of it that move most, the "repetition") repeated K times (1-12)
at tempos within +-30%, with pauses of 0-1 s, one repetition given 30 degrees
more flexion at a knee or an elbow during its middle half, a third of the
clips starting with the second half of a repetition and, drawn apart, a third
ending with the first half of one; the coach's repetition
filmed from one camera, the clip from another 0, 90 or 180 degrees round,
each with MediaPipe-like noise (:func:`lab.score.uncertainty.film_like_mediapipe`).
"""

from __future__ import annotations

import argparse
import dataclasses
import zlib

import numpy as np

from lab.features import FeatureSet
from lab.pose.track import PoseTrack
from lab.reps.judge import count_repetitions
from lab.reps.segment import CAMERAS, MatchNoise, Repetition, counts_agree, measure_motion_to_noise
from lab.reps.synthetic import RepeatedClip, repeat_motion

#: Share of the player's camera noise that a pose filmed again errs again with, in the suite's clips
#: (:func:`lab.score.uncertainty.film_like_mediapipe`'s ``pose_locked_share``). Chosen so that
#: :func:`measure_repeated_error` gives on the suite's repeated tuning takes what it gives on the real
#: footage with repetitions (the Sports2D jumping jacks; the README has both figures); the person's
#: own variation counts as not repeated there, so the real share is at least this.
POSE_LOCKED_SHARE = 0.7

#: Styles whose takes tune the segmentation's constants; the report is on the other styles.
TUNING_STYLES: tuple[str, ...] = ("active", "angry")
#: Styles the figures are reported on.
REPORT_STYLES: tuple[str, ...] = ("normal", "happy", "tired")


def list_repetition_takes(styles: tuple[str, ...]) -> list[str]:
    """Bandai-Namco take names (content_style_001) of every motion in the given styles that exist."""
    from lab.score.detectability import locate_shared_data

    folder = locate_shared_data() / "bandai_d1"
    names = sorted(p.stem.removeprefix("dataset-1_") for p in folder.glob("dataset-1_*_001.bvh"))
    return [n for n in names if n.split("_")[1] in styles]


def load_repetition(take: str, *, duration_s: float = 6.0):
    """The ``duration_s`` of a Bandai-Namco take at 30 Hz (frame ``lab``, times from 0) that move most.

    How much a window moves is :func:`lab.features.scale.measure_motion_amplitude`
    of its noise-free features, windows 0.5 s apart.
    """
    from lab.features import compute_features
    from lab.features.scale import measure_motion_amplitude
    from lab.score.detectability import decimate_to, locate_shared_data, read_bandai_bvh

    path = locate_shared_data() / "bandai_d1" / f"dataset-1_{take}.bvh"
    track = decimate_to(read_bandai_bvh(path), rate_hz=30.0)
    t = track.time_s - track.time_s[0]
    if t[-1] <= duration_s:
        return track.replace(time_s=t)
    fs = compute_features(track)
    best, best_motion = 0.0, -1.0
    for start in np.arange(0.0, t[-1] - duration_s + 1e-9, 0.5):
        keep = (fs.time_s - fs.time_s[0] >= start) & (fs.time_s - fs.time_s[0] <= start + duration_s)
        m = measure_motion_amplitude(dataclasses.replace(fs, time_s=fs.time_s[keep], values=fs.values[keep],
                                                         confidence=fs.confidence[keep]))
        if m > best_motion:
            best, best_motion = float(start), m
    out = track.select_frames(np.flatnonzero((t >= best) & (t <= best + duration_s)))
    return out.replace(time_s=out.time_s - out.time_s[0])


def match_truth(found, starts_s, ends_s) -> list[float]:
    """Per true repetition, |start error| and |end error| (seconds) against the found full repetition
    overlapping it most; NaN for a repetition nothing overlaps."""
    errors = []
    full = [r for r in found if not r.partial]
    for s, e in zip(starts_s, ends_s):
        best, overlap = None, 0.0
        for r in full:
            ov = min(e, r.end_s) - max(s, r.start_s)
            if ov > overlap:
                best, overlap = r, ov
        errors += [abs(best.start_s - s), abs(best.end_s - e)] if best else [np.nan, np.nan]
    return errors


def _flags(report, clip) -> tuple[bool | None, int, int]:
    """(whether the repetition overlapping the altered one most is unlike the player's other repetitions,
    how many of the other full repetitions are, how many others there are); None without an alteration."""
    full = [r for r in report.results if not r.repetition.partial]
    if clip.altered is None or not full:
        return None, sum(bool(r.unlike_others) for r in full), len(full)
    s, e = clip.starts_s[clip.altered], clip.ends_s[clip.altered]
    hit = int(np.argmax([min(e, r.repetition.end_s) - max(s, r.repetition.start_s) for r in full]))
    others = [r for k, r in enumerate(full) if k != hit]
    return bool(full[hit].unlike_others), sum(bool(r.unlike_others) for r in others), len(others)


def _only_altered(report, clip) -> bool | None:
    """Whether the repetition overlapping the altered one most is the only one called "different"
    (None when the clip has no altered repetition)."""
    if clip.altered is None:
        return None
    s, e = clip.starts_s[clip.altered], clip.ends_s[clip.altered]
    full = [r for r in report.results if not r.repetition.partial]
    overlap = [min(e, r.repetition.end_s) - max(s, r.repetition.start_s) for r in full]
    if not full or max(overlap) <= 0:
        return False
    hit = int(np.argmax(overlap))
    return all((r.verdict == "different") == (k == hit) for k, r in enumerate(full))


@dataclasses.dataclass(frozen=True)
class SuiteClip:
    """One clip of the suite: its ``take``, ``count``, view ``gap_deg``, the altered ``joint``, the
    answers (``truth``), the coach's repetition as filmed (``reference``, frame ``camera``) and its
    features (``query``), and the clip as filmed."""

    take: str
    count: int
    gap_deg: float
    joint: str
    truth: RepeatedClip
    reference: PoseTrack
    query: FeatureSet
    filmed: PoseTrack


def generate_suite_clips(takes: list[str], *, counts=(1, 2, 3, 5, 8, 12), gaps_deg=(0.0, 90.0, 180.0),
                         noise_scale: float | None = None, pose_locked_share: float = POSE_LOCKED_SHARE,
                         end_partials: bool = True):
    """Yield every :class:`SuiteClip` of the suite (see the module's docstring), in a fixed order.

    ``end_partials``: a third of the clips end with the first half of a repetition (drawn from a
    stream of its own, so each clip is otherwise the one without them: False gives the suite as it
    was before they were added).

    ``pose_locked_share``: the share of the player's camera noise that a pose filmed again errs
    again with (:func:`lab.score.uncertainty.film_like_mediapipe`; see :data:`POSE_LOCKED_SHARE`).
    """
    from lab.score.compare import prepare_features
    from lab.score.detectability import add_flexion
    from lab.score.uncertainty import film_like_mediapipe

    for take in takes:
        rep = load_repetition(take)
        h = zlib.crc32(take.encode())
        azimuth = float(h % 360)
        reference = film_like_mediapipe(rep, azimuth_deg=azimuth, seed=h % 1000, noise_scale=noise_scale)
        query = prepare_features(reference)
        for count in counts:
            for gap in gaps_deg:
                rng = np.random.default_rng([h, count, int(gap)])
                joint = ("left_knee", "right_knee", "left_elbow", "right_elbow")[int(rng.integers(4))]

                def alter(w, joint=joint):
                    d = float(w.time_s[-1] - w.time_s[0])
                    return add_flexion(w, joint, extra_deg=30.0, start_s=0.25 * d, stop_s=0.75 * d)

                partial = bool(rng.random() < 1 / 3)
                back = end_partials and bool(np.random.default_rng([h, count, int(gap), 1]).random() < 1 / 3)
                clip = repeat_motion(rep, count=count, rng=rng, alter=alter if count >= 2 else None,
                                     partial_front=partial, partial_back=back)
                filmed = film_like_mediapipe(clip.track, azimuth_deg=azimuth + gap, seed=h % 1000 + 1 + int(gap),
                                             noise_scale=noise_scale, pose_time_s=clip.pose_time_s,
                                             pose_locked_share=pose_locked_share)
                yield SuiteClip(take=take, count=count, gap_deg=gap, joint=joint, truth=clip, reference=reference,
                                query=query, filmed=filmed)


def measure_repeated_error(clip: FeatureSet, info, repetitions, *, correlation_time_s: float | None = None):
    """How much of the angle error a camera makes on a pose it makes again on the next repetition.

    Each full repetition is compared with the next (:func:`lab.score.compare.compare_features`, the
    same clip on both sides, no mirror). Per joint and phase, the difference of their phase means
    over its standard error under the angle error model, which treats the two as independent
    recordings: ``z``. If the camera's error wandered with time whatever the pose (the model's AR(1)
    with correlation time ``tau``), ``z^2`` would average ``1 - exp(-lag / tau)`` (``lag``: the time
    between the two repetitions' starts); if a pose filmed again erred again, less. The ratio bounds
    the share of the error *not* repeated from above (the person's own variation counts in it).

    Parameters
    ----------
    clip : FeatureSet
        The player's clip.
    info : ClipInfo
        Its :func:`lab.score.compare.describe_clip`.
    repetitions : list of Repetition
        Found in it (:func:`lab.reps.segment.find_repetitions`); partial ones are left out.
    correlation_time_s : float, optional
        Default: the angle error model's.

    Returns
    -------
    dict
        ``pairs`` (consecutive repetitions compared; a pair with no alignment is left out),
        ``phase_means`` (joint x phase values), ``rms_z``, ``expected_rms_z`` (the model's, not
        repeated), ``not_repeated_share``
        (``rms_z^2 / expected^2``), ``rms_difference_deg``, ``rms_se_deg``; NaN without two full
        repetitions.
    """
    from lab.reps.segment import cut_features
    from lab.score.compare import compare_features
    from lab.score.uncertainty import load_angle_error_model

    tau = correlation_time_s if correlation_time_s is not None else load_angle_error_model().correlation_time_s
    full = sorted((r for r in repetitions if not r.partial), key=lambda r: r.start_s)
    z2, expected, diffs, ses = [], [], [], []
    pairs = 0
    for a, b in zip(full, full[1:]):
        try:
            c = compare_features(cut_features(clip, start_s=a.start_s, end_s=a.end_s),
                                 cut_features(clip, start_s=b.start_s, end_s=b.end_s),
                                 reference_info=info, attempt_info=info, mirror="no")
        except ValueError:       # no alignment between the two: nothing to measure on this pair
            continue
        pairs += 1
        ph = c.summarize_phases()
        ok = np.isfinite(ph["mean_deg"].to_numpy(float)) & (ph["se_deg"].to_numpy(float) > 0)
        d, se = ph["mean_deg"].to_numpy(float)[ok], ph["se_deg"].to_numpy(float)[ok]
        z2 += list((d / se) ** 2)
        expected += [1.0 - np.exp(-(b.start_s - a.start_s) / tau)] * len(d)
        diffs += list(d)
        ses += list(se)
    nan = float("nan")
    if not z2:
        return {"pairs": 0, "phase_means": 0, "rms_z": nan, "expected_rms_z": nan, "not_repeated_share": nan,
                "rms_difference_deg": nan, "rms_se_deg": nan}
    return {"pairs": pairs, "phase_means": len(z2), "rms_z": float(np.sqrt(np.mean(z2))),
            "expected_rms_z": float(np.sqrt(np.mean(expected))),
            "not_repeated_share": float(np.mean(z2) / np.mean(expected)),
            "rms_difference_deg": float(np.sqrt(np.mean(np.square(diffs)))),
            "rms_se_deg": float(np.sqrt(np.mean(np.square(ses))))}


def measure_suite_repeated_error(takes: list[str], *, pose_locked_share: float, noise_scale: float | None = None,
                                 count: int = 3) -> dict:
    """:func:`measure_repeated_error` on suite-like clips whose answers are known: each take's repetition
    repeated ``count`` times (no alteration) and filmed with ``pose_locked_share`` of the noise repeated
    with the pose; the true boundaries are used. Pooled over the takes: ``not_repeated_share``,
    ``rms_z``, ``expected_rms_z``, ``phase_means``, and ``per_take`` (each take's share)."""
    from lab.score.compare import describe_clip, prepare_features
    from lab.score.uncertainty import film_like_mediapipe

    z2 = expected = n = 0.0
    per_take = {}
    for take in takes:
        h = zlib.crc32(take.encode())
        clip = repeat_motion(load_repetition(take), count=count, rng=np.random.default_rng(h))
        filmed = film_like_mediapipe(clip.track, azimuth_deg=float(h % 360), seed=h % 1000, noise_scale=noise_scale,
                                     pose_time_s=clip.pose_time_s, pose_locked_share=pose_locked_share)
        m = measure_repeated_error(prepare_features(filmed), describe_clip(filmed), clip.repetitions())
        per_take[take] = m["not_repeated_share"]
        z2 += m["rms_z"] ** 2 * m["phase_means"]
        expected += m["expected_rms_z"] ** 2 * m["phase_means"]
        n += m["phase_means"]
    return {"not_repeated_share": z2 / expected, "rms_z": float(np.sqrt(z2 / n)),
            "expected_rms_z": float(np.sqrt(expected / n)), "phase_means": int(n), "per_take": per_take}


def measure_real_repeated_error() -> dict:
    """:func:`measure_repeated_error` on the real footage with repetitions: the Sports2D clip (two jumping
    jacks), its repetitions found by :func:`lab.reps.segment.typical_repetition`."""
    from lab.pose.extract import extract_pose_cached
    from lab.reps.segment import typical_repetition
    from lab.samples import ensure_samples, sample_path
    from lab.score.compare import describe_clip, prepare_features

    ensure_samples()
    track = extract_pose_cached(sample_path("sports2d/demo.mp4"), progress=False)
    clip = prepare_features(track)
    _, reps = typical_repetition(clip)
    return measure_repeated_error(clip, describe_clip(track), reps)


def score_count(item: SuiteClip, found) -> dict:
    """The count columns of one clip's row: ``found``, ``partial_found`` (partial repetitions in the
    clip's first half, ``partial_back_found`` in its second), ``count_right`` (full count and both
    partial flags right), ``median_boundary_error_s``, ``errors``, and ``motion_to_noise`` (the coach's
    repetition against a still body on the player's camera: :func:`lab.reps.segment.measure_motion_to_noise`)."""
    clip = item.truth
    n_full = sum(not r.partial for r in found)
    middle_s = 0.5 * float(clip.track.time_s[-1])
    front = sum(r.partial and r.start_s + r.end_s < 2 * middle_s for r in found)
    back = sum(r.partial for r in found) - front
    errors = match_truth(found, clip.starts_s, clip.ends_s)
    return {"take": item.take, "count": item.count, "gap_deg": item.gap_deg,
            "partial_truth": clip.partial is not None, "partial_back_truth": clip.partial_back is not None,
            "found": n_full, "partial_found": front, "partial_back_found": back,
            "count_right": (n_full == item.count and (front > 0) == (clip.partial is not None)
                            and (back > 0) == (clip.partial_back is not None)),
            "median_boundary_error_s": float(np.nanmedian(errors)) if np.isfinite(errors).any() else np.nan,
            "errors": errors, "motion_to_noise": measure_motion_to_noise(item.query)}


def run_segmentation_suite(takes: list[str], *, counts=(1, 2, 3, 5, 8, 12), gaps_deg=(0.0, 90.0, 180.0),
                           noise_scale: float | None = None, pose_locked_share: float = POSE_LOCKED_SHARE,
                           judge: bool = False, find_in_track=None, end_partials: bool = True, **search):
    """One row per clip: the truth and what :func:`lab.reps.find_repetitions` found.

    With ``judge``, the repetitions are those :func:`lab.reps.judge_repetitions`
    finds (the coach's repetition searched as given and mirrored), each judged.
    ``find_in_track(query, filmed)`` replaces the search: given the coach's
    features and the filmed clip (a camera-frame :class:`PoseTrack`), it returns
    the :class:`Repetition` list found (e.g. a live comparison fed frame by frame).

    Returns
    -------
    DataFrame
        ``take``, ``count``, ``gap_deg``, ``partial_truth``, ``partial_back_truth``,
        ``found`` (full repetitions), ``partial_found``, ``partial_back_found``,
        ``count_right`` (full count and both partial flags right),
        ``median_boundary_error_s``, ``errors`` (list), ``motion_to_noise``, ``count_sure`` (the
        second way of counting agrees; None with ``find_in_track``),
        ``altered`` (index of the altered repetition), ``joint``; with ``judge``
        also ``verdicts``, ``p_same`` (per full repetition) and ``only_altered_different``.
    """
    import pandas as pd

    from lab.reps.judge import judge_repetitions
    from lab.score.compare import describe_clip, prepare_features

    rows = []
    for item in generate_suite_clips(takes, counts=counts, gaps_deg=gaps_deg, noise_scale=noise_scale,
                                     pose_locked_share=pose_locked_share, end_partials=end_partials):
        query, filmed, clip = item.query, item.filmed, item.truth
        sure = None
        if find_in_track is not None:
            found = find_in_track(query, filmed)
        elif not judge:
            found, sure = count_twice(query, prepare_features(filmed), **search)
        verdicts = p_same = None
        if judge:
            attempt = prepare_features(filmed)
            report = judge_repetitions(query, attempt, reference_info=describe_clip(item.reference),
                                       attempt_info=describe_clip(filmed))
            found, sure = [r.repetition for r in report.results], report.count_sure
            verdicts = [r.verdict for r in report.results if not r.repetition.partial]
            p_same = [r.p_same for r in report.results if not r.repetition.partial]
        rows.append(score_count(item, found) | {
            "count_sure": sure, "altered": clip.altered, "joint": item.joint, "verdicts": verdicts, "p_same": p_same,
            **(dict(zip(("altered_flagged", "others_flagged", "others"), _flags(report, clip))) if judge else {}),
            "only_altered_different": None if verdicts is None else _only_altered(report, clip)})
    return pd.DataFrame(rows)


def tune_search(takes: list[str], *, fractions: tuple[float, ...], noise_costs: tuple[float, ...],
                noise_scale: float | None = None, end_partials: bool = True):
    """Count right for every pair of :func:`lab.reps.segment.choose_repetitions` constants on the suite's
    clips of ``takes`` (each clip searched once); a DataFrame with one row per pair."""
    import pandas as pd

    from lab.reps.segment import choose_repetitions, search_clip
    from lab.score.compare import prepare_features

    rows = {(f, b): [] for f in fractions for b in noise_costs}
    for item in generate_suite_clips(takes, noise_scale=noise_scale, end_partials=end_partials):
        search = search_clip(item.query, prepare_features(item.filmed))
        for (f, b), out in rows.items():
            found = ([] if search is None
                     else choose_repetitions(search, max_cost_fraction=f, noise=MatchNoise(cost=b)))
            out.append(score_count(item, found))
    table = []
    for (f, b), out in rows.items():
        df = pd.DataFrame(out)
        table.append({"max_cost_fraction": f, "noise_cost": b} | summarize_suite(df))
    return pd.DataFrame(table)


def count_twice(query: FeatureSet, clip: FeatureSet, *, rate_hz: float = 30.0, mirrored: bool = False,
                noise: MatchNoise = CAMERAS) -> tuple[list[Repetition], bool]:
    """The repetitions the product counts on the side given (:func:`lab.reps.judge.count_repetitions`),
    and whether the second way of counting agrees with them (the product's ``count_sure``)."""
    _, found, other = count_repetitions(query, clip, mirror="yes" if mirrored else "no", rate_hz=rate_hz,
                                        noise=noise)
    return found, counts_agree(found, other)


#: Bandai-Namco contents that are one action from rest to rest; locomotion (walk, run, dash) is left
#: out: a stretch of walking has no natural first or last frame, it holds several strides.
ACTIONS: tuple[str, ...] = ("bow", "bye", "byebye", "call", "dance-short", "guide", "kick", "punch", "respond",
                            "slash")


def summarize_suite(df) -> dict[str, float]:
    """The README's figures for one run of :func:`run_segmentation_suite`."""
    errors = np.concatenate([np.asarray(e, float) for e in df["errors"]])
    out = {"clips": len(df), "count_right": float(df["count_right"].mean()),
           "over": float((df["found"] > df["count"]).mean()), "under": float((df["found"] < df["count"]).mean()),
           "partial_wrong": float((((df["partial_found"] > 0) != df["partial_truth"])
                                   | ((df["partial_back_found"] > 0) != df["partial_back_truth"])).mean()),
           "front_partial_found": float((df.loc[df["partial_truth"], "partial_found"] > 0).mean()),
           "back_partial_found": float((df.loc[df["partial_back_truth"], "partial_back_found"] > 0).mean()),
           "false_partial": float(((~df["partial_truth"] & (df["partial_found"] > 0))
                                   | (~df["partial_back_truth"] & (df["partial_back_found"] > 0))).mean()),
           "median_boundary_error_s": float(np.nanmedian(errors)), "missed_boundaries": float(np.isnan(errors).mean())}
    if "count_sure" in df and df["count_sure"].notna().any():  # where the product calls the count sure, or not
        known = df[df["count_sure"].notna()]
        sure = known["count_sure"].astype(bool)
        out["count_sure_share"] = float(sure.mean())
        out["count_right_sure"] = float(known.loc[sure, "count_right"].mean()) if sure.any() else np.nan
        out["count_right_not_sure"] = float(known.loc[~sure, "count_right"].mean()) if (~sure).any() else np.nan
    if "only_altered_different" in df and df["only_altered_different"].notna().any():
        altered = df[df["only_altered_different"].notna()]
        out["only_altered_different"] = float(altered["only_altered_different"].astype(bool).mean())
        right = altered[altered["count_right"]]
        out["only_altered_different_when_counted_right"] = (
            float(right["only_altered_different"].astype(bool).mean()) if len(right) else float("nan"))
        # four repetitions or more (their own spread), and two or three (the error model's)
        for name, group in (("", altered[altered["others"] >= 3]),
                            ("_few", altered[altered["others"].between(1, 2)])):
            out[f"altered_unlike_others{name}"] = (float(group["altered_flagged"].astype(bool).mean())
                                                   if len(group) else np.nan)
            out[f"others_unlike_others{name}"] = float(group["others_flagged"].sum() / max(group["others"].sum(), 1))
            out[f"clips_other_marked{name}"] = float((group["others_flagged"] > 0).mean()) if len(group) else np.nan
    return out


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - measurement script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", default=",".join(REPORT_STYLES))
    ap.add_argument("--noise-scales", default="1,0.5,0.25",
                    help="factors on the MediaPipe-like noise (1 = as measured on the Pose2Sim views)")
    ap.add_argument("--pose-locked-share", type=float, default=POSE_LOCKED_SHARE,
                    help="share of the player's camera noise repeated with the pose (0: it wanders with time)")
    ap.add_argument("--measure-repeated", action="store_true",
                    help="measure how much of the error repeats with the pose: the real footage against the "
                         "suite's repeated tuning takes, then stop")
    ap.add_argument("--no-judge", action="store_true", help="count only")
    ap.add_argument("--front-partials-only", action="store_true",
                    help="the suite as it was before clips could end with half a repetition")
    ap.add_argument("--save", default=None, help="also pickle each run's table to SAVE_<factor>.pkl")
    ap.add_argument("--tune", action="store_true",
                    help="choose the search's line (cost fraction x noise cost) on the tuning styles, at MediaPipe's noise")
    args = ap.parse_args(argv)
    from lab.score.uncertainty import load_landmark_noise

    base = float(load_landmark_noise().get("distance_matched_scale", 1.0))
    if args.measure_repeated:
        real = measure_real_repeated_error()
        print("real footage (Sports2D, consecutive repetitions): " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in real.items()))
        takes = [t for t in list_repetition_takes(TUNING_STYLES) if t.split("_")[0] in ACTIONS]
        for share in sorted({0.0, 0.5, POSE_LOCKED_SHARE, 0.85}):
            m = measure_suite_repeated_error(takes, pose_locked_share=share, noise_scale=base)
            print(f"suite's tuning takes, pose-locked share {share:g}: not repeated {m['not_repeated_share']:.3f} "
                  f"(rms z {m['rms_z']:.3f} of {m['expected_rms_z']:.3f}; {m['phase_means']} phase means; "
                  f"per take {min(m['per_take'].values()):.2f}-{max(m['per_take'].values()):.2f})", flush=True)
        return
    if args.tune:
        takes = [t for t in list_repetition_takes(TUNING_STYLES) if t.split("_")[0] in ACTIONS]
        print(f"{len(takes)} tuning takes: {', '.join(takes)}")
        table = tune_search(takes, fractions=(0.4, 0.5, 0.6, 0.7, 0.9), noise_costs=(0.0, 10.0, 20.0, 25.0, 30.0, 40.0),
                            noise_scale=base, end_partials=not args.front_partials_only)
        cols = ["max_cost_fraction", "noise_cost", "count_right", "under", "over", "median_boundary_error_s"]
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        best = table.sort_values(["count_right", "over", "max_cost_fraction"], ascending=[False, True, False]).iloc[0]
        print(f"best: max_cost_fraction {best.max_cost_fraction:g}, noise_cost {best.noise_cost:g} "
              f"(count right {best.count_right:.3f})")
        return
    takes = [t for t in list_repetition_takes(tuple(args.styles.split(","))) if t.split("_")[0] in ACTIONS]
    print(f"{len(takes)} takes: {', '.join(takes)}")
    for factor in (float(f) for f in args.noise_scales.split(",")):
        df = run_segmentation_suite(takes, noise_scale=base * factor, judge=not args.no_judge,
                                    pose_locked_share=args.pose_locked_share,
                                    end_partials=not args.front_partials_only)
        if args.save:
            df.to_pickle(f"{args.save}_{factor:g}.pkl")
        s = summarize_suite(df)
        print(f"noise x{factor:g}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in s.items()), flush=True)
        print("  count right by view gap: " + ", ".join(f"{g:g}: {v:.2f}" for g, v in
                                                         df.groupby("gap_deg")["count_right"].mean().items()))
        print("  count right by take: " + ", ".join(f"{t}: {v:.2f}" for t, v in
                                                     df.groupby("take")["count_right"].mean().items()), flush=True)


if __name__ == "__main__":  # pragma: no cover
    _main()
