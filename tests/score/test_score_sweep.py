"""View-gap experiment on mocap through synthetic cameras (small version of view_gap_sweep)."""

import numpy as np
import pytest
from helpers import shared_path

from lab.score.experiments import load_mocap, synthetic_view, view_gap_sweep

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def mocap():
    shared_path("data", "cmu_bvh", "131_03.bvh")
    shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc")
    return load_mocap()


def test_synthetic_view_matches_the_camera_geometry(mocap):
    tr = synthetic_view(mocap["balance"], azimuth_deg=90.0, elevation_deg=0.0, noise_px=0, noise_m=0,
                        noise_depth_m=0)
    assert tr.frame == "camera" and tr.image_px.shape == (tr.n_frames, 33, 2)
    i_l, i_r = tr.index("left_shoulder"), tr.index("right_shoulder")
    # camera on the subject's left: the left shoulder is nearer (smaller z) than the right
    assert np.nanmedian(tr.world_m[:, i_l, 2] - tr.world_m[:, i_r, 2]) < -0.2
    # hip-centred
    hip = (tr.world_m[:, tr.index("left_hip")] + tr.world_m[:, tr.index("right_hip")]) / 2
    assert np.nanmax(np.abs(hip)) < 1e-9
    # the subject stands in the image, upright (head above hips: smaller y)
    assert np.nanmedian(tr.image_px[:, tr.index("nose"), 1]) < np.nanmedian(tr.image_px[:, tr.index("left_hip"), 1])


def test_view_gap_auc_lifted_vs_naive(mocap):
    summary, dist = view_gap_sweep(gaps_deg=(0, 90, 180), n_segments=1, segment_s=3.0, mocap=mocap)
    print("\n" + summary.to_string())
    s = summary[summary["positives"] == "same recording"].set_index(["gap_deg", "method"])
    for gap in (0, 90, 180):
        assert s.loc[(gap, "ours_lifted"), "auc"] >= 0.97, gap
    # the naive 2D baseline falls apart when the views differ
    assert s.loc[(180, "just_dance_2d"), "auc"] < 0.9
