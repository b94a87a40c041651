"""DTW: agreement with sktime (closed ends), known time stretch, open begin/end, confidence weights."""

import numpy as np
import pytest

from lab.dtw import dtw_align, dtw_path_sktime, dtw_sktime, local_costs


def _walk(n, f=3, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(n, f)), axis=0)


def test_closed_unequal_lengths_agree_with_sktime():
    x, y = _walk(40, seed=1), _walk(57, seed=2)
    a = dtw_align(x, y)
    # ours: mean over features of squared differences; sktime: their sum
    assert a.total * x.shape[1] == pytest.approx(dtw_sktime(x, y), rel=1e-9)


def test_closed_window_and_path_agree_with_sktime():
    x, y = _walk(50, seed=3), _walk(50, seed=4)
    a = dtw_align(x, y, window=10)          # 10 samples = 0.2 of 50
    path, total = dtw_path_sktime(x, y, window=0.2)
    assert a.total * 3 == pytest.approx(total, rel=1e-9)
    assert a.total * 3 == pytest.approx(dtw_sktime(x, y, window=0.2), rel=1e-9)
    np.testing.assert_array_equal(a.path, path)
    # a narrower band cannot be cheaper than a wider one
    assert dtw_align(x, y, window=2).total >= a.total - 1e-12


def test_time_stretched_copy_aligns_with_its_slope():
    t = np.linspace(0, 2 * np.pi, 60)
    x = np.stack([np.sin(t), np.cos(2 * t), t / 3], 1)
    t2 = np.linspace(0, 2 * np.pi, 90)          # the same motion 1.5x slower
    y = np.stack([np.sin(t2), np.cos(2 * t2), t2 / 3], 1)
    a = dtw_align(x, y, window=20)
    assert a.slope() == pytest.approx(89 / 59, rel=0.03)
    assert a.cost < 1e-3
    assert tuple(a.path[0]) == (0, 0) and tuple(a.path[-1]) == (59, 89)


def test_open_begin_end_finds_known_subsequence():
    rng = np.random.default_rng(5)
    x = _walk(40, seed=6)
    y = np.vstack([rng.normal(5, 1, (25, 3)) + x[0], x + rng.normal(0, 0.01, x.shape),
                   rng.normal(-5, 1, (30, 3)) + x[-1]])
    a = dtw_align(x, y, window=5, open_begin=True, open_end=True)
    assert abs(a.path[0, 1] - 25) <= 1 and abs(a.path[-1, 1] - 64) <= 1
    assert a.path[0, 0] == 0 and a.path[-1, 0] == 39
    assert a.cost < 0.01
    closed = dtw_align(x, y)
    assert closed.cost > 10 * a.cost
    # the longer sequence given first: same match, indices swapped
    b = dtw_align(y, x, window=5, open_begin=True, open_end=True)
    np.testing.assert_array_equal(b.path[:, ::-1], a.path)


def test_zero_confidence_feature_is_ignored():
    x, y = _walk(30, seed=7), _walk(30, seed=7)
    y2 = y.copy()
    y2[:, 1] += 100.0
    conf = np.ones_like(y2)
    conf[:, 1] = 0.0
    assert dtw_align(x, y2, conf_y=conf).cost == pytest.approx(0.0, abs=1e-9)
    assert dtw_align(x, y2).cost > 1000
    c = local_costs(x, np.where(np.isfinite(y2), y2, 0), conf_y=conf, feature_weights=np.array([1, 5, 1.0]))
    assert np.all(np.isfinite(c))


def test_nan_features_carry_no_weight():
    x = _walk(20, seed=8)
    y = x.copy()
    y[:, 2] = np.nan
    assert dtw_align(x, y).cost == pytest.approx(0.0, abs=1e-12)


def test_steps_without_evidence_do_not_count():
    x = _walk(40, seed=9)
    y = x.copy()
    y[10:20] = np.nan                      # the person was not found on these frames
    a = dtw_align(x, y, window=3, open_begin=True, open_end=True)
    assert a.cost == pytest.approx(0.0, abs=1e-12)
    assert (~a.evidence).sum() >= 10
    np.testing.assert_array_equal(a.path[:, 0], a.path[:, 1])
