"""Pose extraction on the real sample footage, against ground truth where ../shared has it."""

import numpy as np
import pytest
from helpers import shared_path

from lab.pose.track import BLAZEPOSE_KEYPOINTS

pytestmark = pytest.mark.slow

POSE2SIM = ["pose2sim/cam01.mp4", "pose2sim/cam02.mp4", "pose2sim/cam03.mp4", "pose2sim/cam04.mp4"]


@pytest.mark.parametrize("clip", POSE2SIM)
def test_pose2sim_person_found_on_95_percent_of_frames(sample_tracks, clip):
    tr = sample_tracks[clip]
    assert tr.n_frames == 100 and tr.fps == pytest.approx(60.0)
    assert tr.detection_rate() >= 0.95
    assert tr.image_px.shape == (100, 33, 2) and tr.world_m.shape == (100, 33, 3)
    # times are the container's presentation times: 1/60 s apart
    np.testing.assert_allclose(np.diff(tr.time_s), 1 / 60, atol=1e-3)
    # world landmarks are metres around the hips: a standing adult is 1.2-2.2 m from nose to heel
    nose, heel = tr.world_m[:, 0], tr.world_m[:, BLAZEPOSE_KEYPOINTS.index("left_heel")]
    assert 1.2 < np.nanmedian(np.linalg.norm(nose - heel, axis=-1)) < 2.2


def test_sports2d_follows_the_jumping_man_not_the_passer_by(sample_tracks):
    tr = sample_tracks["sports2d/demo.mp4"]
    person = tr.meta["person"]
    # someone is detected on >= 95% of frames ...
    assert person["any_person_rate"] >= 0.95
    # ... and the track stays on the man on the box: his hips never drop to the
    # woman walking on the grass (hips at y > 600 px) and never jump sideways.
    hips = tr.image_px[:, [23, 24]].mean(axis=1)  # NaN where he is lost
    seen = np.isfinite(hips[:, 0])
    assert seen.mean() >= 0.8
    assert np.nanmax(hips[:170, 1]) < 500
    step = np.linalg.norm(np.diff(hips, axis=0), axis=1)
    assert np.nanmax(step) < 150  # pixels per frame at 30 fps
    # frames where MediaPipe loses him mid-flip are NaN rows, not dropped and not zero
    assert tr.n_frames == 230 and not (tr.image_px == 0).all(axis=(1, 2)).any()


def test_missing_frames_are_nan_and_visibility_zero(sample_tracks):
    tr = sample_tracks["sports2d/demo.mp4"]
    lost = ~tr.detected()
    assert lost.any()
    assert np.isnan(tr.world_m[lost]).all() and (tr.visibility[lost] == 0).all()


@pytest.mark.parametrize("view", ["cam01", "cam02", "cam03", "cam04"])
def test_2d_landmarks_agree_with_reprojected_ground_truth(sample_tracks, view):
    """Median error of our 2D landmarks against the triangulated TRC seen through the calibration.

    Bound: 35 px. The subject is about 1000 px tall in these 1920 px frames, so
    35 px is 3.5% of body height; the TRC's joints are OpenPose/anatomical
    joint centres (hips especially sit ~3-5 cm from MediaPipe's hip landmarks)
    and the shared README reports 7-21 px for 2D detections against the same
    reprojection. Measured here: 16-26 px per view.
    """
    from lab.align.calibration import read_qca, y_up_to_z_up
    from lab.pose.mocap import read_trc

    gt = read_trc(shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc"))
    cams = read_qca(shared_path("data", "pose2sim_trc", "Calib.qca.txt"))
    tr = sample_tracks[f"pose2sim/{view}.mp4"]
    proj = cams[view].project(y_up_to_z_up(gt.world_m))
    err = np.linalg.norm(proj - tr.image_px, axis=-1)
    assert np.isfinite(err).sum() > 100 * 15
    assert np.nanmedian(err) < 35


def test_extraction_is_cached_by_content(samples, tmp_path):
    """Running twice costs one extraction; a copy of the video under another name hits the cache."""
    import shutil

    from lab.pose.extract import extract_pose_cached

    copy = tmp_path / "same content.mp4"
    shutil.copy(samples["pose2sim/cam01.mp4"], copy)
    a = extract_pose_cached(samples["pose2sim/cam01.mp4"], progress=False)
    b = extract_pose_cached(copy, progress=False)
    assert a.meta["cache"] == b.meta["cache"]
    np.testing.assert_array_equal(a.image_px, b.image_px)
    assert b.meta["source"] == str(copy)


def test_corrupted_cache_entry_is_rebuilt(samples, monkeypatch, tmp_path):
    import shutil

    from lab.io import cache_dir
    from lab.pose.extract import extract_pose_cached

    # work on a private copy of the cache so other tests keep theirs
    src = cache_dir()
    priv = tmp_path / "cache"
    shutil.copytree(src / "models", priv / "models")
    monkeypatch.setenv("LAB_CACHE_DIR", str(priv))
    good = extract_pose_cached(samples["pose2sim/cam02.mp4"], progress=False)
    entry = good.meta["cache"]
    with open(entry, "r+b") as f:
        f.seek(200)
        f.write(b"\x00" * 64)
    with pytest.warns(UserWarning, match="damaged"):
        again = extract_pose_cached(samples["pose2sim/cam02.mp4"], progress=False)
    np.testing.assert_allclose(again.image_px, good.image_px, atol=1e-6)
