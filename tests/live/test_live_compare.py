"""The live comparison on streams whose answers are known: where the player is, repetitions, cues."""

import dataclasses

import numpy as np
import pytest
from synthetic_pose import standing

from lab.features import compute_features
from lab.live import LiveComparison
from lab.pose.sides import mirror_track
from lab.pose.track import BLAZEPOSE_KEYPOINTS
from lab.score.uncertainty import ClipErrorSource, load_angle_error_model


def _play(live, track):
    updates = [live.push(track.time_s[f], track.world_m[f], image_px=track.image_px[f],
                         visibility=track.visibility[f]) for f in range(track.n_frames)]
    live.finish()
    return updates


def _one_arm(track):
    """Only the left arm moves: the right one keeps its first pose (a sided movement)."""
    w = track.world_m.copy()
    for name in ("right_elbow", "right_wrist", "right_index", "right_pinky", "right_thumb"):
        k = BLAZEPOSE_KEYPOINTS.index(name)
        w[:, k] = w[0, k]
    return track.replace(world_m=w)


def _bend_left_elbow(track, deg):
    """The left forearm turned ``deg`` further in the arm's plane (the elbow bends more), bones kept."""
    w = track.world_m.copy()
    e, wr = BLAZEPOSE_KEYPOINTS.index("left_elbow"), BLAZEPOSE_KEYPOINTS.index("left_wrist")
    a = np.radians(deg)
    fore = w[:, wr] - w[:, e]
    # rotate the forearm about the camera's z axis (the arm moves in the frontal x-y plane here)
    rot = np.stack([fore[:, 0] * np.cos(a) - fore[:, 1] * np.sin(a),
                    fore[:, 0] * np.sin(a) + fore[:, 1] * np.cos(a), fore[:, 2]], -1)
    for name in ("left_wrist", "left_index", "left_pinky", "left_thumb"):
        w[:, BLAZEPOSE_KEYPOINTS.index(name)] = w[:, e] + rot
    return track.replace(world_m=w)


def test_progress_follows_the_coach_through_one_repetition():
    ref = standing(T=60)  # one raise and lower, 2 s
    live = LiveComparison(compute_features(ref), mirror="no")
    ups = _play(live, standing(T=60))
    assert [u.progress for u in ups[:2]] == [None, None]  # rows start once the features' window holds 3 frames
    progress = np.array([u.progress for u in ups[2:]])
    assert progress[-1] >= 0.9
    assert np.corrcoef(progress, np.arange(len(progress)))[0, 1] > 0.95
    assert all(u.cue is None for u in ups)
    assert ups[-1].score > 90 and ups[-1].p_same > 0.5


@pytest.mark.parametrize("period_s", [2.0, 2.6, 1.6])
def test_repetitions_are_counted_at_another_tempo(period_s):
    ref = standing(T=60)
    live = LiveComparison(compute_features(ref), mirror="no")
    n = 4
    stream = standing(T=int(round(n * period_s * 30)), period_s=period_s)
    _play(live, stream)
    reps = live.repetitions
    assert len(reps) == n
    for k, r in enumerate(reps):
        assert abs(r.start_s - k * period_s) <= 0.2 and abs(r.end_s - (k + 1) * period_s) <= 0.25
        assert r.verdict == "same"


def test_a_mirror_image_is_matched_as_one_and_named_on_the_players_side():
    ref = _one_arm(standing(T=60))
    model = dataclasses.replace(load_angle_error_model(), scale=0.05)  # a pose estimator 20 times better
    live = LiveComparison(compute_features(ref), reference_source=ClipErrorSource(mocap=True), error_model=model)
    ups = _play(live, mirror_track(_bend_left_elbow(_one_arm(standing(T=60)), 40.0)))
    assert ups[-1].mirrored is True
    cues = [u.cue for u in ups if u.cue is not None]
    assert cues, "a 40 degree bend with a small error model must be cued"
    assert {c.joint for c in cues} == {"right_elbow"}  # the player's own side: their right arm moves
    assert all(c.text.startswith("Right elbow bends") and "more than the coach" in c.text for c in cues)


def test_no_cue_without_a_difference_and_none_within_mediapipes_noise():
    ref = standing(T=60)
    small = dataclasses.replace(load_angle_error_model(), scale=0.05)
    same = _play(LiveComparison(compute_features(ref), error_model=small), standing(T=60))
    assert all(u.cue is None for u in same)
    # the shipped model (MediaPipe's measured noise): a 40 degree bend is inside what one camera can show
    bent = _play(LiveComparison(compute_features(ref)), _bend_left_elbow(standing(T=60), 40.0))
    assert all(u.cue is None for u in bent)


def test_nobody_in_view_keeps_the_state():
    live = LiveComparison(compute_features(standing(T=60)))
    u = live.push(0.0, None)
    assert not u.seen and u.progress is None and u.rep_count == 0
    track = standing(T=30)
    for f in range(track.n_frames):
        u = live.push(1.0 + track.time_s[f], track.world_m[f], image_px=track.image_px[f])
    gone = live.push(3.0, np.full((33, 3), np.nan))
    assert not gone.seen and gone.progress == u.progress


def test_bad_arguments_are_refused():
    fs = compute_features(standing(T=60))
    with pytest.raises(ValueError, match="mirror"):
        LiveComparison(fs, mirror="sometimes")
    short = dataclasses.replace(fs, time_s=fs.time_s[:2], values=fs.values[:2], confidence=fs.confidence[:2])
    with pytest.raises(ValueError, match="too short"):
        LiveComparison(short)


def test_the_ghost_is_the_coach_at_the_matched_point_over_the_player():
    from lab.lift import lift_track
    from lab.live.compare import prepare_live_ghost

    def seen(track):  # the synthetic camera's pixels of the track's landmarks (500 px per metre)
        w = track.world_m
        return track.replace(image_px=np.stack([540 + 500 * w[..., 0], 960 + 500 * w[..., 1]], -1))

    ref = standing(T=60)  # both arms raised and lowered
    ghost_body = prepare_live_ghost(ref, lift_track(ref))
    same = _play(LiveComparison(compute_features(ref), mirror="no", reference_body=ghost_body), standing(T=60))
    assert same[0].ghost_px is None and all(u.ghost_px is not None for u in same[5:])
    err = np.array([np.linalg.norm(u.ghost_px - ref.image_px[f], axis=-1).max() for f, u in enumerate(same) if f >= 5])
    assert np.median(err) < 25  # the same movement: the coach is drawn on the player, arms included

    player = seen(_one_arm(standing(T=60)))  # the right arm stays down
    ups = _play(LiveComparison(compute_features(ref), mirror="no", reference_body=ghost_body), player)
    still = [BLAZEPOSE_KEYPOINTS.index(k) for k in ("left_hip", "right_hip", "left_shoulder", "right_shoulder",
                                                    "left_knee", "right_knee")]
    off = np.array([np.linalg.norm(u.ghost_px[still] - player.image_px[f, still], axis=-1).max()
                    for f, u in enumerate(ups) if f >= 5])
    assert np.median(off) < 15  # the coach stands where the player stands
    rw = BLAZEPOSE_KEYPOINTS.index("right_wrist")
    top = 30  # the player's left arm highest
    assert player.image_px[top, rw, 1] - ups[top].ghost_px[rw, 1] > 100  # the coach's right wrist is up
    assert "ghost_px" not in ups[top].to_dict()
