"""Features: known joint angles, view invariance, view-dependent confidence, mirroring, resampling."""

import numpy as np
import pytest
from cmp_helpers import skeleton_lab, to_camera, track_from

from lab.features import (
    compute_angles,
    compute_features,
    lift_or_basic,
    mirror_features,
    mirror_track,
    resample_features,
)


def _angles(track, lift=False):
    body, _ = lift_or_basic(track, lift=lift)
    vals, conf, names = compute_angles(body, camera=track if track.frame == "camera" else None)
    return dict(zip(names, vals.T)), dict(zip(names, conf.T))


def test_known_angles_in_body_frame():
    P = skeleton_lab(left_knee_deg=[60.0, 30.0], left_arm_deg=[90.0, 45.0], lean_deg=[20.0, 0.0])
    a, _ = _angles(track_from(P, frame="lab"))
    np.testing.assert_allclose(a["left_knee"], [60, 30], atol=1e-6)
    np.testing.assert_allclose(a["right_knee"], [0, 0], atol=1e-6)
    np.testing.assert_allclose(a["left_shoulder"], [90, 45], atol=1e-6)
    np.testing.assert_allclose(a["trunk_lean"], [20, 0], atol=1e-6)
    np.testing.assert_allclose(a["left_ankle"], [0, 0], atol=1e-6)   # foot at 90 deg to shank
    np.testing.assert_allclose(a["left_hip"], [20, 0], atol=1e-6)    # trunk leans over a vertical thigh
    np.testing.assert_allclose(a["left_hip_abduction"], [0, 0], atol=1e-6)


@pytest.mark.parametrize("azimuth_deg", [0.0, 40.0, 90.0, 135.0, -120.0])
def test_angles_do_not_depend_on_the_viewpoint(azimuth_deg):
    P = skeleton_lab(left_knee_deg=np.linspace(0, 80, 5), left_arm_deg=np.linspace(10, 120, 5),
                     lean_deg=np.linspace(0, 30, 5))
    ref, _ = _angles(track_from(P, frame="lab"))
    cam, _ = _angles(track_from(to_camera(P, azimuth_deg=azimuth_deg), frame="camera"))
    for name in ("left_knee", "left_shoulder", "trunk_lean", "left_hip", "right_elbow", "neck",
                 "left_hip_abduction"):
        np.testing.assert_allclose(cam[name], ref[name], atol=1e-4, err_msg=name)


def test_confidence_is_lower_when_the_limb_points_at_the_camera():
    # left arm raised 90 deg forward: seen from the front it points at the camera,
    # seen from the side it lies across the image
    P = skeleton_lab(left_knee_deg=[0.0], left_arm_deg=[90.0])
    _, c_front = _angles(track_from(to_camera(P, azimuth_deg=0.0), frame="camera"))
    _, c_side = _angles(track_from(to_camera(P, azimuth_deg=90.0), frame="camera"))
    assert c_front["left_shoulder"][0] < 0.35
    assert c_side["left_shoulder"][0] > 0.95
    # a knee bent in the sagittal plane: the same story for the shank/thigh
    P = skeleton_lab(left_knee_deg=[90.0])
    _, c_front = _angles(track_from(to_camera(P, azimuth_deg=0.0), frame="camera"))
    _, c_side = _angles(track_from(to_camera(P, azimuth_deg=90.0), frame="camera"))
    assert c_front["left_knee"][0] < c_side["left_knee"][0]


def test_mirrored_track_gives_mirrored_features():
    n = 40
    P = skeleton_lab(left_knee_deg=np.linspace(0, 70, n), right_knee_deg=np.full(n, 10.0),
                     left_arm_deg=np.linspace(0, 100, n), right_arm_deg=np.full(n, 30.0))
    tr = track_from(to_camera(P, azimuth_deg=30.0), frame="camera")
    f = compute_features(tr, lift=False, cutoff_hz=None)
    fm = compute_features(mirror_track(tr), lift=False, cutoff_hz=None)
    np.testing.assert_allclose(mirror_features(f).values, fm.values, atol=1e-6, equal_nan=True)
    i = f.names.index("left_knee")
    np.testing.assert_allclose(fm.values[:, fm.names.index("right_knee")], f.values[:, i], atol=1e-6)


def test_resampling_60_and_30_fps_agree():
    t60 = np.arange(120) / 60.0
    P = skeleton_lab(left_knee_deg=40 + 30 * np.sin(2 * np.pi * 0.7 * t60),
                     left_arm_deg=60 + 40 * np.sin(2 * np.pi * 0.5 * t60))
    tr60 = track_from(P, frame="lab", fps=60.0)
    tr30 = tr60.select_frames(np.arange(0, 120, 2)).replace(meta={"fps": 30.0})
    f60 = resample_features(compute_features(tr60, lift=False), rate_hz=30.0)
    f30 = resample_features(compute_features(tr30, lift=False), rate_hz=30.0)
    n = min(len(f60.time_s), len(f30.time_s))
    i = f60.names.index("left_knee")
    assert np.nanmax(np.abs(f60.values[:n, i] - f30.values[:n, i])) < 2.0


def test_resampling_keeps_long_gaps_missing():
    P = skeleton_lab(left_knee_deg=np.linspace(0, 60, 60))
    P[20:40] = np.nan
    f = resample_features(compute_features(track_from(P, frame="lab"), lift=False, cutoff_hz=None),
                          rate_hz=30.0, max_gap_s=0.25)
    i = f.names.index("left_knee")
    assert np.isnan(f.values[25:35, i]).all() and (f.confidence[25:35, i] == 0).all()
    assert np.isfinite(f.values[:19, i]).all()
