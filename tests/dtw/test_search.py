"""1-vs-many DTW search: pruning never changes the answer; the DTW matches sktime's."""

import numpy as np
import pytest

from lab.dtw.search import dtw_banded, envelope, lb_keogh_many, search_nearest


def _smooth_walks(rng, N, n, c):
    steps = rng.normal(size=(N, n, c))
    return np.cumsum(steps, axis=1) / np.sqrt(n)



def test_banded_dtw_equals_sktime_dtw_distance():
    from sktime.alignment.dtw_numba import AlignerDtwNumba  # noqa: F401
    rng = np.random.default_rng(0)
    x, y = _smooth_walks(rng, 2, 60, 4)
    from lab.dtw.align import dtw_sktime
    for frac in (0.1, 0.3, 1.0):
        w = int(np.floor(frac * 60))
        assert dtw_banded(x, y, w, np.inf) == pytest.approx(dtw_sktime(x, y, window=frac), rel=1e-9)


def test_lb_keogh_is_a_lower_bound():
    rng = np.random.default_rng(1)
    q = _smooth_walks(rng, 1, 80, 3)[0]
    refs = _smooth_walks(rng, 200, 80, 3)
    up, lo = envelope(q, 8)
    lb = lb_keogh_many(up, lo, refs)
    full = np.array([dtw_banded(q, r, 8, np.inf) for r in refs])
    assert (lb <= full + 1e-9).all()
    assert (lb > 0).mean() > 0.9  # and not trivially zero


def test_pruned_search_gives_the_brute_force_answer_and_prunes():
    rng = np.random.default_rng(2)
    refs = _smooth_walks(rng, 2000, 100, 6)
    # the query is a time-warped, noisy copy of reference 1234
    t = np.linspace(0, 1, 100) ** 1.15 * 99
    warped = np.stack([np.interp(t, np.arange(100), refs[1234][:, k]) for k in range(6)], 1)
    q = warped + rng.normal(scale=0.02, size=warped.shape)
    a = search_nearest(q, refs, window=10, prune=True)
    b = search_nearest(q, refs, window=10, prune=False)
    assert a.index == b.index == 1234
    assert a.distance == pytest.approx(b.distance)
    assert a.pruned_fraction > 0.9 and b.pruned_fraction == 0.0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="references must be"):
        search_nearest(np.zeros((10, 2)), np.zeros((3, 9, 2)), window=2)
