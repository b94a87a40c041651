"""The verdict model: terms, fitting, folds by motion, calibration error, on tables with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from lab.score.verdict import VerdictModel, compute_terms, load_verdict_model
from lab.score.verdict_fit import (
    assign_motion_folds,
    choose_uncertain_band,
    cross_validate,
    expected_calibration_error,
    fit_verdict_model,
    reliability_table,
    score_predictions,
)


def synthetic_table(n_motions=8, pairs_per_motion=30, seed=0):
    """Pairs whose distance is the noise times how much the clips move: "same" pairs sit at 1.0x the
    motion amplitude, "different" ones at 1.6x. The distance alone mixes them (amplitudes vary 10x);
    divided by the motion it separates them."""
    rng = np.random.default_rng(seed)
    motions = [f"m{k}" for k in range(n_motions)]
    amp = {m: a for m, a in zip(motions, np.geomspace(2, 20, n_motions))}
    rows = []
    for m in motions:
        for _ in range(pairs_per_motion):
            same = rng.random() < 0.5
            other = m if same else rng.choice([o for o in motions if o != m])
            motion = math.sqrt(amp[m] * amp[other])
            d = motion * (1.0 if same else 1.6) * math.exp(rng.normal(0, 0.1))
            rows.append({"reference_motion": m, "attempt_motion": other, "same": bool(same), "gap_deg": 0.0,
                         "distance": d, "reference_motion_deg": amp[m], "attempt_motion_deg": amp[other],
                         "matched_fraction": 1.0, "extreme_speed": False})
    return pd.DataFrame(rows)


def test_terms_are_logs_with_floors_and_bounded_coverage():
    t = compute_terms(distance=10.0, reference_motion_deg=0.0, attempt_motion_deg=np.nan, matched_fraction=1.7,
                      extreme_speed=True)
    assert t["log_distance"] == pytest.approx(math.log(10))
    assert t["log_reference_motion"] == t["log_attempt_motion"] == 0.0  # floored at 1 degree
    assert t["matched_fraction"] == 1.0 and t["extreme_speed"] == 1.0


def test_dividing_by_the_motion_separates_what_one_line_cannot():
    table = synthetic_table()
    alone = cross_validate(table, predict=lambda tr, te: -np.log(te["distance"].to_numpy()), repeats=2)
    fitted = fit_verdict_model(table, terms=("log_distance", "log_reference_motion", "log_attempt_motion"))
    oof = cross_validate(table, repeats=2, predict=lambda tr, te: np.array(
        [fit_verdict_model(tr, terms=fitted.terms).p_same(compute_terms(
            distance=r.distance, reference_motion_deg=r.reference_motion_deg,
            attempt_motion_deg=r.attempt_motion_deg, matched_fraction=1.0, extreme_speed=False))
         for r in te.itertuples()]))
    s_alone = score_predictions(table, alone).iloc[-1]
    s_norm = score_predictions(table, oof).iloc[-1]
    assert s_alone["auc"] < 0.8 < 0.97 < s_norm["auc"]
    assert s_norm["accuracy"] > 0.9
    # the distance is divided by the motion: coefficients of about -b, +b/2, +b/2
    b = -fitted.coefficients[0]
    assert b > 0 and fitted.coefficients[1] == pytest.approx(b / 2, rel=0.3)
    # the line for a pair is where p_same = 0.5
    terms = compute_terms(distance=5.0, reference_motion_deg=10.0, attempt_motion_deg=10.0, matched_fraction=1.0,
                          extreme_speed=False)
    line = fitted.threshold_distance(terms)
    assert fitted.p_same({**terms, "log_distance": math.log(line)}) == pytest.approx(0.5, abs=1e-6)
    assert 10.0 < line < 16.0  # between "same" (1.0x the motion) and "different" (1.6x)


def test_folds_never_put_a_motion_on_both_sides():
    table = synthetic_table(n_motions=6, pairs_per_motion=10)
    seen = []

    def spy(train, test):
        tr = set(train["reference_motion"]) | set(train["attempt_motion"])
        te = set(test["reference_motion"]) | set(test["attempt_motion"])
        seen.append(tr & te)
        return np.zeros(len(test))
    p = cross_validate(table, predict=spy, n_folds=3, repeats=3)
    assert seen and all(s == set() for s in seen)
    assert np.isfinite(p).mean() > 0.3  # every pair whose two motions share a fold gets a prediction
    folds = assign_motion_folds(["a", "b", "c", "d", "e"], n_folds=2, seed=1)
    assert sorted(np.bincount(list(folds.values()))) == [2, 3]


def test_calibration_error_and_reliability():
    rng = np.random.default_rng(3)
    p = rng.random(20000)
    y = rng.random(20000) < p  # calibrated by construction
    assert expected_calibration_error(p, y) < 0.02
    assert expected_calibration_error(np.clip(p + 0.3, 0, 1), y) > 0.2
    rel = reliability_table(p, y)
    assert len(rel) == 10 and (abs(rel["mean_p_same"] - rel["share_same"]) < 0.05).all()


def test_calibration_weighed_as_the_fit_weighs_the_classes():
    """p calibrated for even odds (the likelihood ratio of two unit normals at +-1), on pairs drawn one same
    to two different: miscalibrated by the odds counted pair by pair, calibrated with the classes weighed
    alike."""
    import pandas as pd

    from lab.score.verdict_fit import score_predictions, weigh_pairs

    rng = np.random.default_rng(4)
    y = rng.random(30000) < 1 / 3
    x = rng.normal(np.where(y, 1.0, -1.0), 1.0)
    p = 1 / (1 + np.exp(-2 * x))
    w = weigh_pairs(pd.DataFrame({"same": y}))
    assert expected_calibration_error(p, y) > 0.06
    assert expected_calibration_error(p, y, weights=w) < 0.02
    rel = reliability_table(p, y, weights=w)
    assert (abs(rel["mean_p_same"] - rel["share_same"]) < 0.05).all() and abs(rel["weight"].sum() - 1) < 1e-9
    row = score_predictions(pd.DataFrame({"same": y, "gap_deg": 0.0}), p).iloc[-1]
    assert row["balanced_ece"] < 0.02 < 0.06 < row["ece"]
    assert abs(row["balanced_accuracy"] - 0.841) < 0.01   # P(N(1,1) > 0), either class


def test_uncertain_band_widens_until_the_decided_verdicts_are_right():
    p = np.array([0.05, 0.1, 0.45, 0.55, 0.6, 0.9, 0.95, 0.48, 0.52])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1], bool)
    low, high = choose_uncertain_band(p, y, target_accuracy=1.0)
    decided = (p < low) | (p >= high)
    assert ((p[decided] >= 0.5) == y[decided]).all()
    assert low <= 0.45 and high > 0.55


def test_model_verdicts_and_file_round_trip(tmp_path):
    m = VerdictModel(terms=("log_distance",), coefficients=(-2.0,), intercept=4.0, uncertain_band=(0.4, 0.6))
    assert m.threshold_distance({"log_distance": 0.0}) == pytest.approx(math.exp(2.0))
    assert [m.verdict(p) for p in (0.1, 0.45, 0.59, 0.6, 0.9)] == ["different", "uncertain", "uncertain",
                                                                  "same", "same"]
    f = tmp_path / "verdict.json"
    import json
    f.write_text(json.dumps(m.to_dict()))
    assert load_verdict_model(f) == m
    f.write_text("{not json")
    assert load_verdict_model(f) is None


def test_travel_difference_tells_walking_forwards_from_walking_backwards():
    from cmp_helpers import travelling

    from lab.score.compare import match_features, measure_travel_difference, prepare_features
    from lab.score.uncertainty import film_like_mediapipe

    def filmed(velocity, azimuth_deg):
        return prepare_features(film_like_mediapipe(travelling(velocity), azimuth_deg=azimuth_deg, noise_scale=0.0,
                                                    travel=True))

    forwards = filmed((0.0, 0.0, 1.0), 0.0)
    same = measure_travel_difference(match_features(forwards, filmed((0.0, 0.0, 1.0), 120.0)))
    backwards = measure_travel_difference(match_features(forwards, filmed((0.0, 0.0, -1.0), 120.0)))
    # the figure moves its limbs alike either way: only the travel tells them apart (2 m/s over a torso)
    assert same["travel_difference"] < 0.2
    assert backwards["travel_difference"] == pytest.approx(2.0 / forwards.torso_m, rel=0.1)
    assert same["reference_travel"] == pytest.approx(1.0 / forwards.torso_m, rel=0.1)
    assert backwards["attempt_travel"] == pytest.approx(1.0 / forwards.torso_m, rel=0.1)
    pinned = prepare_features(film_like_mediapipe(travelling((0.0, 0.0, 1.0)), azimuth_deg=0.0, noise_scale=0.0))
    on_the_spot = measure_travel_difference(match_features(forwards, pinned))   # a treadmill walk is not a walk
    assert on_the_spot["travel_difference"] > 1.0 and on_the_spot["attempt_travel"] < 0.1


def test_travel_direction_tells_a_walk_from_a_diagonal_walk():
    """Bandai-Namco's walk-left walks about 30 degrees off the body's front: same limbs, same speed."""
    from cmp_helpers import travelling

    from lab.score.compare import match_features, measure_travel_difference, prepare_features
    from lab.score.uncertainty import film_like_mediapipe
    from lab.score.verdict import STILL_TRAVEL

    def filmed(velocity, azimuth_deg):
        return prepare_features(film_like_mediapipe(travelling(velocity), azimuth_deg=azimuth_deg, noise_scale=0.0,
                                                    travel=True))

    forwards = filmed((0.0, 0.0, 1.0), 0.0)
    a = np.radians(30.0)
    diagonal = measure_travel_difference(match_features(forwards, filmed((np.sin(a), 0.0, np.cos(a)), 60.0),
                                                        mirror="no"))
    same = measure_travel_difference(match_features(forwards, filmed((0.0, 0.0, 1.0), 60.0), mirror="no"))
    speed = 1.0 / forwards.torso_m
    assert diagonal["travel_direction_difference"] == pytest.approx(
        2 * np.sin(a / 2) * speed / (STILL_TRAVEL + speed), rel=0.1)
    assert same["travel_direction_difference"] < 0.05
    pinned = prepare_features(film_like_mediapipe(travelling((0.0, 0.0, 1.0)), azimuth_deg=0.0, noise_scale=0.0))
    # a body staying in place has no direction to differ in
    assert measure_travel_difference(match_features(forwards, pinned))["travel_direction_difference"] < 0.05


def test_a_clip_seen_front_to_back_travels_as_it_did():
    """A pose model that reads the whole clip as seen from behind (left/right swapped, depth mirrored) makes
    the walk a mirror image walking backwards; the mirrored match takes the travel's signs as unknown."""
    from cmp_helpers import travelling

    from lab.lift import flip_repaired
    from lab.score.compare import match_features, measure_travel_difference, prepare_features
    from lab.score.uncertainty import film_like_mediapipe

    def filmed(velocity, azimuth_deg):
        return film_like_mediapipe(travelling(velocity), azimuth_deg=azimuth_deg, noise_scale=0.0, travel=True)

    forwards = prepare_features(filmed((0.0, 0.0, 1.0), 0.0))
    attempt = filmed((0.0, 0.0, 1.0), 30.0)
    flipped = prepare_features(flip_repaired(attempt, np.arange(attempt.n_frames)))
    # the flip reverses the body's own front: read as it is, the walk goes backwards
    assert np.nanmedian(flipped.select(["travel:front"]).values) < 0
    match = match_features(forwards, flipped)
    assert match.mirrored
    assert measure_travel_difference(match)["travel_difference"] < 0.3
    plain = match_features(forwards, flipped, mirror="no")     # a plain match keeps the signs: backwards
    assert measure_travel_difference(plain)["travel_difference"] > 1.5 / forwards.torso_m


def test_unknown_travel_is_judged_by_the_fallback_model(tmp_path):
    t = dict(distance=10.0, reference_motion_deg=5.0, attempt_motion_deg=5.0, matched_fraction=1.0,
             extreme_speed=False)
    assert math.isnan(compute_terms(**t)["travel_difference"])
    assert compute_terms(**t, travel_difference=1.5)["travel_difference"] == 1.5
    fallback = VerdictModel(terms=("log_distance",), coefficients=(-2.0,), intercept=4.0, uncertain_band=(0.45, 0.55))
    model = VerdictModel(terms=("log_distance", "travel_difference"), coefficients=(-2.0, -1.0), intercept=5.0,
                         uncertain_band=(0.45, 0.55), fallback=fallback)
    known, unknown = compute_terms(**t, travel_difference=0.5), compute_terms(**t)
    assert model.logit(known) == pytest.approx(5.0 - 2.0 * math.log(10) - 0.5)
    assert model.logit(unknown) == pytest.approx(4.0 - 2.0 * math.log(10))
    assert model.threshold_distance(unknown) == pytest.approx(math.exp(2.0))
    assert model.threshold_distance(known) == pytest.approx(math.exp(4.5 / 2.0))
    from lab.score.verdict_fit import write_verdict_file
    back = load_verdict_model(write_verdict_file(model, path=tmp_path / "v.json"))
    assert back == model and back.fallback == fallback


def joint_table(n_motions=8, pairs_per_motion=40, seed=0):
    """Pairs whose knees tell same from different (4 against 12 degrees) while their elbows are as far
    apart either way (4-40 degrees, at random); the neck is unknown in a third of the pairs."""
    rng = np.random.default_rng(seed)
    motions = [f"m{k}" for k in range(n_motions)]
    rows = []
    for m in motions:
        for _ in range(pairs_per_motion):
            same = bool(rng.random() < 0.5)
            other = m if same else str(rng.choice([o for o in motions if o != m]))
            knee = (4.0 if same else 12.0) * math.exp(rng.normal(0, 0.2))
            elbow = float(np.exp(rng.uniform(np.log(4), np.log(40))))
            neck = float(rng.uniform(2, 8)) if rng.random() > 1 / 3 else np.nan
            rows.append({"reference_motion": m, "attempt_motion": other, "same": same, "gap_deg": 0.0,
                         "distance": math.sqrt((knee ** 2 + elbow ** 2) / 2), "reference_motion_deg": 20.0,
                         "attempt_motion_deg": 20.0, "matched_fraction": 1.0, "extreme_speed": False,
                         "joint_distance:knee": knee, "joint_distance:elbow": elbow,
                         "joint_distance:neck": neck})
    return pd.DataFrame(rows)


def test_weighted_distance_leaves_unknown_joints_out():
    from lab.score.verdict_fit import weigh_joint_distances

    d2 = np.array([[4.0, 16.0, np.nan], [np.nan, np.nan, 9.0]])
    got = weigh_joint_distances(d2, np.array([3.0, 1.0, 2.0]))
    assert got == pytest.approx([math.sqrt((3 * 4 + 16) / 4), 3.0])


def test_learnt_joint_weights_find_the_joint_that_tells_motions_apart():
    from lab.score.verdict_fit import _weighted_distance_predictor, fit_weighted_distance

    table = joint_table()
    alone = cross_validate(table, predict=lambda tr, te: -np.log(te["distance"].to_numpy()), repeats=2)
    weighted = cross_validate(table, predict=_weighted_distance_predictor, repeats=2)
    assert score_predictions(table, alone).iloc[-1]["auc"] < 0.85
    assert score_predictions(table, weighted).iloc[-1]["auc"] > 0.97
    weights, predict = fit_weighted_distance(table)
    assert set(weights) == {"knee", "elbow", "neck"} and np.mean(list(weights.values())) == pytest.approx(1.0)
    assert weights["knee"] > 5 * weights["elbow"]
    p = predict(table)
    assert np.isfinite(p).all() and ((p >= 0.5) == table["same"]).mean() > 0.9
    with pytest.raises(ValueError, match="per-joint"):
        fit_weighted_distance(table.drop(columns=["joint_distance:knee", "joint_distance:elbow",
                                                  "joint_distance:neck"]))


def test_family_folds_hold_every_look_alike_out_together():
    from lab.score.verdict_fit import by_family, family_of

    assert family_of("walk-left") == family_of("run") != family_of("bye") == family_of("call")
    assert family_of("bow") == "bow"
    table = pd.DataFrame({"reference_motion": ["walk", "walk-left", "bye", "bow", "walk", "call"],
                          "attempt_motion": ["walk", "run", "call", "bow", "bye", "bow"],
                          "same": [True, False, False, True, False, False]})
    fams = by_family(table)
    seen = []

    def predict(train, test):
        held = set(test["reference_motion"]) | set(test["attempt_motion"])
        assert not held & (set(train["reference_motion"]) | set(train["attempt_motion"]))
        seen.append(held)
        return np.zeros(len(test))

    cross_validate(fams, predict=predict, n_folds=fams["reference_motion"].nunique(), repeats=1)
    assert {family_of("walk")} in seen           # the walk family's own pairs, predicted with it held out
