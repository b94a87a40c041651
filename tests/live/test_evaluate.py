"""The live repetition count the README's live figures come from, on a clip with a known answer."""

import numpy as np

from lab.align.synthetic import synthetic_body_track
from lab.live.evaluate import count_live
from lab.reps.synthetic import repeat_motion
from lab.score.compare import prepare_features
from lab.score.uncertainty import film_like_mediapipe


def test_counting_live_takes_the_suites_query_with_its_travel():
    """The suite's query is the offline one, with travel features a live stream does not have."""
    track = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=50.0).select_frames(np.arange(8, 39))
    rep = track.replace(time_s=track.time_s - track.time_s[0], frame="lab")
    clip = repeat_motion(rep, count=4, rng=np.random.default_rng(0))
    filmed = film_like_mediapipe(clip.track, azimuth_deg=0.0, seed=0, noise_scale=0.2)
    query = prepare_features(rep)
    assert any(n.startswith("travel:") for n in query.names)
    found = count_live(query, filmed)
    assert all(r.start_s < r.end_s for r in found)
    assert all(a.end_s <= b.start_s for a, b in zip(found, found[1:]))
    # live counts are rougher than offline ones (README, "Live"): within one of the four
    assert abs(sum(not r.partial for r in found) - len(clip.repetitions())) <= 1
