"""compare_tracks on synthetic bodies with known answers; calibrate_threshold; score scale."""

import re

import numpy as np
import pytest
from cmp_helpers import skeleton_lab, to_camera, track_from

from lab.features import mirror_track
from lab.score import compare_tracks, score_from_distance
from lab.score.calibrate import calibrate_threshold, roc_auc
from lab.score.uncertainty import AngleErrorModel

FPS = 30.0

#: Angles known to 2 degrees: what the feedback may claim on these noise-free synthetic bodies.
PRECISE = AngleErrorModel(levels={}, default_level=float(np.log(2.0)), confidence_slope=0.0, view_slope=0.0,
                          scale=1.0, bias_fraction=0.5, correlation_time_s=0.2, systematic_deg={})


def _drill(t, *, knee_scale=1.0, phase=0.0):
    """A squat-and-reach drill: left knee, both arms and trunk move, right arm differs from left."""
    s = np.sin(2 * np.pi * 0.5 * t + phase)
    return skeleton_lab(left_knee_deg=knee_scale * (45 + 40 * s), right_knee_deg=45 + 40 * s,
                        left_arm_deg=90 + 60 * s, right_arm_deg=30 + 10 * s, lean_deg=15 + 10 * s)


def _view(P, az, fps=FPS):
    return track_from(to_camera(P, azimuth_deg=az), frame="camera", fps=fps)


def test_score_scale():
    assert score_from_distance(0.0, threshold=8.0) == 100.0
    assert score_from_distance(8.0, threshold=8.0) == pytest.approx(50.0)
    assert score_from_distance(4.0, threshold=8.0) > 80
    assert score_from_distance(30.0, threshold=8.0) < 1


def test_time_stretched_copy_scores_near_100_with_its_slope():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    t_slow = np.arange(0, 4 * 1.5, 1 / FPS)
    att = _view(_drill(t_slow / 1.5), 70.0)            # same drill, 1.5x slower, another viewpoint
    c = compare_tracks(ref, att, lift=False, threshold=8.0)
    assert c.score > 95 and c.verdict == "same"
    assert c.slope == pytest.approx(1.5, rel=0.05)
    assert not c.mirrored


def test_mirrored_copy_found_with_auto():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    att = mirror_track(_view(_drill(t), -40.0))        # left-handed player, other viewpoint
    auto = compare_tracks(ref, att, mirror="auto", lift=False, threshold=8.0)
    plain = compare_tracks(ref, att, mirror="no", lift=False, threshold=8.0)
    assert auto.mirrored is True and auto.to_dict()["mirrored"] is True
    assert auto.score > 95
    assert plain.score < auto.score - 20
    assert auto.mirror_costs["mirrored@1"] < auto.mirror_costs["plain@1"]


def test_open_ends_find_the_drill_inside_a_longer_attempt():
    t = np.arange(0, 3, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    still = skeleton_lab(left_knee_deg=np.full(45, 5.0), right_knee_deg=5.0, left_arm_deg=0.0,
                         right_arm_deg=0.0, lean_deg=0.0)
    P = np.concatenate([still, _drill(t), still[:30]])  # 1.5 s idle before, 1 s after
    att = _view(P, 120.0)
    c = compare_tracks(ref, att, lift=False, threshold=8.0)
    start, stop = c.to_dict()["matched"]["attempt_s"]
    assert start == pytest.approx(1.5, abs=0.1) and stop == pytest.approx(1.5 + t[-1], abs=0.1)
    assert c.verdict == "same" and c.score > 95


def test_feedback_names_the_joint_the_amount_and_the_time():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    # the player bends the left knee 24 degrees less, but only in the second half
    P = _drill(t)
    P2 = skeleton_lab(left_knee_deg=45 + 40 * np.sin(2 * np.pi * 0.5 * t) - 24.0 * (t >= 2.0),
                      right_knee_deg=45 + 40 * np.sin(2 * np.pi * 0.5 * t),
                      left_arm_deg=90 + 60 * np.sin(2 * np.pi * 0.5 * t),
                      right_arm_deg=30 + 10 * np.sin(2 * np.pi * 0.5 * t),
                      lean_deg=15 + 10 * np.sin(2 * np.pi * 0.5 * t))
    assert not np.allclose(P, P2)
    c = compare_tracks(ref, _view(P2, 60.0), lift=False, window_s=0.3, mirror="no", threshold=8.0,
                       error_model=PRECISE)
    knee = c.joint("left_knee")
    assert knee.worst_deg == pytest.approx(-24.0, abs=3.0)
    assert knee.worst_time_s >= 1.9
    assert c.joints[0].name == "left_knee"
    # the amount said is what the DTW path measured in that phase: re-timing can absorb a few degrees
    m = re.match(r"Left knee bends (\d+) degrees less than the coach at (\d+\.\d) s", c.feedback[0] if c.feedback else "")
    assert m, c.feedback
    assert abs(int(m[1]) - 24) <= 6 and float(m[2]) >= 1.9, c.feedback[0]
    df = c.per_step
    late = df[(df.joint == "left_knee") & (df.reference_time_s > 2.3)]
    early = df[(df.joint == "left_knee") & (df.reference_time_s < 1.7)]
    # DTW may absorb part of a difference by re-timing; the early half has none
    assert late["difference_deg"].mean() < -10.0
    assert abs(early["difference_deg"].mean()) < 3.0


def test_a_different_drill_is_different():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    other = skeleton_lab(left_knee_deg=np.full(len(t), 5.0), right_knee_deg=60 + 30 * np.sin(3 * t),
                         left_arm_deg=150 + 0 * t, right_arm_deg=150 + 0 * t, lean_deg=0.0)
    c = compare_tracks(ref, _view(other, 0.0), lift=False, threshold=8.0)
    assert c.verdict == "different" and c.score < 20


def test_thin_evidence_is_uncertain():
    t = np.arange(0, 3, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    P = to_camera(_drill(t), azimuth_deg=30.0)
    P[10:] = np.nan                                      # a person on a third of the frames
    c = compare_tracks(ref, track_from(P, frame="camera"), lift=False, threshold=8.0)
    assert c.verdict == "uncertain"
    assert any("found on only" in w for w in c.warnings)


def test_calibrate_threshold_known_answers():
    d = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    y = np.array([1, 1, 1, 0, 0, 0])
    cal = calibrate_threshold(d, y)
    assert cal.auc == 1.0 and cal.eer == 0.0 and cal.separable
    assert cal.threshold == pytest.approx(4.0)
    # one overlap: the different pair at 2.5 sits among the same pairs
    d2 = np.array([1.0, 2.0, 3.0, 2.5, 6.0, 7.0])
    cal2 = calibrate_threshold(d2, y, rule="eer")
    assert cal2.auc == pytest.approx(8 / 9)
    assert roc_auc(d2, y) == pytest.approx(8 / 9)
    assert cal2.eer == pytest.approx(1 / 3)
    assert not cal2.separable
    assert cal2.roc["true_positive_rate"][-1] == 1.0
    with pytest.raises(ValueError):
        calibrate_threshold([1.0, 2.0], [1, 1])


def test_feedback_names_the_players_own_side_when_mirrored():
    t = np.arange(0, 4, 1 / FPS)
    s = np.sin(2 * np.pi * 0.5 * t)
    ref = _view(skeleton_lab(left_knee_deg=45 + 40 * s, right_knee_deg=10 + 0 * s, left_arm_deg=90 + 60 * s,
                             right_arm_deg=20 + 0 * s, lean_deg=15 + 10 * s), 0.0)
    # a left-footed player: does the coach's left-side drill on the right side, with 25 deg less knee bend
    att = _view(skeleton_lab(left_knee_deg=10 + 0 * s, right_knee_deg=20 + 40 * s, left_arm_deg=20 + 0 * s,
                             right_arm_deg=90 + 60 * s, lean_deg=15 + 10 * s), 50.0)
    c = compare_tracks(ref, att, lift=False, threshold=8.0, error_model=PRECISE)
    assert c.mirrored
    knee = c.joint("left_knee")
    assert knee.attempt_joint == "right_knee"
    # DTW re-timing absorbs part of a constant offset on average; the largest gap is the offset
    assert knee.mean_signed_deg < -5.0
    assert knee.worst_deg == pytest.approx(-25.0, abs=4.0)
    # the player's own side only: never "right knee ... than the coach's left knee"
    assert any(f.startswith("Right knee bends") and "less than the coach at" in f for f in c.feedback), c.feedback
    assert not any("coach's" in f for f in c.feedback + c.cannot_judge), c.feedback
    assert "mirror image" in c.summary


def test_the_verdict_model_gives_p_same_the_line_and_an_uncertain_band():
    import math

    from lab.score.verdict import VerdictModel

    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    att = _view(_drill(t, knee_scale=1.3), 60.0)         # the same drill, the left knee bent more
    base = compare_tracks(ref, att, lift=False, threshold=100.0)
    d = base.distance

    def model(line, band=(0.5, 0.5)):                   # p_same = 0.5 exactly at distance `line`
        return VerdictModel(terms=("log_distance",), coefficients=(-4.0,), intercept=4.0 * math.log(line),
                            uncertain_band=band)

    from lab.features import compute_features
    from lab.score.compare import compare_features, describe_clip

    fr, fa = compute_features(ref, lift=False), compute_features(att, lift=False)
    info = dict(reference_info=describe_clip(ref), attempt_info=describe_clip(att))
    same = compare_features(fr, fa, **info, verdict_model=model(2 * d))
    assert same.verdict == "same" and same.p_same == pytest.approx(1 / (1 + 2 ** -4))
    assert same.threshold == pytest.approx(2 * d) and same.score > 50
    assert same.to_dict()["p_same"] == pytest.approx(same.p_same, abs=1e-3)
    diff = compare_features(fr, fa, **info, verdict_model=model(d / 2))
    assert diff.verdict == "different" and diff.p_same < 0.5 and diff.score < 50 and diff.feedback == []
    unsure = compare_features(fr, fa, **info, verdict_model=model(d * 1.05, band=(0.3, 0.7)))
    assert unsure.verdict == "uncertain" and unsure.summary.startswith("Uncertain") and "probability" in unsure.summary
    assert unsure.feedback == []
    # a line given by the user wins over the model's; p_same is still reported
    fixed = compare_features(fr, fa, **info, verdict_model=model(d / 2), threshold=2 * d)
    assert fixed.verdict == "same" and fixed.threshold_provenance == "given" and fixed.p_same < 0.5


def test_stretching_costs_distance():
    from lab.score.compare import TEMPO_PENALTY, tempo_factor

    assert tempo_factor(1.0) == 1.0
    assert tempo_factor(1.5) == pytest.approx(tempo_factor(1 / 1.5)) == pytest.approx(1 + TEMPO_PENALTY * np.log(1.5))
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    att = _view(_drill(t), 30.0)
    c = compare_tracks(ref, att, lift=False, threshold=8.0)
    tried = c.mirror_costs
    # the same tempo wins; each stretched try is reported with its factor included
    assert c.settings["speed_used"] == 1.0 and min(tried, key=tried.get) == "plain@1"
