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
                   "(+9 to +16 deg; cam04 +15.9): MediaPipe's torso facing differs from the TRC's "
                   "hip/shoulder facing; the common part cancels in relative azimuth")
def test_absolute_azimuth_within_15_degrees(table):
    err = table[(table.kind == "view") & (table.quantity == "azimuth")].set_index("item").error_deg
    print("absolute azimuth error per view:", err.round(1).to_dict())
    assert err.abs().max() <= 15.0


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
