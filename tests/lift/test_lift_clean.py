"""Cleaning steps: outliers, gap filling, per-stretch low-pass, constant bone lengths."""

from __future__ import annotations

import numpy as np

from lab.align.synthetic import synthetic_body_track
from lab.lift import (
    KINEMATIC_TREE,
    enforce_bone_lengths,
    interpolate_gaps,
    lowpass_filter,
    measure_bone_lengths,
    reject_outliers_hampel,
)


def test_hampel_flags_spikes_only():
    rng = np.random.default_rng(0)
    t = np.arange(200) / 30
    # a joint swinging 0.2 m at 0.5 Hz with 5 mm jitter, and glitches of 25 cm
    x = 0.2 * np.sin(2 * np.pi * 0.5 * t) + rng.normal(0, 0.005, t.size)
    spikes = [17, 80, 150]
    x[spikes] += 0.25
    x[100:104] = np.nan
    out = reject_outliers_hampel(x, window_s=0.2, fps=30, n_sigmas=3.0)
    assert set(np.flatnonzero(out)) == set(spikes)
    assert not out[100:104].any()


def test_interpolate_fills_short_gaps_only():
    x = np.arange(40, dtype=float)
    x[5:8] = np.nan     # 3 samples = 0.1 s at 30 fps
    x[20:30] = np.nan   # 10 samples = 0.33 s
    x[:2] = np.nan      # leading: never filled
    y, filled = interpolate_gaps(x, max_gap_s=0.2, fps=30)
    np.testing.assert_allclose(y[5:8], [5, 6, 7])
    assert np.isnan(y[20:30]).all() and np.isnan(y[:2]).all()
    assert filled[5:8].all() and filled.sum() == 3


def test_lowpass_never_bridges_a_gap():
    x = np.concatenate([np.zeros(50), [np.nan] * 5, np.ones(50)])
    y = lowpass_filter(x, cutoff_hz=3.0, fps=30)
    assert np.isnan(y[50:55]).all()
    np.testing.assert_allclose(y[:50], 0.0, atol=1e-12)   # the step after the gap does not leak back
    np.testing.assert_allclose(y[55:], 1.0, atol=1e-12)
    # a stretch filtered inside the long array equals the stretch filtered alone
    rng = np.random.default_rng(1)
    z = rng.normal(size=120)
    z[60] = np.nan
    alone = lowpass_filter(z[61:], cutoff_hz=4.0, fps=30)
    np.testing.assert_allclose(lowpass_filter(z, cutoff_hz=4.0, fps=30)[61:], alone)


def test_lowpass_removes_noise_and_keeps_slow_motion():
    t = np.arange(300) / 60
    slow = np.sin(2 * np.pi * 1.0 * t)
    noisy = slow + np.random.default_rng(2).normal(0, 0.05, t.size)
    y = lowpass_filter(noisy, cutoff_hz=6.0, fps=60)
    rms = lambda e: float(np.sqrt(np.mean(e[20:-20] ** 2)))  # noqa: E731
    assert rms(y - slow) < 0.6 * rms(noisy - slow)
    assert np.corrcoef(y, slow)[0, 1] > 0.99


def test_bone_lengths_constant_after_enforcing():
    body = synthetic_body_track(n_frames=50)
    rng = np.random.default_rng(3)
    noisy = body.world_m + rng.normal(0, 0.02, body.world_m.shape)
    out = enforce_bone_lengths(noisy, body.keypoints)
    lengths = measure_bone_lengths(noisy, body.keypoints)
    k = body.keypoints.index
    for parent, child in KINEMATIC_TREE:
        if parent.startswith("mid_"):
            continue
        d = np.linalg.norm(out[:, k(child)] - out[:, k(parent)], axis=-1)
        assert d.std() < 1e-9, (parent, child)
        np.testing.assert_allclose(d, lengths[(parent, child)])
    # left and right twins are made equal (symmetric lengths)
    dl = np.linalg.norm(out[:, k("left_knee")] - out[:, k("left_hip")], axis=-1)
    dr = np.linalg.norm(out[:, k("right_knee")] - out[:, k("right_hip")], axis=-1)
    np.testing.assert_allclose(dl, dr)
