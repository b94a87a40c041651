"""The verdict's calibration set: takes, labels, near-twins and a few pairs measured (most need ../shared)."""

import numpy as np
import pytest
from helpers import shared_path

from lab.score.calibration_pairs import choose_pairs, list_calibration_takes, measure_calibration_pairs, near_twins


@pytest.fixture(scope="module")
def takes():
    shared_path("data", "bandai_d1", "dataset-1_bow_normal_001.bvh")
    return list_calibration_takes()


@pytest.mark.shared
def test_takes_cover_the_motions_and_styles(takes):
    motions = {t.motion for t in takes}
    assert {"walk", "walk-back", "bow", "bye", "byebye", "run", "dash"} <= motions
    assert len(takes) >= 120 and len({t.style for t in takes}) >= 10
    assert near_twins("walk", "walk-back") and near_twins("bye", "byebye") and not near_twins("bow", "walk")
    assert not near_twins("walk", "walk")


@pytest.mark.shared
def test_pairs_are_labelled_by_motion_with_near_twins_among_the_negatives(takes):
    pairs = choose_pairs(takes, gaps_deg=(0.0, 90.0), positives_per_gap=40, negatives_per_gap=80, seed=1)
    assert len(pairs) == 2 * 120
    assert (pairs["same"] == (pairs["reference_motion"] == pairs["attempt_motion"])).all()
    assert (pairs["reference"] != pairs["attempt"]).all()          # never a recording against itself
    neg = pairs[~pairs["same"]]
    assert neg["near_twin"].mean() == pytest.approx(0.5, abs=0.02)
    # CMU's walks and Bandai-Namco's are neither clearly the same drill nor a different one: left out
    assert not (pairs[["reference_motion", "attempt_motion"]].apply(set, axis=1) == {"walk", "cmu-walk"}).any()


@pytest.mark.shared
@pytest.mark.slow
def test_a_few_pairs_measured_like_the_product(takes):
    df = measure_calibration_pairs(gaps_deg=(90.0,), positives_per_gap=3, negatives_per_gap=4, baselines=False)
    assert len(df) == 7 and np.isfinite(df["distance"]).all()
    assert ((df["matched_fraction"] > 0) & (df["matched_fraction"] <= 1.0 + 1e-9)).all()
    assert (df["reference_motion_deg"] > 0).all() and (df["attempt_s"] <= df["reference_s"] + 5).all()
    assert np.isfinite(df["joint_distance:knee"]).all()     # the per-joint split the weighted candidate learns on
    # perfect poses: the same motion's other takes are nearer than other motions, on average
    clean = measure_calibration_pairs(gaps_deg=(0.0,), positives_per_gap=8, negatives_per_gap=8, baselines=False,
                                      noise_factor=0.0, seed=2)
    assert clean[clean["same"]]["distance"].median() < clean[~clean["same"]]["distance"].median()


def test_distance_by_joint_pools_the_sides_and_leaves_the_travel_out():
    from cmp_helpers import travelling

    from lab.score.calibration_pairs import measure_distance_by_joint
    from lab.score.compare import match_features, prepare_features
    from lab.score.uncertainty import film_like_mediapipe

    def filmed(azimuth_deg, noise_scale):
        return prepare_features(film_like_mediapipe(travelling((0.0, 0.0, 1.0)), azimuth_deg=azimuth_deg,
                                                    noise_scale=noise_scale, travel=True, seed=3))

    ref = filmed(0.0, 0.0)
    same = measure_distance_by_joint(match_features(ref, filmed(90.0, 0.0), mirror="no"))
    noisy = measure_distance_by_joint(match_features(ref, filmed(90.0, 1.0), mirror="no"))
    assert set(same) == set(noisy) and {"joint_distance:knee", "joint_distance:pos:wrist:y"} <= set(same)
    assert not any("left" in k or "right" in k or "travel" in k for k in same)
    assert max(same.values()) < 1.0                  # perfect poses from two cameras: the same angles
    assert np.nanmedian(list(noisy.values())) > 3 * np.nanmedian(list(same.values())) + 1.0
