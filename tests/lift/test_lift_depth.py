"""Depth refinement: limbs re-placed along their image rays recover foreshortened bends."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import shared_path

from lab.align.evaluate import evaluate_joint_angles, joint_angles_deg
from lab.align.synthetic import simulate_camera_track, synthetic_body_track
from lab.lift import lift_track, refine_depth


def test_flattened_depth_is_recovered():
    body = synthetic_body_track(n_frames=30, swing_deg=60)
    cam = simulate_camera_track(body, azimuth_deg=20, elevation_deg=10, distance_m=3.5)
    # MediaPipe-like error on some frames: depth relative to the hips squashed to 40 %; the clip's
    # median bone lengths stay right (they come from the other frames)
    bad = np.arange(30) % 3 == 0
    flat = cam.world_m.copy()
    flat[bad, :, 2] *= 0.4
    lifted = lift_track(cam.replace(world_m=flat), cutoff_hz=10)
    refined = refine_depth(lifted)
    truth = joint_angles_deg(body)[bad]
    err_before = (joint_angles_deg(lifted)[bad] - truth).abs().mean().mean()
    err_after = (joint_angles_deg(refined)[bad] - truth).abs().mean().mean()
    print(f"joint-angle error on squashed frames: {err_before:.1f} -> {err_after:.1f} deg")
    assert err_after < 0.5 * err_before
    assert refined.meta["lift"]["depth_refined"] and refined.frame == "body"


def test_refine_depth_refuses_mocap():
    from lab.lift import lift_mocap
    body = synthetic_body_track(n_frames=10)
    mocap = lift_mocap(body.replace(frame="lab"))
    with pytest.raises(ValueError):
        refine_depth(mocap)


def test_pose2sim_joint_angles_improve(samples):
    from lab.align.calibration import read_qca
    from lab.pose.extract import extract_pose_cached
    from lab.pose.mocap import read_trc
    from lab.samples import sample_path
    truth = read_trc(shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc"))
    cams = read_qca(sample_path("pose2sim/Calib.qca.txt"))
    lifted = {n: lift_track(extract_pose_cached(sample_path(f"pose2sim/{n}.mp4"), progress=False))
              for n in cams}
    refined = {n: refine_depth(t) for n, t in lifted.items()}     # default field of view, no calibration
    before = evaluate_joint_angles(lifted, truth)["mean"]
    after = evaluate_joint_angles(refined, truth)["mean"]
    print("joint-angle MAE per view, lifted:", before.round(1).to_dict(), "refined:", after.round(1).to_dict())
    assert after.mean() < before.mean() - 1.5
    assert after.max() < 15.0
