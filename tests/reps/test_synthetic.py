"""Repeated clips with known answers: which pose each frame shows, and noise that a pose filmed again
makes again."""

from __future__ import annotations

import numpy as np
import pytest

from lab.align.synthetic import synthetic_body_track
from lab.reps.synthetic import repeat_motion
from lab.score.uncertainty import film_like_mediapipe


def _rep():
    """One cycle of the synthetic figure (arms swing, knees bend), 1 s at 30 Hz, frame ``lab``."""
    track = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=50.0).select_frames(np.arange(8, 39))
    return track.replace(time_s=track.time_s - track.time_s[0], frame="lab")


def test_each_frame_knows_the_pose_it_shows():
    rep = _rep()
    clip = repeat_motion(rep, count=3, rng=np.random.default_rng(4), partial_front=True, pause_range_s=(0.3, 0.6))
    t = clip.pose_time_s
    frame_s = 1 / 30 / 0.7                                               # one frame at the slowest tempo
    assert t.shape == (clip.track.n_frames,) and t.min() >= 0 and t.max() == pytest.approx(rep.time_s[-1], abs=frame_s)
    fps = clip.track.fps
    for start, end in zip(clip.starts_s, clip.ends_s):
        a, b = int(round(start * fps)), int(round(end * fps))
        assert t[a] == 0.0 and t[b] == pytest.approx(rep.time_s[-1], abs=frame_s)   # start to end
        assert np.all(np.diff(t[a:b + 1]) > 0)
    assert [(r.index, r.start_s, r.end_s, r.partial) for r in clip.repetitions()] == [
        (k + 1, a, b, False) for k, (a, b) in enumerate(zip(clip.starts_s, clip.ends_s))]
    first = int(round(clip.partial[0] * fps))
    assert t[first] == pytest.approx(rep.time_s[-1] / 2, abs=0.1)        # the partial one from its middle
    # a pause holds the last pose; the world shown is the pose named
    a = int(round(clip.ends_s[0] * fps))
    b = int(round(clip.starts_s[1] * fps))
    assert b - a > 5 and np.all(t[a:b] == t[a])
    k = int(round(clip.starts_s[2] * fps)) + 10
    flat = rep.world_m.reshape(rep.n_frames, -1)
    shown = np.array([np.interp(t[k], rep.time_s, flat[:, i]) for i in range(flat.shape[1])])
    np.testing.assert_allclose(clip.track.world_m[k].ravel(), shown, atol=1e-9)


def test_a_clip_can_end_with_the_first_half_of_a_repetition():
    """The end's draws come after all the others: the clip is the one without it, then a pause and the
    first half of one more repetition, each frame showing the pose it names."""
    rep = _rep()
    without = repeat_motion(rep, count=3, rng=np.random.default_rng(4), partial_front=True)
    clip = repeat_motion(rep, count=3, rng=np.random.default_rng(4), partial_front=True, partial_back=True)
    assert without.partial_back is None
    assert (clip.starts_s, clip.ends_s, clip.partial, clip.altered) == (
        without.starts_s, without.ends_s, without.partial, without.altered)
    n = without.track.n_frames
    np.testing.assert_array_equal(clip.track.world_m[:n], without.track.world_m)
    fps = clip.track.fps
    a, b = clip.partial_back
    assert a > clip.ends_s[-1] and b == pytest.approx(clip.track.time_s[-1])
    t = clip.pose_time_s
    first, last = int(round(a * fps)), int(round(b * fps))
    assert t[first] == 0.0 and t[last] == pytest.approx(rep.time_s[-1] / 2, abs=0.1)   # up to its middle
    assert np.all(np.diff(t[first:last + 1]) > 0)
    assert np.all(t[n:first] == t[n - 1])                                # the pause holds the last pose


def test_pose_locked_noise_repeats_with_the_pose():
    rep = _rep()
    clip = repeat_motion(rep, count=2, rng=np.random.default_rng(1), tempo_range=(1.0, 1.0),
                         pause_range_s=(0.5, 0.5))
    fps = clip.track.fps
    a, b = int(round(clip.starts_s[0] * fps)), int(round(clip.starts_s[1] * fps))
    n = int(round((clip.ends_s[0] - clip.starts_s[0]) * fps))
    clean = film_like_mediapipe(clip.track, azimuth_deg=30.0, seed=2, noise_scale=0.0).world_m

    def error(share):
        filmed = film_like_mediapipe(clip.track, azimuth_deg=30.0, seed=2, noise_scale=1.0,
                                     pose_time_s=clip.pose_time_s, pose_locked_share=share).world_m
        e = filmed - clean
        return e[a:a + n], e[b:b + n]

    first, second = error(1.0)
    np.testing.assert_allclose(first, second, atol=1e-9)               # the same pose, the same error
    first, second = error(0.0)
    assert np.nanstd(first - second) > 0.01                            # errors wander with the clip's time
    plain = film_like_mediapipe(clip.track, azimuth_deg=30.0, seed=2, noise_scale=1.0).world_m
    np.testing.assert_array_equal(plain, film_like_mediapipe(clip.track, azimuth_deg=30.0, seed=2, noise_scale=1.0,
                                                             pose_time_s=clip.pose_time_s).world_m)
    half = np.nanstd(np.subtract(*error(0.5)))
    assert 0.4 < half / np.nanstd(first - second) < 0.9                # sqrt(1 - share) of it is not repeated
    with pytest.raises(ValueError, match="pose_time_s"):
        film_like_mediapipe(clip.track, azimuth_deg=30.0, pose_time_s=clip.pose_time_s[1:], pose_locked_share=0.5)
    with pytest.raises(ValueError, match="pose_locked_share"):
        film_like_mediapipe(clip.track, azimuth_deg=30.0, pose_time_s=clip.pose_time_s, pose_locked_share=1.5)
