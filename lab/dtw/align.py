"""Temporal alignment of two feature sequences: confidence-weighted DTW with open ends.

Cost convention (everything in this module)
-------------------------------------------
The local cost of matching reference sample ``i`` with attempt sample ``j`` is
the *weighted mean squared difference* over features::

    c[i, j] = sum_f w_f * a[i, f] * b[j, f] * (x[i, f] - y[j, f])**2
              / sum_f w_f * a[i, f] * b[j, f]

with ``a``, ``b`` the per-sample confidences and ``w_f`` the feature weights;
a pair with no confident feature in common costs the median of the other
local costs during the search. The alignment cost is the *mean of c along the
path* over the steps that had evidence (sum divided by their number), so it is
in squared feature units (degrees^2 for angles) and does not grow with
duration. ``distance`` = ``sqrt(cost)``.

The dynamic programme minimises the summed cost (classic DTW, steps (1,0),
(0,1), (1,1)); with open ends the end cell is then chosen by the smallest mean.
sktime's DTW (``sktime.dists_kernels.dtw.DtwDist``) computes the same sum for
the closed, unweighted case: :func:`dtw_sktime` wraps it and the tests check
the two agree.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np


@dataclasses.dataclass
class Alignment:
    """Result of :func:`dtw_align`.

    Attributes
    ----------
    path : ndarray of int, shape (L, 2)
        Matched (reference index, attempt index) pairs, increasing.
    cost : float
        Mean local cost along the path (squared feature units).
    total : float
        Summed local cost along the path (what the DP minimises).
    local_cost : ndarray, shape (L,)
        Local cost of each path step.
    cost_matrix : ndarray, shape (N, M)
        Local costs (inf outside the band).
    evidence : ndarray of bool, shape (L,)
        Path steps where the two samples shared a confident feature; ``cost``
        is the mean over these steps only.
    """

    path: np.ndarray
    cost: float
    total: float
    local_cost: np.ndarray
    cost_matrix: np.ndarray
    evidence: np.ndarray | None = None

    @property
    def distance(self) -> float:
        """sqrt(cost): RMS difference along the path, in feature units."""
        return float(np.sqrt(self.cost))

    def slope(self) -> float:
        """Least-squares slope of attempt index vs reference index along the path
        (1 = same speed, 2 = the attempt takes twice as long)."""
        i, j = self.path[:, 0].astype(float), self.path[:, 1].astype(float)
        if np.ptp(i) == 0:
            return float("nan")
        return float(np.polyfit(i, j, 1)[0])


def local_costs(x: np.ndarray, y: np.ndarray, *, conf_x: np.ndarray | None = None,
                conf_y: np.ndarray | None = None,
                feature_weights: np.ndarray | None = None,
                return_evidence: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Local cost matrix (N, M): weighted mean squared difference over features.

    Pairs with no confident feature in common cost the median of the others
    (so a path neither seeks nor avoids them); ``return_evidence=True`` also
    returns the boolean (N, M) mask of pairs that had evidence.

    Parameters
    ----------
    x : ndarray, shape (N, F)
    y : ndarray, shape (M, F)
    conf_x, conf_y : ndarray, shapes (N, F), (M, F), optional
        Confidences in [0, 1] (default 1 where finite).
    feature_weights : ndarray, shape (F,), optional
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    F = x.shape[1]
    a = np.ones_like(x) if conf_x is None else np.asarray(conf_x, float).copy()
    b = np.ones_like(y) if conf_y is None else np.asarray(conf_y, float).copy()
    a[~np.isfinite(x)] = 0.0
    b[~np.isfinite(y)] = 0.0
    w = np.ones(F) if feature_weights is None else np.asarray(feature_weights, float)
    xa, yb = np.nan_to_num(x), np.nan_to_num(y)
    aw = a * w
    # sum_f aw b (x - y)^2 = sum aw x^2 b - 2 sum aw x b y + sum aw b y^2
    num = (aw * xa ** 2) @ b.T - 2.0 * (aw * xa) @ (b * yb).T + aw @ (b * yb ** 2).T
    den = aw @ b.T
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 1e-9, num / den, np.nan)
    c = np.maximum(c, 0.0)
    evidence = np.isfinite(c)
    if not evidence.all():
        fill = np.nanmedian(c) if evidence.any() else 1.0
        c = np.where(evidence, c, fill)
    return (c, evidence) if return_evidence else c


@numba.njit(cache=True)
def _dp_with_parents(c, band, slope, open_begin):
    """Same recursion as _dp but also records the parent of every cell."""
    N, M = c.shape
    INF = np.inf
    D = np.full((N, M), INF)
    L = np.zeros((N, M), np.int64)
    Si = np.zeros((N, M), np.int64)
    Sj = np.zeros((N, M), np.int64)
    P = np.full((N, M), -1, np.int8)  # 0 diag, 1 from above (i-1), 2 from left (j-1), 3 start
    for i in range(N):
        for j in range(M):
            if not open_begin:
                if abs(j - i * slope) > band:
                    continue
            best = INF
            bl = 0
            bi = 0
            bj = 0
            bp = -1
            if (i == 0 and j == 0) or (open_begin and i == 0):
                best = c[i, j]
                bl = 1
                bi = i
                bj = j
                bp = 3
            for k in range(3):
                if k == 0:
                    pi, pj = i - 1, j - 1
                elif k == 1:
                    pi, pj = i - 1, j
                else:
                    pi, pj = i, j - 1
                if pi < 0 or pj < 0:
                    continue
                d = D[pi, pj]
                if d == INF:
                    continue
                if open_begin:
                    # band around the diagonal through the path's start (0, j0)
                    if abs((j - Sj[pi, pj]) - i) > band:
                        continue
                v = d + c[i, j]
                if v < best:
                    best = v
                    bl = L[pi, pj] + 1
                    bi = Si[pi, pj]
                    bj = Sj[pi, pj]
                    bp = k
            D[i, j] = best
            L[i, j] = bl
            Si[i, j] = bi
            Sj[i, j] = bj
            P[i, j] = bp
    return D, L, Si, Sj, P


def dtw_align(x: np.ndarray, y: np.ndarray, *, conf_x: np.ndarray | None = None,
              conf_y: np.ndarray | None = None, feature_weights: np.ndarray | None = None,
              window: int | None = None, open_begin: bool = False,
              open_end: bool = False) -> Alignment:
    """Confidence-weighted DTW between two sampled sequences (same rate).

    Parameters
    ----------
    x : ndarray, shape (N, F)
        Reference.
    y : ndarray, shape (M, F)
        Attempt.
    conf_x, conf_y, feature_weights
        See :func:`local_costs`.
    window : int or None
        Sakoe-Chiba band half-width in samples. Closed ends: around the
        rectangle's diagonal ``j = i * (M-1)/(N-1)`` (as sktime's window).
        Open begin: around the equal-speed diagonal through the path's start
        ``(0, j0)`` on the shorter sequence's first sample: ``|(j - j0) - i| <= window``.
        None = no band.
    open_begin, open_end : bool
        Subsequence DTW: the shorter sequence is matched whole, the longer one
        may hold extra motion before (open begin) / after (open end) the shared
        part. With an open end, the end is the one with the smallest mean cost.

    Returns
    -------
    Alignment
        ``cost`` = mean local cost along the path (see the module docstring).
    """
    c, ev = local_costs(x, y, conf_x=conf_x, conf_y=conf_y, feature_weights=feature_weights,
                        return_evidence=True)
    return dtw_from_costs(c, window=window, open_begin=open_begin, open_end=open_end, evidence=ev)


def dtw_from_costs(c: np.ndarray, *, window: int | None = None, open_begin: bool = False,
                   open_end: bool = False, evidence: np.ndarray | None = None) -> Alignment:
    """DTW over a precomputed local cost matrix (N, M); see :func:`dtw_align`.

    ``evidence`` (N, M) bool: path steps without evidence are left out of the
    reported mean ``cost`` (they still take part in the search).
    """
    c = np.ascontiguousarray(c, dtype=np.float64)
    N, M = c.shape
    if (open_begin or open_end) and N > M:
        # the shorter sequence is matched whole; the longer one has free ends
        al = dtw_from_costs(np.ascontiguousarray(c.T), window=window, open_begin=open_begin,
                            open_end=open_end, evidence=None if evidence is None else evidence.T)
        return dataclasses.replace(al, path=np.ascontiguousarray(al.path[:, ::-1]),
                                   cost_matrix=al.cost_matrix.T)
    slope = (M - 1) / (N - 1) if N > 1 else 0.0
    band = float(window) if window is not None else float(N + M)
    D, L, Si, Sj, P = _dp_with_parents(c, band, slope, open_begin)
    ei, ej = N - 1, M - 1
    if open_end:
        m = np.where(np.isfinite(D[N - 1]), D[N - 1] / np.maximum(L[N - 1], 1), np.inf)
        ej = int(np.argmin(m))
    if not np.isfinite(D[ei, ej]):
        raise ValueError("no alignment path inside the window; widen it")
    path = []
    i, j = ei, ej
    while True:
        path.append((i, j))
        p = P[i, j]
        if p == 3 or p < 0:
            break
        if p == 0:
            i, j = i - 1, j - 1
        elif p == 1:
            i -= 1
        else:
            j -= 1
    path = np.array(path[::-1], dtype=np.int64)
    lc = c[path[:, 0], path[:, 1]]
    ev = np.ones(len(path), bool) if evidence is None else evidence[path[:, 0], path[:, 1]]
    cm = np.where(np.isfinite(D), c, np.inf)
    cost = float(lc[ev].mean()) if ev.any() else float("inf")
    return Alignment(path=path, cost=cost, total=float(lc.sum()), local_cost=lc, cost_matrix=cm,
                     evidence=ev)


def dtw_sktime(x: np.ndarray, y: np.ndarray, *, window: float | None = None) -> float:
    """sktime's plain DTW: the *sum* of squared Euclidean local costs along the
    best closed path. ``x`` (N, F), ``y`` (M, F); ``window`` is sktime's
    Sakoe-Chiba radius as a fraction of the length (None = no band)."""
    from sktime.dists_kernels.dtw import DtwDist

    X = np.ascontiguousarray(np.asarray(x, float).T[None])
    Y = np.ascontiguousarray(np.asarray(y, float).T[None])
    kw = {} if window is None else {"window": window}
    return float(DtwDist(**kw).transform(X, Y)[0, 0])


def dtw_path_sktime(x: np.ndarray, y: np.ndarray, *, window: float | None = None
                    ) -> tuple[np.ndarray, float]:
    """sktime's plain DTW alignment path (L, 2) and summed cost (equal lengths only
    when a window is given: sktime's band is undefined for unequal lengths)."""
    import pandas as pd
    from sktime.alignment.dtw_numba import AlignerDtwNumba

    al = AlignerDtwNumba(**({} if window is None else {"window": window}))
    al.fit([pd.DataFrame(np.asarray(x, float)), pd.DataFrame(np.asarray(y, float))])
    a = al.get_alignment()
    return a[["ind0", "ind1"]].to_numpy(), float(al.get_distance())
