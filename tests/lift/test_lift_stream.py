"""The causal body frame: same angles as the offline lift, flips caught as they happen, no look-ahead."""

import numpy as np
import pytest
from synthetic_pose import standing

from lab.features import compute_features
from lab.features.stream import StreamFeatures
from lab.lift import flip_repaired
from lab.lift.stream import StreamLifter


def _stream(track, *, stop=None):
    """(times (n,), feature rows (n, F), names, flipped per frame (T,)) of the track pushed frame by frame."""
    lifter = StreamLifter(width=track.meta.get("width"), height=track.meta.get("height"))
    feats = StreamFeatures()
    times, rows, flipped = [], [], []
    for f in range(track.n_frames if stop is None else stop):
        lf = lifter.push(track.time_s[f], track.world_m[f], image_px=track.image_px[f],
                         visibility=track.visibility[f])
        flipped.append(lf.flipped)
        out = feats.push(lf)
        if out is not None:
            t, values, conf, names = out
            times.append(t)
            rows.append(values)
    return np.array(times), np.array(rows), names, np.array(flipped)


def _turned(track, deg):
    """The same person turned ``deg`` about the vertical (camera y axis), so a flip moves the heading."""
    a = np.radians(deg)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return track.replace(world_m=track.world_m @ R.T)


def test_stream_features_match_the_offline_ones():
    track = standing(T=120, period_s=4.0)
    times, rows, names, _ = _stream(track)
    offline = compute_features(track)
    assert names == offline.names
    # once the window (1/6 s: six frames) is full, a row describes the pose 2.5 frames before the last one
    assert np.all(np.diff(times) > 0) and len(times) == track.n_frames - 2
    assert np.allclose(times[3:], track.time_s[5:] - 2.5 / 30)
    for joint in ("left_shoulder", "right_shoulder", "left_elbow", "trunk_lean", "vel:left_shoulder"):
        k = names.index(joint)
        at = np.interp(times, offline.time_s, offline.values[:, k])
        err = np.abs(rows[:, k] - at)
        # the landmark filter lags (about 35 ms at 6 Hz): the arms move at most 63 degrees a second here
        limit = 3.0 if not joint.startswith("vel:") else 8.0
        assert np.nanmedian(err) < limit, (joint, np.nanmedian(err))


def test_a_flip_is_repaired_from_its_first_frame():
    track = _turned(standing(T=90), 30.0)
    flips = np.zeros(track.n_frames, dtype=bool)
    flips[30:41] = True
    flipped_track = flip_repaired(track, flips)  # what MediaPipe does when it sees the back as the front
    _, rows, names, caught = _stream(flipped_track)
    assert np.array_equal(caught, flips)
    _, clean, _, _ = _stream(track)
    k = names.index("left_elbow")
    assert np.nanmax(np.abs(rows[:, k] - clean[:, k])) < 1.0


def test_nothing_depends_on_later_frames():
    track = standing(T=90)
    _, early, _, _ = _stream(track, stop=50)
    _, full, _, _ = _stream(track)
    np.testing.assert_array_equal(early, full[:len(early)])
    assert len(early) == 48  # rows start once the window holds three frames


def test_frames_must_move_forward():
    track = standing(T=5)
    lifter = StreamLifter()
    lifter.push(1.0, track.world_m[0])
    with pytest.raises(ValueError, match="increase"):
        lifter.push(1.0, track.world_m[1])


def test_nobody_in_view_gives_no_frame():
    lifter = StreamLifter()
    assert lifter.push(0.0, np.full((33, 3), np.nan)) is None
