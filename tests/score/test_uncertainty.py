"""How sure each joint-angle number is (lab.score.uncertainty) and the feedback it gates (lab.score.compare)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from cmp_helpers import skeleton_lab, to_camera, track_from

from lab.score.compare import JointResult, compare_tracks
from lab.score.uncertainty import (
    UNCERTAINTY_FILE,
    AngleErrorModel,
    ClipErrorSource,
    build_error_covariance,
    compute_family_z,
    estimate_hidden_fraction,
    estimate_mean_se_deg,
    fit_angle_error_model,
    load_angle_error_model,
    load_landmark_noise,
    summarize_phase_differences,
)

FPS = 30.0
PRECISE = AngleErrorModel(levels={}, default_level=float(np.log(2.0)), confidence_slope=0.0, view_slope=0.0,
                          scale=1.0, bias_fraction=0.5, correlation_time_s=0.2, systematic_deg={})


def _drill(t, *, knee_extra=0.0):
    s = np.sin(2 * np.pi * 0.5 * t)
    return skeleton_lab(left_knee_deg=45 + 40 * s + knee_extra, right_knee_deg=45 + 40 * s,
                        left_arm_deg=90 + 60 * s, right_arm_deg=30 + 10 * s, lean_deg=15 + 10 * s)


def _view(P, az):
    return track_from(to_camera(P, azimuth_deg=az), frame="camera", fps=FPS)


# ------------------------------------------------------------------ the error model
def test_a_bias_never_averages_out_and_fast_noise_does():
    t = np.arange(40) / FPS
    sd = np.full(40, 10.0)
    w = np.ones(40)
    assert estimate_mean_se_deg(sd, w, t, bias_fraction=1.0, correlation_time_s=0.2) == pytest.approx(10.0)
    white = estimate_mean_se_deg(sd, w, t, bias_fraction=0.0, correlation_time_s=1e-9)
    assert white == pytest.approx(10.0 / np.sqrt(40), rel=1e-6)
    slow = estimate_mean_se_deg(sd, w, t, bias_fraction=0.0, correlation_time_s=1.0)
    assert white < slow < 10.0
    # a frame repeated by the DTW path is the same error, not a second sample
    rep = estimate_mean_se_deg(np.full(2, 10.0), np.ones(2), np.array([0.5, 0.5]), bias_fraction=0.0,
                               correlation_time_s=1e-9)
    assert rep == pytest.approx(10.0)
    cov = build_error_covariance(sd[:5], t[:5], bias_fraction=0.3, correlation_time_s=0.1)
    assert np.allclose(np.diag(cov), 100.0) and np.all(np.linalg.eigvalsh(cov) > 0)


def test_family_z_and_the_view_term():
    assert compute_family_z(1) == pytest.approx(1.96, abs=0.01)
    assert compute_family_z(56) > compute_family_z(14) > 2.5
    assert estimate_hidden_fraction("left_knee", 0.0) == pytest.approx(1.0)          # flexion in depth
    assert estimate_hidden_fraction("left_knee", 90.0) == pytest.approx(0.0, abs=1e-9)
    assert estimate_hidden_fraction("left_hip_abduction", 90.0) == pytest.approx(1.0)
    assert estimate_hidden_fraction("neck", None) == 0.5


def test_fit_recovers_a_known_bias_and_noise():
    """Errors drawn from the model itself: the fit gives back its levels, within sampling error."""
    rng = np.random.default_rng(3)
    t = np.arange(150) / FPS
    rows = []
    for v in range(8):
        for joint, sd in (("left_knee", 12.0), ("right_knee", 12.0), ("trunk_lean", 4.0)):
            cov = build_error_covariance(np.full(len(t), sd), t, bias_fraction=0.5, correlation_time_s=0.3)
            e = rng.multivariate_normal(np.zeros(len(t)), cov)
            rows.append(pd.DataFrame({"view": f"v{v}", "azimuth_deg": 45.0 * v, "joint": joint, "time_s": t,
                                      "error_deg": e + 5.0, "confidence": 0.9, "truth_deg": 0.0}))
    m = fit_angle_error_model(pd.concat(rows), use_confidence=False, use_view=False, tail_quantile=None)
    assert m.estimate_step_sd_deg("left_knee", np.array([0.9]))[0] == pytest.approx(12.0, rel=0.35)
    assert m.estimate_step_sd_deg("trunk_lean", np.array([0.9]))[0] == pytest.approx(4.0, rel=0.35)
    assert m.systematic_deg["left_knee"] == pytest.approx(5.0, abs=6.0)
    assert 0.15 <= m.bias_fraction <= 0.85


def test_the_shipped_table_says_where_it_came_from_and_how_well_it_holds_out():
    doc = json.loads(UNCERTAINTY_FILE.read_text())
    assert doc["command"] == "python -m lab.score.uncertainty"
    model = load_angle_error_model()
    assert model.confidence_slope > 0                        # a limb seen worse is trusted less
    for joint in ("left_knee", "right_elbow", "neck", "trunk_lean"):
        sd = model.estimate_step_sd_deg(joint, np.array([1.0, 0.2]))
        assert 1.0 < sd[0] < sd[1] < 60.0
    cv = doc["angles"]["cross_validation"]["per_joint"]
    assert len(cv) == 14
    # leave one view out: the held-out view's phase means fall inside 95% intervals about as often as they should
    assert 0.85 <= np.mean([r["covered_95"] for r in cv.values()]) <= 1.0
    noise = load_landmark_noise()
    assert {"groups", "links", "correlation_time_s", "distance_matched_scale"} <= set(noise)


def test_a_clips_landmarker_scales_its_errors_as_measured():
    """The factor applies to the landmarker's own clips only; one not listed (or not known) gets 1."""
    from lab.score.uncertainty import estimate_step_sd_deg

    model = dataclasses.replace(PRECISE, pose_model_scales={"pose_landmarker_lite": 1.5})
    c = np.array([1.0, 0.5])
    base = estimate_step_sd_deg("left_knee", c, ClipErrorSource(), model=model)
    lite = estimate_step_sd_deg("left_knee", c, ClipErrorSource(pose_model="pose_landmarker_lite"), model=model)
    assert np.allclose(lite, 1.5 * base)
    assert np.allclose(estimate_step_sd_deg("left_knee", c, ClipErrorSource(pose_model="lite"), model=model), lite)
    for other in ("pose_landmarker_full", "pose_landmarker_heavy", None):
        assert np.allclose(estimate_step_sd_deg("left_knee", c, ClipErrorSource(pose_model=other), model=model), base)
    assert AngleErrorModel.from_dict(model.to_dict()) == model
    # the shipped table: measured for lite and heavy, per Pose2Sim view, against the landmarker it was fitted on
    doc = json.loads(UNCERTAINTY_FILE.read_text())["angles"]
    assert set(doc["model"]["pose_model_scales"]) == {"pose_landmarker_lite", "pose_landmarker_heavy"}
    assert set(doc["pose_models"]["pose_landmarker_lite"]["per_view"]) == {f"cam0{i}" for i in range(1, 5)}
    assert doc["model"]["pose_model_scales"]["pose_landmarker_lite"] == doc["pose_models"]["pose_landmarker_lite"]["scale"]


def test_the_landmarkers_factors_are_what_their_views_measure(samples):
    """Re-measured from the four Pose2Sim views against their TRC, as shipped. The full landmarker's
    factor also guards the shipped fit: were the pipeline to drift so that the model no longer
    describes today's full-model errors, it would leave 1."""
    from helpers import shared_path

    from lab.score.uncertainty import measure_pose_model_scales

    shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc")
    model = dataclasses.replace(load_angle_error_model(), pose_model_scales={})
    got = measure_pose_model_scales(model, pose_models=("full", "lite"))
    shipped = json.loads(UNCERTAINTY_FILE.read_text())["angles"]["pose_models"]
    for name in ("pose_landmarker_full", "pose_landmarker_lite"):
        assert got[name]["scale"] == pytest.approx(shipped[name]["scale"], abs=0.02), name
    assert 0.9 <= got["pose_landmarker_full"]["scale"] <= 1.1
    assert got["pose_landmarker_lite"]["scale"] > 1.1   # lite errs more than the model fitted on full says


def test_a_clip_says_which_landmarker_measured_it():
    from lab.score.compare import describe_clip

    track = _view(_drill(np.arange(60) / FPS), 30.0)
    track.meta["model"] = "pose_landmarker_lite"
    info = describe_clip(track)
    assert info.pose_model == "pose_landmarker_lite" and info.to_dict()["pose_model"] == "pose_landmarker_lite"
    assert info.build_error_source().pose_model == "pose_landmarker_lite"


# ------------------------------------------------------------------ feedback gated by it
def test_every_joint_says_what_it_would_take_and_round_trips():
    t = np.arange(0, 4, 1 / FPS)
    c = compare_tracks(_view(_drill(t), 0.0), _view(_drill(t), 60.0), lift=False, threshold=8.0)
    d = c.to_dict()
    assert {"cannot_judge", "summary"} <= set(d)
    for j in d["joints"]:
        assert "detectable_deg" in j and j["detectable_deg"] is not None
        assert j["threshold_deg"] < j["detectable_deg"]
        assert JointResult(**j) == next(x for x in c.joints if x.name == j["name"])
    assert {"reference_se_deg", "attempt_se_deg"} <= set(c.per_step.columns)
    ph = c.summarize_phases()
    assert np.allclose(ph["threshold_deg"], compute_family_z(len(c.joints) * 4) * ph["se_deg"], equal_nan=True)


def test_an_identical_attempt_gets_no_sentence_and_a_real_change_does():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    same = compare_tracks(ref, _view(_drill(t), 60.0), lift=False, threshold=8.0, error_model=PRECISE)
    assert same.verdict == "same" and same.feedback == []
    assert "No difference larger than these cameras can show" in same.summary
    bent = _drill(t, knee_extra=25.0 * ((t > 2.0) & (t < 3.0)))
    c = compare_tracks(ref, _view(bent, 60.0), lift=False, threshold=8.0, mirror="no", error_model=PRECISE)
    assert c.feedback and c.feedback[0].startswith("Left knee bends"), c.feedback
    # the same change under MediaPipe's noise (the shipped model) is not claimed, and the knee says why
    mp = compare_tracks(ref, _view(bent, 60.0), lift=False, threshold=8.0, mirror="no")
    knee = mp.joint("left_knee")
    assert knee.detectable_deg > 25.0 and not any(f.startswith("Left knee") for f in mp.feedback)
    assert any(s.startswith("The left knee can't be judged") for s in mp.cannot_judge) or knee.can_judge


def test_a_different_movement_gets_a_summary_and_no_technique():
    t = np.arange(0, 4, 1 / FPS)
    ref = _view(_drill(t), 0.0)
    still_arms = skeleton_lab(left_knee_deg=45 + 40 * np.sin(np.pi * t), right_knee_deg=45 + 40 * np.sin(np.pi * t),
                              left_arm_deg=np.full(len(t), 5.0), right_arm_deg=np.full(len(t), 5.0), lean_deg=0.0)
    c = compare_tracks(ref, _view(still_arms, 0.0), lift=False, threshold=3.0, error_model=PRECISE)
    assert c.verdict == "different" and c.feedback == []
    assert c.summary.startswith("Different movement") and "arms" in c.summary, c.summary
    assert "the coach's arms move" in c.summary


def test_thin_evidence_says_what_is_missing():
    t = np.arange(0, 3, 1 / FPS)
    P = to_camera(_drill(t), azimuth_deg=30.0)
    P[10:] = np.nan
    c = compare_tracks(_view(_drill(t), 0.0), track_from(P, frame="camera"), lift=False, threshold=8.0)
    assert c.verdict == "uncertain" and c.feedback == []
    assert c.summary.startswith("Uncertain:") and "found on only" in c.summary


def test_summarize_phase_differences_counts_both_clips():
    n = 30
    per_step = pd.DataFrame({"step": np.arange(n), "reference_time_s": np.arange(n) / FPS,
                             "attempt_time_s": np.arange(n) / FPS, "joint": "left_knee", "attempt_joint": "left_knee",
                             "reference_deg": 0.0, "attempt_deg": 10.0, "difference_deg": 10.0, "confidence": 0.8,
                             "phase": 1, "reference_se_deg": 3.0, "attempt_se_deg": 4.0})
    model = AngleErrorModel(levels={}, default_level=0.0, confidence_slope=0.0, view_slope=0.0, scale=1.0,
                            bias_fraction=1.0, correlation_time_s=0.1, systematic_deg={"left_knee": 12.0})
    ph = summarize_phase_differences(per_step, reference=ClipErrorSource(), attempt=ClipErrorSource(), model=model)
    assert ph.loc[0, "se_deg"] == pytest.approx(5.0)                  # sqrt(3^2 + 4^2), all bias
    assert ph.loc[0, "mean_deg"] == pytest.approx(10.0)
    # against motion capture the MediaPipe clip's systematic error counts too
    mixed = summarize_phase_differences(per_step, reference=ClipErrorSource(mocap=True), attempt=ClipErrorSource(),
                                        model=model)
    assert mixed.loc[0, "se_deg"] == pytest.approx(np.hypot(3.0, np.hypot(4.0, 12.0)))
