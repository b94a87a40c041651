"""The online subsequence DTW equals the offline one column by column."""

import numpy as np

from lab.dtw.online import OnlineMatcher
from lab.reps.segment import _subsequence_dp


def test_online_columns_equal_the_offline_programme():
    rng = np.random.default_rng(3)
    c = rng.gamma(2.0, 1.0, size=(25, 70))
    D, S = _subsequence_dp(c)
    m = OnlineMatcher(np.zeros((25, 1)))
    for j in range(c.shape[1]):
        m.push_costs(c[:, j])
        finite = np.isfinite(D[:, j])
        assert np.array_equal(np.isfinite(m.D1), finite)
        np.testing.assert_allclose(m.D1[finite], D[finite, j])
        assert np.array_equal(m.start[finite], S[finite, j])
    np.testing.assert_allclose(m.prefix_cost[finite], D[finite, -1] / np.arange(1, 26)[finite])


def test_a_planted_query_is_found_where_it_was_put():
    rng = np.random.default_rng(0)
    query = np.sin(np.linspace(0, 2 * np.pi, 30))[:, None] * 20
    stream = rng.normal(0, 1, size=(100, 1))
    stream[40:70] += query  # the query, at the same tempo, from sample 40 to 69
    m = OnlineMatcher(query)
    ends = []
    for j, row in enumerate(stream):
        m.push(row)
        ends.append((m.prefix_cost[-1], j, int(m.start[-1])))
    cost, end, start = min(ends)
    assert start == 40 and abs(end - 69) <= 1  # the query ends at 0, like the noise after it
    assert cost < 2.0  # the noise alone: unit variance per sample


def test_restart_forgets_every_path():
    m = OnlineMatcher(np.arange(10.0)[:, None])
    for v in range(10):
        m.push(np.array([float(v)]))
    assert m.prefix_cost[-1] == 0.0
    m.restart()
    m.push(np.array([9.0]))
    assert np.isinf(m.D1[1:]).all()  # only query sample 0 can be matched by the first sample after a restart
    assert m.start[0] == 10
