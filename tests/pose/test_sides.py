"""One left/right swapper and one mirror for the whole package."""

import numpy as np
import pytest

from lab.pose.sides import mirror_permutation, mirror_track, swap_side, unsided
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack


@pytest.mark.parametrize("name, twin", [
    ("left_knee", "right_knee"), ("right_hip_abduction", "left_hip_abduction"),
    ("vel:left_elbow", "vel:right_elbow"), ("pos:right_wrist:x", "pos:left_wrist:x"),
    ("trunk_lean", "trunk_lean"), ("nose", "nose")])
def test_swap_side_wherever_the_side_word_sits(name, twin):
    assert swap_side(name) == twin
    assert swap_side(swap_side(name)) == name
    assert unsided(name) == unsided(twin) and "left" not in unsided(name) and "right" not in unsided(name)


def test_unsided_drops_only_the_side_word():
    assert unsided("pos:left_wrist:y") == "pos:wrist:y"
    assert unsided("right_hip_abduction") == "hip_abduction"
    assert unsided("vel:left_knee") == "vel:knee" and unsided("neck") == "neck"


def test_mirror_permutation_pairs_every_sided_landmark():
    perm = mirror_permutation(BLAZEPOSE_KEYPOINTS)
    names = [BLAZEPOSE_KEYPOINTS[i] for i in perm]
    assert names[BLAZEPOSE_KEYPOINTS.index("left_ankle")] == "right_ankle"
    assert names[BLAZEPOSE_KEYPOINTS.index("nose")] == "nose"
    assert sorted(perm) == list(range(len(BLAZEPOSE_KEYPOINTS)))


def test_mirror_track_reflects_swaps_and_is_an_involution():
    rng = np.random.default_rng(0)
    T, K = 5, len(BLAZEPOSE_KEYPOINTS)
    tr = PoseTrack(time_s=np.arange(T) / 30, keypoints=BLAZEPOSE_KEYPOINTS, world_m=rng.normal(size=(T, K, 3)),
                   image_px=rng.uniform(0, 100, size=(T, K, 2)), meta={"width": 100})
    m = mirror_track(tr)
    li, ri = tr.index("left_wrist"), tr.index("right_wrist")
    np.testing.assert_allclose(m.world_m[:, li], tr.world_m[:, ri] * [-1, 1, 1])
    np.testing.assert_allclose(m.image_px[:, li, 0], 100 - tr.image_px[:, ri, 0])
    assert m.meta["mirrored"] is True
    back = mirror_track(m)
    np.testing.assert_allclose(back.world_m, tr.world_m)
    np.testing.assert_allclose(back.image_px, tr.image_px)
    assert back.meta["mirrored"] is False


def test_no_other_swapper_in_the_package():
    """Every left/right swap goes through lab.pose.sides (five helpers used to match names differently).
    Telling a side apart (``startswith("left_")``) is not swapping and stays allowed."""
    import re
    from pathlib import Path

    import lab
    root = Path(lab.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "sides.py"
                 and re.search(r'replace\("left_"|"right_" \+|"left_" \+|\[5:\]', p.read_text())]
    assert offenders == []
