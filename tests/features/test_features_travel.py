"""Travel: the mid-hip's velocity in the body's axes, from mocap and from a camera standing still."""

import numpy as np
import pytest
from cmp_helpers import travelling

from lab.features import compute_features, mirror_features
from lab.features.travel import SIGHT_NAMES, TRAVEL_NAMES, estimate_root_m
from lab.score.uncertainty import film_like_mediapipe


def _travel(fs):
    idx = [fs.names.index(n) for n in TRAVEL_NAMES]
    middle = slice(len(fs.time_s) // 4, 3 * len(fs.time_s) // 4)     # away from the filter's ends
    return np.nanmedian(fs.values[middle][:, idx], axis=0)


@pytest.mark.parametrize("velocity", [(0.0, 0.0, 1.2), (0.0, 0.0, -0.8), (0.7, 0.0, 0.0), (0.0, 0.0, 0.0)])
@pytest.mark.parametrize("azimuth_deg", [0.0, 90.0, 180.0, -135.0])
def test_travel_seen_from_any_camera_matches_the_truth(velocity, azimuth_deg):
    track = travelling(velocity, turn_deg=30.0)
    truth = compute_features(track, travel=True)
    torso = truth.torso_m
    np.testing.assert_allclose(_travel(truth), np.array(velocity) / torso, rtol=0.02, atol=0.02)
    filmed = film_like_mediapipe(track, azimuth_deg=azimuth_deg, noise_scale=0.0, travel=True)
    seen = compute_features(filmed, travel=True)
    np.testing.assert_allclose(_travel(seen), np.array(velocity) / torso, rtol=0.05, atol=0.1)


def test_root_from_the_image_is_where_the_camera_put_it():
    track = travelling((0.0, 0.0, 1.0))
    filmed = film_like_mediapipe(track, azimuth_deg=60.0, noise_scale=0.0, travel=True)
    root = estimate_root_m(filmed)
    assert np.isfinite(root).all()
    # walking 1 m/s for 4 s: the hips move 4 m in the camera's axes, whatever they look like
    assert np.linalg.norm(root[-1] - root[0]) == pytest.approx(np.ptp(track.time_s) * 1.0, rel=0.02)
    pinned = film_like_mediapipe(track, azimuth_deg=60.0, noise_scale=0.0)
    assert np.ptp(estimate_root_m(pinned), axis=0).max() < 0.05       # hip-pinned: no travel to see


def test_travel_unknown_without_pixels_and_mirrored_sideways():
    track = travelling((0.5, 0.0, 1.0))
    filmed = film_like_mediapipe(track, azimuth_deg=0.0, noise_scale=0.0, travel=True)
    no_pixels = filmed.replace(image_px=None)
    fs = compute_features(no_pixels, travel=True)
    assert all(np.isnan(fs.column(n)).all() and (fs.confidence[:, fs.names.index(n)] == 0).all()
               for n in TRAVEL_NAMES)
    seen = compute_features(filmed, travel=True)
    left, up, front = _travel(seen)
    m_left, m_up, m_front = _travel(mirror_features(seen))
    assert left > 0.3 and m_left == pytest.approx(-left) and m_front == pytest.approx(front)
    assert "travel:left" not in compute_features(filmed).names          # only when asked for


@pytest.mark.parametrize("azimuth_deg", [0.0, 90.0, 180.0, -135.0])
def test_line_of_sight_in_the_body_axes(azimuth_deg):
    """The camera's line of sight in the body's axes: a unit vector whose horizontal part reverses for a camera
    on the other side of the body; unknown for motion capture; mirrored with the sideways travel."""
    track = travelling((0.0, 0.0, 1.0))
    filmed = film_like_mediapipe(track, azimuth_deg=azimuth_deg, noise_scale=0.0, travel=True)
    fs = compute_features(filmed, travel=True)
    q = fs.select(list(SIGHT_NAMES)).values
    ok = np.isfinite(q).all(axis=1)
    assert ok.mean() > 0.9
    np.testing.assert_allclose(np.linalg.norm(q[ok], axis=1), 1.0, atol=1e-6)
    # the camera looks at the body from its horizontal direction (elevation 10 deg): the horizontal part
    # of the sight is that direction reversed, whichever way the camera stands round the body
    flat = np.nanmedian(q[:, [0, 2]], axis=0)
    flat /= np.linalg.norm(flat)
    opposite = compute_features(film_like_mediapipe(track, azimuth_deg=azimuth_deg + 180.0, noise_scale=0.0,
                                                          travel=True), travel=True)
    other = np.nanmedian(opposite.select(list(SIGHT_NAMES)).values[:, [0, 2]], axis=0)
    np.testing.assert_allclose(other / np.linalg.norm(other), -flat, atol=0.05)
    assert np.isnan(compute_features(track, travel=True).select(list(SIGHT_NAMES)).values).all()
    mirrored = mirror_features(fs).select(list(SIGHT_NAMES)).values
    np.testing.assert_allclose(mirrored[ok][:, 0], -q[ok][:, 0])


def test_travel_bridges_dropped_frames():
    """A live stream drops most frames of a 60 fps clip (rows of NaN): the travel is still measured on the rest."""
    track = travelling((0.0, 0.0, 1.2))
    filmed = film_like_mediapipe(track, azimuth_deg=45.0, noise_scale=0.0, travel=True)
    drop = np.random.default_rng(0).random(filmed.n_frames) < 0.6

    def dropped(a):
        if a is None:
            return None
        a = np.asarray(a, dtype=float).copy()
        a[drop] = np.nan
        return a

    gappy = filmed.replace(world_m=dropped(filmed.world_m), image_px=dropped(filmed.image_px),
                           visibility=dropped(filmed.visibility))
    fs = compute_features(gappy, travel=True)
    values = fs.select(list(TRAVEL_NAMES)).values
    assert np.isfinite(values).all(axis=1).sum() >= 0.9 * (~drop).sum()
    assert np.isnan(values[drop]).all()                                 # missing stays missing
    np.testing.assert_allclose(np.nanmedian(values, axis=0), np.array([0.0, 0.0, 1.2]) / fs.torso_m, atol=0.1)
