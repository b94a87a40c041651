"""Judging each repetition: the altered one is the one called different; JSON, the analysis, the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lab.align.synthetic import synthetic_body_track
from lab.features import compute_features
from lab.reps import RepetitionReport, judge_repetitions, summarize_repetitions
from lab.reps.synthetic import repeat_motion
from lab.score import describe_clip
from lab.score.detectability import add_flexion


def _rep():
    track = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=50.0).select_frames(np.arange(8, 39))
    return track.replace(time_s=track.time_s - track.time_s[0])


def _judge(reference, attempt, *, noise_free=True):
    """Judged as ``lab`` judges two clips; the synthetic figures have no measurement noise, so by
    default both are described as motion capture (``noise_free``), otherwise as filmed."""
    ref_fs = compute_features(reference, lift=False, body=reference)
    att_fs = compute_features(attempt, lift=False, body=attempt)
    kind = {"source_kind": "mocap"} if noise_free else {}
    return judge_repetitions(ref_fs, att_fs, reference_info=dataclasses.replace(describe_clip(reference), **kind),
                             attempt_info=dataclasses.replace(describe_clip(attempt), **kind))


def _alter(w, extra_deg=30.0):
    d = float(w.time_s[-1] - w.time_s[0])
    return add_flexion(w, "right_knee", extra_deg=extra_deg, start_s=0.25 * d, stop_s=0.75 * d)


def test_the_altered_repetition_is_the_only_one_called_different():
    clip = repeat_motion(_rep(), count=6, rng=np.random.default_rng(3), alter=_alter)
    report = _judge(_rep(), clip.track)
    assert report.rep_count == 6
    verdicts = [r.verdict for r in report.results]
    assert verdicts.count("different") == 1
    odd = report.results[clip.altered]
    assert odd.verdict == "different"
    assert odd.unlike_others and odd.unlike_others[0].startswith("Right knee bends")
    assert "more than in the player's other repetitions" in odd.unlike_others[0]
    assert all(v == "same" for i, v in enumerate(verdicts) if i != clip.altered)
    assert f"5 of 6 repetitions match; repetition {clip.altered + 1} (different): Right knee" in report.summary


@pytest.mark.parametrize(("count", "seed"), [(2, 4), (3, 4), (3, 9)])
def test_two_or_three_repetitions_are_compared_on_the_error_models_spread(count, seed):
    """Too few to measure their own spread, so the angle error model gives it (here motion capture's: small
    errors): the altered repetition is the only one unlike the other(s). The change is 40 degrees over the
    middle half: its phase means move by about 25-30, clear of the 20-degree floor."""
    clip = repeat_motion(_rep(), count=count, rng=np.random.default_rng(seed),
                         alter=lambda w: _alter(w, extra_deg=40.0))
    report = _judge(_rep(), clip.track)
    assert report.rep_count == count
    assert [r.verdict == "different" for r in report.results] == [k == clip.altered for k in range(count)]
    odd = report.results[clip.altered].unlike_others[0]
    assert odd.startswith("Right knee bends") and "more than in the player's other repetition" in odd
    assert ("repetitions at" in odd) == (count == 3)


def test_with_two_repetitions_the_one_farther_from_the_coach_is_the_one_that_differs():
    import pandas as pd

    from lab.reps.judge import compare_few_reps

    means = pd.DataFrame({"rep": [0, 1, 0, 1], "joint": ["right_knee"] * 4, "phase": [1, 1, 2, 2],
                          "mean_deg": [40.0, 41.0, 50.0, 80.0], "time_s": [0.2, 1.7, 0.6, 2.1]})
    se = {("right_knee", 1): 10.0, ("right_knee", 2): 10.0}
    # 30 degrees apart in phase 2; the noise there: 10 x sqrt(0.15 x 2) = 5.5, the line max(2.24 x 5.5, 20) = 20
    near_second = {0: {("right_knee", 2): -25.0}, 1: {("right_knee", 2): 5.0}}
    out = compare_few_reps(means, phase_se_deg=se, coach_difference_deg=near_second)
    assert out[1] == [] and out[0][0].startswith("Right knee bends 30 degrees less than in the player's other "
                                                 "repetition at 0.6 s (phase 2)")
    near_first = {0: {("right_knee", 2): 2.0}, 1: {("right_knee", 2): 32.0}}
    out = compare_few_reps(means, phase_se_deg=se, coach_difference_deg=near_first)
    assert out[0] == [] and "30 degrees more" in out[1][0]
    # without the coach's side, nobody is blamed; with a larger error, 30 degrees is within the noise
    assert compare_few_reps(means, phase_se_deg=se) == {0: [], 1: []}
    assert compare_few_reps(means, phase_se_deg={k: 30.0 for k in se}, coach_difference_deg=near_first) == {0: [], 1: []}
    # one repetition: nothing to compare it with
    assert compare_few_reps(means[means["rep"] == 0], phase_se_deg=se) == {0: []}


def test_the_report_round_trips_through_json():
    clip = repeat_motion(_rep(), count=4, rng=np.random.default_rng(5), partial_front=True)
    report = _judge(_rep(), clip.track)
    d = report.to_dict()
    assert d["rep_count"] == 4 and d["partial_count"] == 1
    assert [r["partial"] for r in d["reps"]] == [True, False, False, False, False]
    assert d["reps"][0]["verdict"] == "partial" and d["reps"][0]["score"] is None
    assert {"index", "start_s", "end_s", "partial", "score", "verdict", "feedback"} <= set(d["reps"][1])
    back = RepetitionReport.from_dict(json.loads(json.dumps(d)))
    assert back.to_dict() == d


def test_a_movement_too_small_to_count_says_so():
    """A figure swinging its arms 10 degrees moves less than a still body seems to move from one
    camera: nothing is counted in a clip of it, and the summary says why; a larger movement
    that is not found gets no such reason."""
    small = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=10.0).select_frames(np.arange(8, 39))
    small = small.replace(time_s=small.time_s - small.time_s[0])
    still = small.replace(world_m=np.repeat(small.world_m[:1], 120, axis=0), time_s=np.arange(120) / 30.0,
                          visibility=None, presence=None)
    report = _judge(small, repeat_motion(small, count=3, rng=np.random.default_rng(1)).track, noise_free=False)
    assert report.rep_count == 0
    assert "can hardly be told from standing still" in report.summary
    report = _judge(_rep(), still, noise_free=False)
    assert report.rep_count == 0
    assert "standing still" not in report.summary


def test_summary_of_no_repetition():
    assert summarize_repetitions([]) == "No repetition of the coach's movement was found."
    assert "can hardly be told from standing still" in summarize_repetitions([], motion_to_noise=0.8)
    assert "standing still" not in summarize_repetitions([], motion_to_noise=1.2)


def test_a_count_the_second_way_disputes_says_it_may_be_off():
    """Where the second way of counting finds something else, the summary says what, ``count_sure`` is
    false in the JSON with the other count, and a report saved before claims nothing."""
    from lab.reps.segment import Repetition

    report = _judge(_rep(), repeat_motion(_rep(), count=3, rng=np.random.default_rng(2)).track)
    assert report.count_sure is True and report.other_count == 3 and "may be off" not in report.summary
    assert report.to_dict()["motion_to_noise"] is None  # motion capture: no camera noise
    results = list(report.results)
    other = [Repetition(index=1, start_s=0.0, end_s=0.4, partial=True, cost_fraction=0.1)] + \
        [Repetition(index=k + 2, start_s=k + 0.5, end_s=k + 1.4, partial=False, cost_fraction=0.1) for k in range(4)]
    worded = summarize_repetitions(results, other=other)
    assert worded.startswith(summarize_repetitions(results))
    assert worded.endswith("The count may be off: counted another way (the whole clip matched at once), the clip "
                           "holds 4 full repetitions, with a partial one at the start.")
    assert summarize_repetitions([], other=other[:2]).endswith("holds 1 full repetition, with a partial one at the "
                                                               "start.")
    unsure = dataclasses.replace(report, count_sure=False, other_count=4, summary=worded)
    d = unsure.to_dict()
    assert d["count_sure"] is False and d["other_count"] == 4
    back = RepetitionReport.from_dict(json.loads(json.dumps(d)))
    assert back.count_sure is False and back.to_dict() == d
    older = RepetitionReport.from_dict({k: v for k, v in d.items() if k not in ("count_sure", "other_count")})
    assert older.count_sure is None and older.to_dict()["count_sure"] is None


# ------------------------------------------------------------------ the analysis and the CLI
@pytest.fixture(scope="module")
def pose_files(sample_tracks, tmp_path_factory):
    from lab.pose.track import write_track

    d = tmp_path_factory.mktemp("reps")
    return {n: write_track(sample_tracks[f"{n}.mp4"], d / f"{n.replace('/', '_')}.parquet")
            for n in ("sports2d/demo", "pose2sim/cam01", "pose2sim/cam02")}


def test_analysis_with_repetitions_saves_and_loads(pose_files, tmp_path):
    from lab.pipeline import Analysis, analyze

    a = analyze(pose_files["sports2d/demo"], pose_files["sports2d/demo"], reps=True)
    d = a.to_dict()
    assert d["rep_count"] == 2 and len(d["reps"]) >= 2
    assert d["repetitions"]["reference_rep_count"] == 2
    back = Analysis.load(a.save(tmp_path / "a"))
    assert back.to_dict()["reps"] == d["reps"]
    assert analyze(pose_files["pose2sim/cam01"], pose_files["pose2sim/cam02"]).repetitions is None


def test_cli_compare_reps_json(pose_files):
    from typer.testing import CliRunner

    from lab.cli import app

    res = CliRunner().invoke(app, ["compare", str(pose_files["pose2sim/cam01"]), str(pose_files["pose2sim/cam02"]),
                                   "--reps", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["rep_count"] == 1
    assert d["reps"][0]["verdict"] == d["verdict"] == "same"
    assert 0.0 <= d["reps"][0]["start_s"] < d["reps"][0]["end_s"] <= 1.7
    # counted alike the second way, and well clear of the camera's noise
    assert d["repetitions"]["count_sure"] is True and d["repetitions"]["other_count"] == 1
    assert d["repetitions"]["motion_to_noise"] > 2.0


def test_report_section_lists_each_repetition_and_jumps_the_player_to_it():
    """One row per repetition, coloured by verdict, carrying its start in the player's clip: clicking it
    pauses the report's side-by-side player there (checked by hand in headless Chromium on Sports2D)."""
    import re
    import types

    from lab.report import REP_TINTS, repetitions_html

    clip = repeat_motion(_rep(), count=5, rng=np.random.default_rng(3), alter=_alter)
    report = _judge(_rep(), clip.track)
    page = repetitions_html(types.SimpleNamespace(repetitions=report))
    rows = re.findall(r'<tr class="lab-rep" data-player-s="([\d.]+)" style="background:(#[0-9a-f]+)', page)
    assert [float(t) for t, _ in rows] == pytest.approx([r.repetition.start_s for r in report.results], abs=1e-3)
    assert [c for _, c in rows] == [REP_TINTS[r.verdict] for r in report.results]
    assert "<h2>Repetitions: 5</h2>" in page and "querySelector('.lab-player')" in page
    unsure = repetitions_html(types.SimpleNamespace(repetitions=dataclasses.replace(report, count_sure=False)))
    assert "<h2>Repetitions: 5 (the count may be off)</h2>" in unsure
    assert repetitions_html(types.SimpleNamespace(repetitions=None)) == ""


def test_report_pairs_pass_reps_on(tmp_path, monkeypatch):
    """``lab report --pairs FILE --reps``: every pair's analysis is asked for its repetitions."""
    import lab.report as R

    seen = []

    def fake_report_pair(reference, attempt, folder, **kw):
        seen.append(kw.get("reps"))
        raise R.LabError("stop here", exit_code=2)

    monkeypatch.setattr(R, "report_pair", fake_report_pair)
    pairs = [{"name": "a", "reference": "r.parquet", "attempt": "x.parquet"},
             {"name": "b", "reference": "r.parquet", "attempt": "y.parquet"}]
    R.write_reports(pairs, tmp_path, reps=True)
    R.write_reports(pairs[:1], tmp_path / "plain")
    assert seen == [True, True, False]


def test_repetitions_that_agree_are_judged_together():
    from types import SimpleNamespace

    from lab.reps.judge import pool_repetition_verdicts
    from lab.score.verdict import VerdictModel

    model = VerdictModel(terms=("log_distance",), coefficients=(-1.0,), intercept=0.0, uncertain_band=(0.45, 0.55))

    def rep(p, verdict=None):
        return SimpleNamespace(p_same=p, verdict=verdict or model.verdict(p))

    comparisons = {1: rep(0.8), 2: rep(0.7), 3: rep(0.3), 4: rep(0.9), 5: rep(0.1), 6: rep(0.85, "uncertain")}
    unlike = {5: ["Right knee bends 31 degrees more than in the player's other repetitions"]}
    pooled = pool_repetition_verdicts(comparisons, unlike, verdict_model=model)
    # the five that agree have a median p_same of 0.8: "same", rep 3 included; the odd one is left to its
    # own verdict, and so is one whose verdict came from thin evidence rather than its p_same
    assert pooled == {k: ("same", 0.8) for k in (1, 2, 3, 4)}
    # two or three are judged together too (compared with each other on the error model's spread); one is not
    three = {k: comparisons[k] for k in (1, 2, 3)}
    assert pool_repetition_verdicts(three, {}, verdict_model=model) == {k: ("same", 0.7) for k in (1, 2, 3)}
    assert pool_repetition_verdicts({1: comparisons[1]}, {}, verdict_model=model) == {}
    assert pool_repetition_verdicts(comparisons, unlike, verdict_model=None) == {}
    low = {k: rep(p) for k, p in enumerate((0.2, 0.3, 0.6, 0.1), start=1)}
    assert pool_repetition_verdicts(low, {}, verdict_model=model) == {k: ("different", 0.25) for k in (1, 2, 3, 4)}


def test_a_repetition_that_alone_would_not_match_is_judged_with_the_others():
    """Five unchanged repetitions filmed from another camera: their distances to the coach's differ by
    the noise alone. A verdict model whose line lies between the median and the largest of them calls
    that farthest one "different" on its own; judged with the others it is "same", and says why."""
    from lab.score.compare import prepare_features
    from lab.score.uncertainty import film_like_mediapipe
    from lab.score.verdict import VerdictModel

    clip = repeat_motion(_rep(), count=5, rng=np.random.default_rng(6))
    filmed = film_like_mediapipe(clip.track.replace(frame="lab"), azimuth_deg=60.0, seed=1, noise_scale=0.5)
    coach = film_like_mediapipe(_rep().replace(frame="lab"), azimuth_deg=0.0, seed=2, noise_scale=0.5)
    ref_fs, att_fs = prepare_features(coach), prepare_features(filmed)

    def judge(model):
        return judge_repetitions(ref_fs, att_fs, reference_info=describe_clip(coach),
                                 attempt_info=describe_clip(filmed), verdict_model=model)

    first = judge(VerdictModel(terms=("log_distance",), coefficients=(-1.0,), intercept=0.0,
                               uncertain_band=(0.5, 0.5)))
    full = [r for r in first.results if not r.repetition.partial]
    assert len(full) == 5 and not any(r.unlike_others for r in full)
    log_d = np.log([r.comparison.distance for r in full])
    line = (np.median(log_d) + log_d.max()) / 2                       # p_same = 0.5 at this distance
    report = judge(VerdictModel(terms=("log_distance",), coefficients=(-1.0,), intercept=float(line),
                                uncertain_band=(0.5, 0.5)))
    results = [r for r in report.results if not r.repetition.partial]
    far = int(np.argmax(log_d))
    assert results[far].p_same < 0.5 and results[far].verdict == "same"
    assert results[far].summary.startswith("Same: like the player's other repetitions")
    assert all(r.verdict == "same" for r in results)


def test_phase_means_are_read_on_the_medoid_and_the_coachs_phases():
    """Five cycles, the third with 30 degrees more right-knee flexion over its middle half: on the medoid's
    quarters its phases 2 and 3 stand out by most of that, phases 1 and 4 and the other cycles by little;
    given the coach's phases per clip time (here: the first half of each cycle is phase 1, the rest 2),
    the phases follow them."""
    from lab.reps.judge import measure_phase_means
    from lab.reps.segment import Repetition

    rng = np.random.default_rng(5)
    clip = repeat_motion(_rep(), count=5, rng=rng, alter=_alter)
    reps = [Repetition(index=k + 1, start_s=s, end_s=e, partial=False, cost_fraction=0.0)
            for k, (s, e) in enumerate(zip(clip.starts_s, clip.ends_s))]
    fs = compute_features(clip.track, lift=False, body=clip.track)
    means = measure_phase_means(fs, reps)
    knee = means[means["joint"] == "right_knee"].pivot(index="rep", columns="phase", values="mean_deg")
    dev = knee - knee.drop(index=clip.altered).median()
    assert sorted(means["phase"].unique()) == [1, 2, 3, 4]
    assert (dev.loc[clip.altered, [2, 3]] > 15).all()
    assert dev.drop(index=clip.altered).abs().to_numpy().max() < 5
    # the coach's phases, given per repetition as its comparison's steps: the first half of each cycle
    # phase 1, the rest 2, and a 0.3-s margin either side (phase 3) that reaches into its neighbours;
    # the medoid's phases come from its own steps only, so no neighbour's margin shows as a phase 3
    t = fs.time_s
    steps = []
    for s, e in zip(clip.starts_s, clip.ends_s):
        inside = (t >= s - 0.3) & (t <= e + 0.3)
        phase = np.where(t[inside] <= (s + e) / 2, 1, 2)
        phase[(t[inside] < s - 1e-6) | (t[inside] > e + 1e-6)] = 3
        steps.append((t[inside], phase))
    two = measure_phase_means(fs, reps, rep_steps=steps)
    assert sorted(two["phase"].unique()) == [1, 2]
    with pytest.raises(ValueError, match="rep_steps has 2 items for 5 repetitions"):
        measure_phase_means(fs, reps, rep_steps=steps[:2])
    assert measure_phase_means(fs, []).empty
