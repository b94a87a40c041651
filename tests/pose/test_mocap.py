"""Motion capture in and out: BVH forward kinematics, TRC writing (round trip), load_track dispatch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import shared_path

from lab.io import LabError
from lab.pose.extract import load_track
from lab.pose.mocap import read_bvh, read_bvh_joints, read_trc, write_trc
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack

_TINY_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT LeftUpLeg
  {
    OFFSET 0.1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftLeg
    {
      OFFSET 0 -0.4 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 -0.4 0
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.01
1 0.9 0 0 0 0   0 0 0   0 0 0
0 0.9 0 90 0 0   0 0 0   0 0 0
0 0.9 0 0 0 0   0 90 0   0 0 0
"""


def test_bvh_forward_kinematics_known_answers(tmp_path):
    p = tmp_path / "tiny.bvh"
    p.write_text(_TINY_BVH)
    names, t, pos, rate = read_bvh_joints(p)
    assert names == ["Hips", "LeftUpLeg", "LeftLeg", "LeftLeg/end"]
    assert rate == pytest.approx(100.0) and t[-1] == pytest.approx(0.02)
    # frame 0: translated by x = 1, no rotation
    np.testing.assert_allclose(pos[0], [[1, 0.9, 0], [1.1, 0.9, 0], [1.1, 0.5, 0], [1.1, 0.1, 0]], atol=1e-12)
    # frame 1: root turned 90 deg about Z: +x -> +y, -y -> +x
    np.testing.assert_allclose(pos[1, 1], [0, 1.0, 0], atol=1e-12)
    np.testing.assert_allclose(pos[1, 3], [0.8, 1.0, 0], atol=1e-12)
    # frame 2: the hip flexes 90 deg about X (channel order Z X Y): the leg points forward (+z)
    np.testing.assert_allclose(pos[2, 2], [0.1, 0.9, -0.4], atol=1e-12)
    track = read_bvh(p, scale_m=1.0)
    assert track.frame == "lab"
    np.testing.assert_allclose(track.world_m[0, BLAZEPOSE_KEYPOINTS.index("left_knee")], [1.1, 0.5, 0])
    assert np.isnan(track.world_m[:, BLAZEPOSE_KEYPOINTS.index("nose")]).all()


def test_bvh_channel_order_matters(tmp_path):
    a = _TINY_BVH.replace("0 0.9 0 0 0 0   0 90 0   0 0 0", "0 0.9 0 0 0 0   30 90 0   0 0 0")
    b = a.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n    JOINT LeftLeg",
                  "CHANNELS 3 Xrotation Zrotation Yrotation\n    JOINT LeftLeg")
    (tmp_path / "a.bvh").write_text(a)
    (tmp_path / "b.bvh").write_text(b)
    pa = read_bvh_joints(tmp_path / "a.bvh")[2]
    pb = read_bvh_joints(tmp_path / "b.bvh")[2]
    assert np.abs(pa[2, 2] - pb[2, 2]).max() > 0.05


def test_cmu_bvh_reads_as_a_plausible_person():
    walk = read_bvh(shared_path("data", "cmu_bvh", "131_01.bvh"))
    assert walk.meta["units_in_file"].startswith("cmu")
    assert walk.fps == pytest.approx(120, rel=1e-3)
    k = walk.index
    x = walk.world_m
    leg = (np.linalg.norm(x[:, k("left_hip")] - x[:, k("left_knee")], axis=-1)
           + np.linalg.norm(x[:, k("left_knee")] - x[:, k("left_ankle")], axis=-1))
    assert 0.7 < np.median(leg) < 1.0 and np.ptp(leg) < 1e-6       # rigid bones, metres
    assert 0.7 < np.median(x[:, k("left_hip"), 1]) < 1.1            # hips ~0.8-1 m above the floor
    assert np.median(x[:, k("left_shoulder"), 1]) > np.median(x[:, k("left_hip"), 1]) + 0.25
    assert np.median(x[:, k("left_ankle"), 1]) < 0.2
    hop = load_track(shared_path("data", "cmu_bvh", "131_03.bvh"))
    assert hop.frame == "lab" and hop.meta["model"] == "mocap:bvh"


def test_write_trc_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    T, K = 12, len(BLAZEPOSE_KEYPOINTS)
    world = rng.normal(size=(T, K, 3))
    world[3, 5] = np.nan                      # a missing sample
    world[:, BLAZEPOSE_KEYPOINTS.index("left_pinky")] = np.nan   # a landmark never seen
    track = PoseTrack(time_s=np.arange(T) / 50, keypoints=BLAZEPOSE_KEYPOINTS, world_m=world, frame="body",
                      meta={"fps": 50.0})
    path = write_trc(track, tmp_path / "out.trc")
    back = load_track(path)
    assert back.frame == "lab" and back.fps == 50.0
    np.testing.assert_array_equal(back.world_m, world)      # exact, NaN where NaN
    np.testing.assert_array_equal(back.time_s, track.time_s)
    assert "LHip" in path.read_text().splitlines()[3]           # usual TRC names for OpenSim
    assert not list(tmp_path.glob(".out.trc.*"))                # no temporary file left


def test_write_then_read_the_pose2sim_truth():
    truth = read_trc(shared_path("data", "pose2sim_trc", "S00_P00_T01_BalancingTrial_0-100.trc"))
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        back = read_trc(write_trc(truth, Path(d) / "t.trc"))
    np.testing.assert_array_equal(back.world_m, truth.world_m)


def test_unknown_mocap_format(tmp_path):
    from lab.pose.mocap import read_mocap
    with pytest.raises(LabError):
        read_mocap(tmp_path / "x.c3d")
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n")
    with pytest.raises(LabError):
        read_bvh(bad)
