"""1-vs-many DTW search with LB_Keogh pruning and early abandoning.

Cost convention (the same as sktime's ``dtw_distance``): the sum, along the
warping path, of squared Euclidean distances between frames (all channels),
with a Sakoe-Chiba band of ``window`` frames either side of the diagonal.
Series are ``(time, channels)`` arrays of equal length.

LB_Keogh (per channel, summed: Rakthanmanon et al. 2012, "LB_Keogh" with the
multivariate extension of Rath & Manmatha) is a lower bound of that DTW for the
same band, so a reference whose bound already exceeds the best distance found
cannot be the nearest and its full DTW is skipped. Results are identical to the
brute-force search.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit, prange
from scipy.ndimage import maximum_filter1d, minimum_filter1d


@njit(cache=True, fastmath=False)
def dtw_banded(x: np.ndarray, y: np.ndarray, window: int, abandon_above: float) -> float:
    """DTW distance (sum of squared frame distances) of ``x`` (n, c) and ``y`` (m, c) in a band.

    Returns ``inf`` as soon as every cell of a row exceeds ``abandon_above``
    (early abandoning: the final distance would too).
    """
    n, m = x.shape[0], y.shape[0]
    c = x.shape[1]
    w = max(window, abs(n - m))
    prev = np.full(m + 1, np.inf)
    cur = np.full(m + 1, np.inf)
    prev[0] = 0.0
    for i in range(1, n + 1):
        cur[:] = np.inf
        lo = max(1, i - w)
        hi = min(m, i + w)
        row_min = np.inf
        for j in range(lo, hi + 1):
            d = 0.0
            for k in range(c):
                diff = x[i - 1, k] - y[j - 1, k]
                d += diff * diff
            best = prev[j - 1]
            if prev[j] < best:
                best = prev[j]
            if cur[j - 1] < best:
                best = cur[j - 1]
            v = d + best
            cur[j] = v
            if v < row_min:
                row_min = v
        if row_min > abandon_above:
            return np.inf
        prev, cur = cur, prev
    return prev[m]


@njit(cache=True, parallel=True)
def lb_keogh_many(upper: np.ndarray, lower: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """LB_Keogh of every reference (N, n, c) against a query envelope (n, c): (N,)."""
    N, n, c = refs.shape
    out = np.empty(N)
    for r in prange(N):
        s = 0.0
        for t in range(n):
            for k in range(c):
                v = refs[r, t, k]
                if v > upper[t, k]:
                    d = v - upper[t, k]
                    s += d * d
                elif v < lower[t, k]:
                    d = lower[t, k] - v
                    s += d * d
        out[r] = s
    return out


def envelope(query: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower envelopes (n, c) of a query over ``±window`` frames."""
    size = 2 * window + 1
    return (maximum_filter1d(query, size, axis=0, mode="nearest"),
            minimum_filter1d(query, size, axis=0, mode="nearest"))


@dataclasses.dataclass
class SearchResult:
    """Nearest reference: ``index``, ``distance`` (DTW cost), and how much work pruning saved."""

    index: int
    distance: float
    full_dtw_computed: int
    n_references: int

    @property
    def pruned_fraction(self) -> float:
        return 1.0 - self.full_dtw_computed / max(self.n_references, 1)


def search_nearest(query: np.ndarray, references: np.ndarray, *, window: int, prune: bool = True
                   ) -> SearchResult:
    """The reference nearest to ``query`` under banded DTW.

    Parameters
    ----------
    query : ndarray (n, c)
    references : ndarray (N, n, c)
        Same length and channels as the query (resample first; see
        :func:`lab.features.resample_features` or :func:`numpy.interp`).
    window : int
        Sakoe-Chiba band half-width, frames.
    prune : bool
        Use LB_Keogh ordering, pruning and early abandoning; ``False`` computes
        every full DTW (the brute-force baseline, same answer).
    """
    q = np.ascontiguousarray(query, dtype=np.float64)
    refs = np.ascontiguousarray(references, dtype=np.float64)
    if refs.ndim != 3 or refs.shape[1:] != q.shape:
        raise ValueError(f"references must be (N, {q.shape[0]}, {q.shape[1]}), got {refs.shape}")
    N = len(refs)
    if not prune:
        d = np.array([dtw_banded(q, refs[i], window, np.inf) for i in range(N)])
        i = int(np.argmin(d))
        return SearchResult(i, float(d[i]), N, N)
    upper, lower = envelope(q, window)
    lb = lb_keogh_many(upper, lower, refs)
    order = np.argsort(lb, kind="stable")
    best, best_i, computed = np.inf, -1, 0
    for i in order:
        if lb[i] >= best:
            break
        d = dtw_banded(q, refs[i], window, best)
        computed += 1
        if d < best:
            best, best_i = d, int(i)
    return SearchResult(best_i, float(best), computed, N)
