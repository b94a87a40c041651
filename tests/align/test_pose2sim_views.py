"""Viewpoints of the four Pose2Sim cameras against the calibration + TRC ground truth (../shared)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import shared_path

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def pose2sim(samples):
    from lab.align.calibration import read_qca
    from lab.lift import lift_track
    from lab.pose.extract import extract_pose_cached
    from lab.pose.mocap import read_trc
    from lab.samples import sample_path
    truth = read_trc(shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc"))
    cams = read_qca(sample_path("pose2sim/Calib.qca.txt"))
    lifted = {n: lift_track(extract_pose_cached(sample_path(f"pose2sim/{n}.mp4"), progress=False))
              for n in cams}
    return truth, cams, lifted


@pytest.fixture(scope="module")
def table(pose2sim):
    from lab.align.evaluate import evaluate_pose2sim_views
    truth, cams, lifted = pose2sim
    df = evaluate_pose2sim_views(lifted, cams, truth)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.round(1))
    return df


def test_table_has_six_pairs_and_four_views(table):
    pairs = table[table.kind == "pair"]
    assert len(pairs) == 6
    assert pairs.truth_deg.abs().between(45, 175).all()    # the pairs are 48-172 deg apart
    assert len(table[table.kind == "view"]) == 8           # azimuth + elevation per view


def test_relative_azimuth_targets(table):
    err = table[table.kind == "pair"].error_deg.abs()
    base = table[table.kind == "pair"].baseline_error_deg.abs()
    print(f"relative azimuth |error|: median {err.median():.1f}, max {err.max():.1f}; "
          f"baseline median {base.median():.1f}, max {base.max():.1f}")
    assert err.median() <= 6.0
    assert err.max() <= 12.0
    assert err.median() < base.median() and err.max() < base.max()


@pytest.mark.xfail(strict=True, reason="target missed: every view's azimuth is biased the same way "
                   "(+6 to +18 deg; cam04 +17.7): MediaPipe's torso facing differs from the TRC's "
                   "hip/shoulder facing; the common part cancels in relative azimuth (with the "
                   "ground-truth 3D the same pipeline is within 6 deg, see the next test)")
def test_absolute_azimuth_within_15_degrees(table):
    err = table[(table.kind == "view") & (table.quantity == "azimuth")].set_index("item").error_deg
    print("absolute azimuth error per view:", err.round(1).to_dict())
    assert err.abs().max() <= 15.0


@pytest.mark.parametrize("two_d", ["truth", "mediapipe"])
def test_ground_truth_3d_gives_each_views_absolute_azimuth(pose2sim, two_d):
    """The viewpoint pipeline itself (lifting, body frame, PnP, azimuth convention) is right: fed the
    triangulated 3D in each camera's axes, every view's absolute azimuth is within 6 degrees (measured
    2.1 / 3.7 / 0.3 / 0.6 with the truth's 2D, 5.4 / 3.2 / 0.3 / 1.8 with MediaPipe's own 2D). What the
    MediaPipe tracks miss by is therefore their 3D."""
    from lab.align import estimate_view
    from lab.align.evaluate import true_views, truth_as_camera_track
    from lab.lift.circular import circular_median_deg, wrap_deg
    truth, cams, lifted = pose2sim
    tv = true_views(truth, cams)
    errs = {}
    for name, cam in cams.items():
        img = lifted[name].image_px[:truth.n_frames] if two_d == "mediapipe" else None
        view = estimate_view(truth_as_camera_track(truth, cam, image_px=img), camera=cam)
        gt = circular_median_deg(tv[tv.camera == name].azimuth_deg.to_numpy())
        errs[name] = round(float(wrap_deg(view.azimuth_deg - gt)), 1)
    print(f"absolute azimuth error with the ground-truth 3D and {two_d} 2D:", errs)
    assert max(abs(e) for e in errs.values()) <= 6.0


def test_elevation_and_flags(table):
    el = table[(table.kind == "view") & (table.quantity == "elevation")]
    print("elevation error per view:", el.set_index("item").error_deg.round(1).to_dict())
    # the vertical comes from the body (legs); a lean and a camera pitch look alike from one view
    assert el.error_deg.abs().max() <= 10.0
    assert not table[table.kind == "view"].ambiguous.any()   # all four views are clear


def test_coach_model_reprojected_into_another_view_lands_on_its_person(pose2sim):
    """cam01's lifted model, moved into cam02's estimated camera, against cam02's own 2D landmarks.
    The person is ~540 px tall in cam02; MediaPipe's own 2D vs the triangulated truth differs by
    ~16-26 px. Measured median: ~44 px (8 % of the height)."""
    from lab.align import estimate_view, project_to_view
    truth, cams, lifted = pose2sim
    view = estimate_view(lifted["cam02"], camera=cams["cam02"])
    ghost = project_to_view(lifted["cam01"], view, target=lifted["cam02"])
    names = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
             "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "nose")
    idx = [lifted["cam02"].index(n) for n in names]
    err = np.linalg.norm(ghost[:, idx] - lifted["cam02"].image_px[:, idx], axis=-1)
    # the same for cam02's own model (how well a single view's 3D explains its own pixels)
    own = project_to_view(lifted["cam02"], view, target=lifted["cam02"])
    own_err = np.linalg.norm(own[:, idx] - lifted["cam02"].image_px[:, idx], axis=-1)
    print(f"ghost cam01->cam02: median {np.nanmedian(err):.1f} px, p90 {np.nanpercentile(err, 90):.1f} px; "
          f"cam02's own model: median {np.nanmedian(own_err):.1f} px")
    assert np.nanmedian(err) < 60
    assert np.nanpercentile(err, 90) < 130
