"""Open-begin, open-end subsequence DTW fed one sample at a time.

The query (the coach's repetition, N samples) is matched against a stream as
its samples arrive: column ``j`` of the cost matrix is computed from the two
columns before it, so each new sample costs O(N) and the whole match never
has to be redone. The steps are those of the offline search
(:func:`lab.reps.segment.match_costs`): every query sample is visited once, the
stream's local tempo may lie between half and twice the query's, and a match
may start at any stream sample. After each sample :class:`OnlineMatcher`
knows, for every query sample ``i``, the cheapest match of the query's first
``i + 1`` samples ending now (``prefix_cost``) and where it started
(``start``): where the player is in the drill is the prefix that fits best,
and a whole repetition has just ended when the last prefix (the whole query)
is cheap.
"""

from __future__ import annotations

import numba
import numpy as np

from lab.dtw.align import local_costs


@numba.njit(cache=True)
def advance_column(c, D1, S1, L1, D2, S2, L2, j, open_start):
    """Column ``j`` of the subsequence DTW of :mod:`lab.dtw.online`.

    Parameters
    ----------
    c : ndarray (N,)
        Local costs of every query sample against stream sample ``j``.
    D1, S1, L1 : ndarray (N,)
        Summed costs, start samples and matched query samples of column ``j - 1`` (D inf where no path).
    D2, S2, L2 : ndarray (N,)
        The same for column ``j - 2``.
    j : int
        The stream sample's index.
    open_start : bool
        Paths may also start here at any query sample (the stream begins, or resumes after a gap,
        in the middle of a repetition); they then match fewer than all query samples.

    Returns
    -------
    D, S, L : ndarray (N,)
        Summed cost of the cheapest path ending at (i, j) (from query sample 0 at any stream sample,
        or from any query sample at an open start), where it starts, and how many query samples it matched.
    """
    N = c.shape[0]
    D = np.full(N, np.inf)
    S = np.zeros(N, np.int64)
    L = np.zeros(N, np.int64)
    D[0] = c[0]
    S[0] = j
    L[0] = 1
    for i in range(1, N):
        best = D1[i - 1]
        s = S1[i - 1]
        n = L1[i - 1]
        if D2[i - 1] < best:  # the stream runs faster: one of its samples skipped
            best = D2[i - 1]
            s = S2[i - 1]
            n = L2[i - 1]
        if i >= 2:  # the stream runs slower: two query samples on one stream sample
            v = D1[i - 2] + c[i - 1]
            if v < best:
                best = v
                s = S1[i - 2]
                n = L1[i - 2] + 1
        if best < np.inf:
            D[i] = best + c[i]
            S[i] = s
            L[i] = n + 1
        if open_start and (not best < np.inf or c[i] <= D[i] / L[i]):
            D[i] = c[i]
            S[i] = j
            L[i] = 1
    return D, S, L


class OnlineMatcher:
    """Subsequence DTW of a fixed query against a stream, one stream sample per :meth:`push`.

    Parameters
    ----------
    query : ndarray, shape (N, F)
        The query's samples (scaled features, :func:`lab.features.scale.scale_features`).
    query_confidence : ndarray, shape (N, F), optional
    feature_weights : ndarray, shape (F,), optional
        As :func:`lab.dtw.local_costs`.
    """

    def __init__(self, query: np.ndarray, *, query_confidence: np.ndarray | None = None,
                 feature_weights: np.ndarray | None = None):
        self.query = np.asarray(query, dtype=np.float64)
        if self.query.ndim != 2 or len(self.query) < 2:
            raise ValueError("the query needs at least 2 samples of shape (N, F)")
        self.query_confidence = query_confidence
        self.feature_weights = feature_weights
        self.j = -1
        self.restart()
        # compile (or load from numba's cache) before the first real sample, which may be on a clock
        advance_column(np.zeros(2), self.D1[:2], self.S1[:2], self.L1[:2], self.D2[:2], self.S2[:2], self.L2[:2],
                       0, False)

    @property
    def n_query(self) -> int:
        return len(self.query)

    def restart(self) -> None:
        """Forget every path: the next match starts at the next sample pushed."""
        N = len(self.query)
        zeros = np.zeros(N, np.int64)
        self.D1, self.S1, self.L1 = np.full(N, np.inf), zeros, zeros.copy()
        self.D2, self.S2, self.L2 = np.full(N, np.inf), zeros.copy(), zeros.copy()

    def local_costs(self, sample: np.ndarray, confidence: np.ndarray | None = None) -> np.ndarray:
        """Local cost (N,) of every query sample against one stream sample (F,)."""
        return local_costs(self.query, np.asarray(sample, float)[None], conf_x=self.query_confidence,
                           conf_y=None if confidence is None else np.asarray(confidence, float)[None],
                           feature_weights=self.feature_weights)[:, 0]

    def push_costs(self, c: np.ndarray, *, open_start: bool = False) -> None:
        """Advance by one stream sample given its local costs (N,); see :func:`advance_column` for ``open_start``."""
        self.j += 1
        D, S, L = advance_column(np.ascontiguousarray(c, dtype=np.float64), self.D1, self.S1, self.L1,
                                 self.D2, self.S2, self.L2, self.j, open_start)
        self.D2, self.S2, self.L2, self.D1, self.S1, self.L1 = self.D1, self.S1, self.L1, D, S, L

    def push(self, sample: np.ndarray, confidence: np.ndarray | None = None, *, open_start: bool = False) -> None:
        """Advance by one stream sample (F,)."""
        self.push_costs(self.local_costs(sample, confidence), open_start=open_start)

    @property
    def prefix_cost(self) -> np.ndarray:
        """(N,) mean local cost of the cheapest match of query samples up to ``i`` ending at the last sample
        (over the query samples it matched: ``i + 1``, fewer for a path from an open start)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.L1 > 0, self.D1 / np.maximum(self.L1, 1), np.inf)

    @property
    def matched(self) -> np.ndarray:
        """(N,) how many query samples each of those matches covers (``i + 1`` unless it began at an open start)."""
        return self.L1

    @property
    def start(self) -> np.ndarray:
        """(N,) stream sample where each of those matches starts."""
        return self.S1
