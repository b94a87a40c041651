"""Find the repetitions of a movement in a clip, on body-frame features (so the view does not matter).

A repetition is a stretch of the clip that matches the coach's repetition (the
*query*) by subsequence DTW: every query sample is matched exactly once, the
clip's local tempo may lie anywhere between half and twice the query's (steps
(1,1), (1,2) and (2,1)), and the match may start and end anywhere in the
clip. Its cost is the mean local cost over the query's samples, in the
comparison's own units (:func:`lab.features.scale.scale_features`: squared
degree-equivalents, noise-weighted). Two recordings of one performance do not
cost 0 but what their measurement errors add (:data:`NOISE_COST`), so a match
is a repetition when its cost is at most :data:`MAX_COST_FRACTION` of what a
statue of the query's median pose would cost
(:func:`lab.features.scale.measure_motion_amplitude` squared) plus that
noise. Matches are taken best first, overlapping by at most
:data:`MAX_OVERLAP`, while they stay below that line and move at least
:data:`MIN_MOTION_RATIO` as much as the query and more than a still body
seems to (:data:`STILL_MOTION`); then each stretch left between them is
searched again on its own, since the best match ending at a sample may have
started inside a repetition already taken. A match at the clip's edge that
looks more like half a repetition than a whole one (:data:`CUT_OFF_FRACTION`)
is not a full repetition; what is left at either end of the clip, moves,
touches the clip's edge and matches part of the query is reported as a
partial repetition. A movement that moves no more than that noise cannot be
told from standing still, and none of its repetitions is found.

A second way of counting checks the first (:func:`tile_repetitions`): the whole
clip explained at once as passes through the query, holds of its first and last
pose, and stretches matching nothing. Where the two counts differ
(:func:`counts_agree`), the count is not sure.

A coach's clip holding several repetitions is summarised by one typical
repetition (:func:`typical_repetition`): the period of its longest repeating
stretch (:func:`find_motif`), a cut of one period at the phase that finds the
most repetitions, then the medoid of the repetitions that cut finds.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numba
import numpy as np

from lab.dtw import dtw_from_costs, local_costs
from lab.features import FeatureSet, mirror_features, resample_features
from lab.features.scale import measure_motion_amplitude, scale_features

#: A match is a repetition when its cost is at most this fraction of the statue's plus :data:`NOISE_COST`
#: (squared units). Chosen with :data:`NOISE_COST` on the tuning styles of :mod:`lab.reps.evaluate`
#: (0.4-0.9 against 0-40 tried; ``python -m lab.reps.evaluate --tune``: the most clips counted right,
#: then the fewest counted too many, then the larger fraction).
MAX_COST_FRACTION = 0.5
#: What two MediaPipe recordings of one performance cost when matched (squared degree-equivalents): each
#: camera's errors add to the cost, however alike the movements. The same order as the Pose2Sim views'
#: best matches against each other; chosen with :data:`MAX_COST_FRACTION`.
NOISE_COST = 30.0
#: One recording's share of :data:`NOISE_COST`; motion capture adds none (:meth:`MatchNoise.for_sources`).
CLIP_NOISE_COST = NOISE_COST / 2
#: A repetition moves at least this fraction of the query's motion (RMS about the median pose): a
#: stretch of standing still can otherwise match a repetition that hardly moves.
MIN_MOTION_RATIO = 0.7
#: How much a still body seems to move when filmed like MediaPipe films it (degree-equivalents, RMS
#: about its median pose; :func:`lab.score.uncertainty.film_like_mediapipe`: about the most over
#: 10-s stills from three sides): a full repetition must move more than this. The noise wanders
#: slowly, so over a shorter stretch it seems to move less: a partial repetition must move more than a
#: 1-s still does (:data:`STILL_PARTIAL_MOTION`).
STILL_MOTION = 3.5
STILL_PARTIAL_MOTION = 2.5
#: Matches may share at most this fraction of the shorter one's duration.
MAX_OVERLAP = 0.2
#: What is left at an end of the clip is a partial repetition when it lasts at least this fraction
#: of the query and moves at least this fraction of the query's motion (RMS, as the statue cost).
MIN_PARTIAL_FRACTION = 0.25
MIN_PARTIAL_MOTION = 0.35
#: A partial repetition starts (or ends) within this many seconds of the clip's start (end).
EDGE_S = 0.25
#: A match at the clip's edge is taken for half a repetition when the query's half reaches over less
#: than this fraction of it (0 for half a repetition, about 0.5 for a whole one: the midpoint).
CUT_OFF_FRACTION = 0.25


@dataclasses.dataclass(frozen=True)
class Repetition:
    """One repetition found in a clip.

    Attributes
    ----------
    index : int
        1-based, in time order.
    start_s, end_s : float
        Seconds, on the clip's own time base.
    partial : bool
        Cut off by the start or the end of the clip.
    cost_fraction : float
        The match's cost as a fraction of the statue's (0 = identical to the
        query; a full repetition costs at most :data:`MAX_COST_FRACTION` of it
        plus :data:`NOISE_COST`).
    """

    index: int
    start_s: float
    end_s: float
    partial: bool
    cost_fraction: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "partial": self.partial, "cost_fraction": round(self.cost_fraction, 3)}


@dataclasses.dataclass(frozen=True)
class MatchNoise:
    """What measurement noise does to a search.

    Attributes
    ----------
    cost : float
        What it adds to every match's cost, squared degree-equivalents.
    still_motion, still_partial_motion : float
        How much a still body seems to move in the clip searched, over a full
        repetition and over a shorter stretch (degree-equivalents, RMS about the
        median pose): a repetition must move more.
    """

    cost: float = NOISE_COST
    still_motion: float = STILL_MOTION
    still_partial_motion: float = STILL_PARTIAL_MOTION

    @classmethod
    def for_sources(cls, *, reference_mocap: bool, attempt_mocap: bool) -> MatchNoise:
        """:data:`CLIP_NOISE_COST` for each clip filmed by a camera, none for motion capture; the still
        body's motion where the clip searched (the attempt) was filmed."""
        cost = CLIP_NOISE_COST * ((not reference_mocap) + (not attempt_mocap))
        if attempt_mocap:
            return cls(cost=cost, still_motion=0.0, still_partial_motion=0.0)
        return cls(cost=cost)


#: Both clips filmed by cameras (MediaPipe): the default.
CAMERAS = MatchNoise()
#: Neither clip has measurement noise (motion capture, or noise-free synthetic figures).
NO_NOISE = MatchNoise(cost=0.0, still_motion=0.0, still_partial_motion=0.0)


@numba.njit(cache=True)
def _subsequence_dp(c):
    """Subsequence DTW with slopes in [1/2, 2]: every query row visited once.

    ``c`` (N, M) local costs, query x clip. Returns ``D`` (N, M) summed cost of
    the best path from row 0 (any column) to each cell, and ``S`` (N, M) the
    clip column where that path starts.
    """
    N, M = c.shape
    INF = np.inf
    D = np.full((N, M), INF)
    S = np.zeros((N, M), np.int64)
    for j in range(M):
        D[0, j] = c[0, j]
        S[0, j] = j
    for i in range(1, N):
        for j in range(1, M):
            best = D[i - 1, j - 1]
            s = S[i - 1, j - 1]
            if j >= 2 and D[i - 1, j - 2] < best:  # the clip runs faster: one of its samples skipped
                best = D[i - 1, j - 2]
                s = S[i - 1, j - 2]
            if i >= 2:  # the clip runs slower: two query samples on one clip sample
                v = D[i - 2, j - 1] + c[i - 1, j]
                if v < best:
                    best = v
                    s = S[i - 2, j - 1]
            if best < INF:
                D[i, j] = best + c[i, j]
                S[i, j] = s
    return D, S


def _scaled(fs: FeatureSet, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = fs.select(names)
    x, w = scale_features(sub)
    return x, sub.confidence, w


def match_costs(query: FeatureSet, clip: FeatureSet, *, offset: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Per clip sample, the best match of the whole query ending there.

    Both feature sets on the same uniform time base (:func:`lab.features.resample_features`).

    Returns
    -------
    cost : ndarray (M,)
        Mean local cost over the query's samples (squared degree-equivalents); inf where no match ends.
    start : ndarray (M,) of int
        Clip sample where that match starts.
    statue : float
        What a statue of the query's median pose would cost (same units).
    local_cost : ndarray (N, M)
        Each query sample's cost against each clip sample (same units).
    """
    names = tuple(n for n in query.names if n in clip.names)
    x, cx, w = _scaled(query, names)
    y, cy, _ = _scaled(clip, names)
    if offset is not None:
        y = y - offset
    c = np.ascontiguousarray(local_costs(x, y, conf_x=cx, conf_y=cy, feature_weights=w), dtype=np.float64)
    D, S = _subsequence_dp(c)
    return D[-1] / len(x), S[-1], measure_motion_amplitude(query.select(names)) ** 2, c


def _local_minima(cost: np.ndarray) -> np.ndarray:
    finite = np.isfinite(cost)
    left = np.concatenate([[np.inf], cost[:-1]])
    right = np.concatenate([cost[1:], [np.inf]])
    return np.flatnonzero(finite & (cost <= left) & (cost <= right))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    shorter = min(a[1] - a[0], b[1] - b[0]) + 1
    return max(0, inter) / max(shorter, 1)


def _motion(z: np.ndarray, w: np.ndarray) -> float:
    """Weighted RMS deviation of scaled features (T, F) from their medians: :func:`measure_motion_amplitude`."""
    ok = np.isfinite(z)
    use = ok.sum(axis=0) >= 2
    if not use.any():
        return float("nan")
    z, w, ok = z[:, use], w[use], ok[:, use]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dev = np.where(ok, z - np.nanmedian(z, axis=0), 0.0)
    return float(np.sqrt(np.sum(w * (dev ** 2).sum(axis=0) / ok.sum(axis=0)) / np.sum(w)))


def _select(cost: np.ndarray, start: np.ndarray, *, limit: float, statue: float, z: np.ndarray, w: np.ndarray,
            min_motion: float, local_cost: np.ndarray) -> list[list]:
    """Non-overlapping matches below ``limit`` that move at least ``min_motion`` (clip values ``z``,
    weights ``w``), best first; returned in time order as ``[first, last, fraction]``.

    The best match ending at a clip sample may start inside a match already
    taken (it took in a pause and the end of the repetition before); so once
    no match is left, each stretch between the matches taken (reaching into
    its neighbours by at most :data:`MAX_OVERLAP`) is searched again on its own
    (``local_cost``, query x clip), until none holds another.
    """
    chosen: list[list] = []

    def take(j: int, first: int, c: float) -> bool:
        span = (first, j)
        if not _motion(z[span[0]:span[1] + 1], w) >= min_motion:
            return False
        if all(_overlap(span, (a, b)) <= MAX_OVERLAP for a, b, _ in chosen):
            chosen.append([*span, float(c / statue)])
            return True
        return False

    for j in sorted(_local_minima(cost), key=lambda j: cost[j]):
        if cost[j] > limit:
            break
        take(int(j), int(start[j]), float(cost[j]))
    n_query, n_clip = local_cost.shape
    searched = {(0, n_clip - 1)}  # the whole clip: what ``cost`` and ``start`` already hold
    grown = True
    while grown:
        grown = False
        spans = sorted((a, b) for a, b, _ in chosen)
        bounds = [(-1, -1)] + spans + [(n_clip, n_clip)]
        for (a0, b0), (a1, b1) in zip(bounds[:-1], bounds[1:]):
            lo = b0 + 1 - int(MAX_OVERLAP * (b0 - a0 + 1)) if b0 >= 0 else 0
            hi = a1 - 1 + int(MAX_OVERLAP * (b1 - a1 + 1)) if a1 < n_clip else n_clip - 1
            if hi - lo + 1 < (n_query + 1) // 2 or (lo, hi) in searched:
                continue
            searched.add((lo, hi))
            D, S = _subsequence_dp(np.ascontiguousarray(local_cost[:, lo:hi + 1]))
            gap_cost = D[-1] / n_query
            for j in sorted(_local_minima(gap_cost), key=lambda j: gap_cost[j]):
                if gap_cost[j] > limit:
                    break
                if take(lo + int(j), lo + int(S[-1, j]), float(gap_cost[j])):
                    grown = True
                    break
            if grown:
                break
    chosen.sort()
    for k in range(1, len(chosen)):  # matches that overlap a little meet halfway through the shared part
        if chosen[k][0] <= chosen[k - 1][1]:
            mid = (chosen[k][0] + chosen[k - 1][1]) // 2
            chosen[k - 1][1], chosen[k][0] = mid, mid + 1
    return chosen


def _offsets(q: FeatureSet, y: FeatureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled query and clip values (shared features) and the clip-minus-query medians (0 where either has none)."""
    names = tuple(n for n in q.names if n in y.names)
    x, _, _ = _scaled(q, names)
    z, _, _ = _scaled(y, names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN features
        return x, z, np.nan_to_num(np.nanmedian(z, axis=0) - np.nanmedian(x, axis=0))


def _path_offset(x: np.ndarray, z: np.ndarray, first: int, last: int) -> np.ndarray:
    """Per feature, the median of clip minus query along a match from clip sample ``first`` to ``last``
    (query sample i taken at ``first + i (last - first) / (N - 1)``)."""
    j = np.round(np.linspace(first, last, len(x))).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nan_to_num(np.nanmedian(z[j] - x, axis=0))


def find_repetitions(query: FeatureSet, clip: FeatureSet, *, rate_hz: float = 30.0, mirrored: bool = False,
                     max_cost_fraction: float = MAX_COST_FRACTION, noise: MatchNoise = CAMERAS
                     ) -> list[Repetition]:
    """Each repetition of ``query`` in ``clip``, in time order.

    Each feature may differ between the two clips by a constant (one
    camera's constant error against another's, or a player's constant
    posture): the search is run as given and with the clip's feature medians
    moved onto the query's, the better best match is kept, the constants are
    then re-estimated along that match and the search run once more with
    them. Matches are taken best first, without overlapping, while they cost
    at most ``max_cost_fraction`` of the query's statue cost plus
    ``noise.cost``, if they move at least :data:`MIN_MOTION_RATIO` as much as
    the query and more than a still body seems to (``noise.still_motion``).

    Parameters
    ----------
    query : FeatureSet
        One repetition (the coach's), on its own frame times.
    clip : FeatureSet
        The clip to search, on its own frame times.
    rate_hz : float
        Common time base, Hz.
    mirrored : bool
        Search the clip's left/right mirror image (an attempt filmed or
        performed mirrored; see :attr:`lab.score.Comparison.mirrored`).
    max_cost_fraction : float
        A full repetition costs at most this fraction of the statue cost, plus ``noise.cost``.
    noise : MatchNoise
        What measurement errors do to the search (:data:`CAMERAS`: both clips filmed;
        :meth:`MatchNoise.for_sources`).

    Returns
    -------
    list of Repetition
        Full repetitions and, at either end, partial ones.
    """
    search = search_clip(query, clip, rate_hz=rate_hz, mirrored=mirrored)
    if search is None:
        return []
    return choose_repetitions(search, max_cost_fraction=max_cost_fraction, noise=noise)


@dataclasses.dataclass(frozen=True)
class ClipSearch:
    """What :func:`find_repetitions` knows before it draws its line: the query and the clip on one
    time base (``query``, ``clip``), their scaled values (``x``, ``z``), the features' weights
    ``w``, the clip-minus-query ``offset`` removed, and per clip sample the best whole-query match
    ending there (``cost``, ``start``; :func:`match_costs`) with the statue's ``statue`` cost and the
    ``local_cost`` matrix (query x clip) they come from."""

    query: FeatureSet
    clip: FeatureSet
    x: np.ndarray
    z: np.ndarray
    w: np.ndarray
    offset: np.ndarray
    cost: np.ndarray
    start: np.ndarray
    statue: float
    local_cost: np.ndarray


def search_clip(query: FeatureSet, clip: FeatureSet, *, rate_hz: float = 30.0, mirrored: bool = False
                ) -> ClipSearch | None:
    """The match costs of ``query`` along ``clip`` (see :func:`find_repetitions`); None where
    nothing can be matched (too short, or a query that does not move)."""
    q = resample_features(query, rate_hz=rate_hz)
    y = resample_features(mirror_features(clip) if mirrored else clip, rate_hz=rate_hz)
    if len(q.time_s) < 3 or len(y.time_s) < 2:
        return None
    x, z, median_offset = _offsets(q, y)
    tries = []
    for offset in (np.zeros_like(median_offset), median_offset):
        cost, start, statue, _ = match_costs(q, y, offset=offset)
        if not np.isfinite(statue) or statue <= 0 or not np.isfinite(cost).any():
            return None
        j = int(np.nanargmin(np.where(np.isfinite(cost), cost, np.nan)))
        tries.append((cost[j], j, int(start[j])))
    _, j, first = min(tries)
    offset = _path_offset(x, z, first, j)
    cost, start, statue, local_cost = match_costs(q, y, offset=offset)
    w = _scaled(q, tuple(n for n in q.names if n in y.names))[2]
    return ClipSearch(query=q, clip=y, x=x, z=z, w=w, offset=offset, cost=cost, start=start, statue=float(statue),
                      local_cost=local_cost)


def choose_repetitions(search: ClipSearch, *, max_cost_fraction: float = MAX_COST_FRACTION,
                       noise: MatchNoise = CAMERAS) -> list[Repetition]:
    """The repetitions :func:`find_repetitions` reports from a :func:`search_clip` result."""
    limit = max_cost_fraction * search.statue + noise.cost
    spans = _select(search.cost, search.start, limit=limit, statue=search.statue, z=search.z, w=search.w,
                    min_motion=max(MIN_MOTION_RATIO * _motion(search.x, search.w), noise.still_motion),
                    local_cost=search.local_cost)
    spans = _drop_cut_off(spans, search.local_cost, time_s=search.clip.time_s)
    return _repetitions_from_spans(search, spans, limit=limit, noise=noise)


def _repetitions_from_spans(search: ClipSearch, spans: list, *, limit: float, noise: MatchNoise) -> list[Repetition]:
    """The full repetitions ``spans`` ([first, last, cost fraction], clip samples) and the partial ones
    left at either end of the clip, in time order."""
    t = search.clip.time_s
    reps = [(float(t[a]), float(t[b]), False, f) for a, b, f in spans]
    reps += _partial_ends(search.query, search.clip, spans, statue=search.statue, limit=limit, offset=search.offset,
                          min_motion=noise.still_partial_motion)
    reps.sort(key=lambda r: r[0])
    return [Repetition(index=i + 1, start_s=a, end_s=b, partial=p, cost_fraction=f)
            for i, (a, b, p, f) in enumerate(reps)]


@numba.njit(cache=True)
def _tile_dp(c, unmatched):
    """The clip (columns of ``c``, (N, M) query x clip local costs) explained at once, sample by sample:
    passes through the query (steps of 0, 1 or 2 query samples, never two stays in a row: the local
    tempos of :func:`_subsequence_dp`; a step over a query sample costs the mean of the two), holds of
    its first and last sample, and samples matching nothing at cost ``unmatched`` each (entered and
    left only between passes). Returns each clip sample's query sample, -1 where it matches nothing."""
    N, M = c.shape
    INF = np.inf
    D = np.full((2, N, M), INF)  # layer 1: the last step stayed on its query sample
    P = np.full((2, N, M), -3, np.int64)  # predecessor: layer * N + query sample; -1 unmatched; -2 start
    G = np.full(M, INF)
    PG = np.full(M, -3, np.int64)
    for i in range(N):
        D[0, i, 0] = c[i, 0]
        P[0, i, 0] = -2
    G[0] = unmatched
    PG[0] = -2
    for j in range(1, M):
        best = G[j - 1]
        arg = -1
        for s in range(2):
            for i in (0, N - 1):
                if D[s, i, j - 1] < best:
                    best = D[s, i, j - 1]
                    arg = s * N + i
        G[j] = best + unmatched
        PG[j] = arg
        for i in range(N):
            best = INF
            arg = -3
            ci = c[i, j]
            for s in range(2):
                if i >= 1 and D[s, i - 1, j - 1] + ci < best:
                    best = D[s, i - 1, j - 1] + ci
                    arg = s * N + i - 1
                if (i == 0 or i == N - 1) and D[s, i, j - 1] + ci < best:  # a hold
                    best = D[s, i, j - 1] + ci
                    arg = s * N + i
                if i == 0 and D[s, N - 1, j - 1] + ci < best:  # the next pass
                    best = D[s, N - 1, j - 1] + ci
                    arg = s * N + N - 1
                if i >= 2 and D[s, i - 2, j - 1] + 0.5 * (c[i - 1, j] + ci) < best:
                    best = D[s, i - 2, j - 1] + 0.5 * (c[i - 1, j] + ci)
                    arg = s * N + i - 2
            if i == 0 and G[j - 1] + ci < best:
                best = G[j - 1] + ci
                arg = -1
            D[0, i, j] = best
            P[0, i, j] = arg
            if 0 < i < N - 1 and D[0, i, j - 1] < INF:
                D[1, i, j] = D[0, i, j - 1] + ci
                P[1, i, j] = i
    best = G[M - 1]
    arg = -1
    for s in range(2):
        for i in range(N):
            if D[s, i, M - 1] < best:
                best = D[s, i, M - 1]
                arg = s * N + i
    states = np.full(M, -1, np.int64)
    cur = arg
    for j in range(M - 1, -1, -1):
        if cur == -1:
            states[j] = -1
            cur = PG[j]
        else:
            states[j] = cur % N
            cur = P[cur // N, cur % N, j]
    return states


def _passes(states: np.ndarray, n_query: int) -> list[tuple[int, int, int, int]]:
    """Each pass through the query in a :func:`_tile_dp` result: (first and last clip sample, query
    sample at each), from the last hold of its first sample to the first of its last."""
    inside = (states >= 1) & (states <= n_query - 2)
    out = []
    j, m = 0, len(states)
    while j < m:
        if not inside[j]:
            j += 1
            continue
        k = j
        while k + 1 < m and inside[k + 1] and states[k + 1] >= states[k]:
            k += 1
        a = j - 1 if j > 0 and states[j - 1] == 0 else j
        b = k + 1 if k + 1 < m and states[k + 1] == n_query - 1 else k
        out.append((a, b, int(states[a]), int(states[b])))
        j = k + 1
    return out


def tile_repetitions(search: ClipSearch, *, max_cost_fraction: float = MAX_COST_FRACTION,
                     noise: MatchNoise = CAMERAS) -> list[Repetition]:
    """The repetitions counted a second way, from the same :func:`search_clip` result: the whole clip
    explained at once (:func:`_tile_dp`) as passes through the query, holds of its first and last pose,
    and stretches matching nothing at :func:`choose_repetitions`' line per sample. A pass that moves as
    a repetition must (as there) and is not cut off by more than :data:`CUT_OFF_FRACTION` of the query
    at the clip's edge is a full repetition; the rule for half a repetition at the edge and the partial
    repetitions are :func:`choose_repetitions`'. On its own it counts the suite's tuning clips less well
    than :func:`choose_repetitions` (README); where the two counts differ, the count is not sure."""
    limit = max_cost_fraction * search.statue + noise.cost
    # a cost that cannot be computed is one no path takes, but it keeps every sum finite
    c = np.ascontiguousarray(np.nan_to_num(search.local_cost, nan=1e12, posinf=1e12), dtype=np.float64)
    n_query = c.shape[0]
    min_motion = max(MIN_MOTION_RATIO * _motion(search.x, search.w), noise.still_motion)
    states = _tile_dp(c, float(limit))
    steps = np.arange(len(states))
    # each pass with its mean local cost along it, as a fraction of the statue's
    spans = [[a, b, float(np.mean(c[states[a:b + 1], steps[a:b + 1]]) / search.statue)]
             for a, b, first, last in _passes(states, n_query)
             if first <= CUT_OFF_FRACTION * (n_query - 1) and last >= (1 - CUT_OFF_FRACTION) * (n_query - 1)
             and _motion(search.z[a:b + 1], search.w) >= min_motion]
    spans = _drop_cut_off(spans, search.local_cost, time_s=search.clip.time_s)
    return _repetitions_from_spans(search, spans, limit=limit, noise=noise)


def count_shape(reps: list[Repetition]) -> tuple[int, bool, bool]:
    """What a list of repetitions of one clip counts: the full ones, whether a partial one comes before
    the first full one, and whether one comes after the last (with no full one, any partial one is
    taken as at the start)."""
    full = [r for r in reps if not r.partial]
    if not full:
        return 0, any(r.partial for r in reps), False
    return (len(full), any(r.partial and r.end_s <= full[0].start_s for r in reps),
            any(r.partial and r.start_s >= full[-1].end_s for r in reps))


def counts_agree(first: list[Repetition], second: list[Repetition]) -> bool:
    """Whether two lists of repetitions of one clip count alike (:func:`count_shape`)."""
    return count_shape(first) == count_shape(second)


def measure_motion_to_noise(query: FeatureSet, *, noise: MatchNoise = CAMERAS) -> float:
    """How many times as much as a still body seems to move (``noise.still_motion``) the query moves.

    The query's motion is :func:`lab.features.scale.measure_motion_amplitude` (degree-equivalents, RMS
    about its median pose). Below 1 the movement cannot be told from standing still. Infinite where
    the clip searched has no measurement noise (motion capture: ``noise.still_motion`` 0); NaN where
    the query has no motion to measure.
    """
    motion = measure_motion_amplitude(query)
    if noise.still_motion <= 0:
        return float("inf") if np.isfinite(motion) else float("nan")
    return float(motion / noise.still_motion)


def _edge_samples(time_s: np.ndarray) -> int:
    """:data:`EDGE_S` in samples of a uniform time base."""
    return int(round(EDGE_S * (len(time_s) - 1) / max(time_s[-1] - time_s[0], 1e-9)))


def _drop_cut_off(spans: list, local_cost: np.ndarray, *, time_s: np.ndarray) -> list:
    """``spans`` without a first (last) one that is at the clip's start (end) and looks more like the
    second (first) half of a repetition than a whole one (at the start: touching it, or with less
    before it than a partial repetition lasts, :data:`MIN_PARTIAL_FRACTION` of the query; the same at
    the end): its last (first) sample matched by the end (start) of the query's second (first) half,
    that half reaches back (forward) less than :data:`CUT_OFF_FRACTION` of the span. What is left
    there is searched for a partial repetition. One full repetition always stays: with nothing to
    compare, a clip of one repetition is not told from half of one."""
    if len(spans) < 2:
        return spans
    n_query, n_clip = local_cost.shape
    half = n_query // 2
    # at the clip's edge: touching it, or with too little before (after) it to be a partial repetition
    edge = max(_edge_samples(time_s), int(MIN_PARTIAL_FRACTION * n_query))
    out = list(spans)
    a, b, _ = out[0]
    if a <= edge and b > a and half >= 2:
        D, S = _subsequence_dp(np.ascontiguousarray(local_cost[half:, a:b + 1]))
        if np.isfinite(D[-1, -1]) and S[-1, -1] < CUT_OFF_FRACTION * (b - a):
            out = out[1:]
    if len(out) >= 2:
        a, b, _ = out[-1]
        if b >= n_clip - 1 - edge and b > a and half >= 2:  # the same, time reversed
            D, S = _subsequence_dp(np.ascontiguousarray(local_cost[:n_query - half, a:b + 1][::-1, ::-1]))
            if np.isfinite(D[-1, -1]) and S[-1, -1] < CUT_OFF_FRACTION * (b - a):
                out = out[:-1]
    return out


def _partial_ends(q: FeatureSet, y: FeatureSet, spans: list, *, statue: float, limit: float,
                  offset: np.ndarray, min_motion: float) -> list[tuple]:
    """Partial repetitions in what is left before the first and after the last full one (moving more
    than ``min_motion`` too)."""
    n_q, n_y = len(q.time_s), len(y.time_s)
    first = spans[0][0] if spans else n_y
    last = spans[-1][1] if spans else -1
    ends = [(0, first - 1)] + ([(last + 1, n_y - 1)] if spans else [])
    names = tuple(n for n in q.names if n in y.names)
    x, cx, w = _scaled(q, names)
    out = []
    speed_q = _speed(x, w)
    speed_y = _speed(_scaled(y, names)[0] - offset, w)
    still = 0.2 * float(np.nanmedian(speed_q)) if np.isfinite(speed_q).any() else 0.0
    edge = _edge_samples(y.time_s)
    for k, (a, b) in enumerate(ends):
        # a pause (0.1 s or more held still) between the partial repetition and the full ones is not part of it
        runs = _still_runs(speed_y[a:b + 1] <= still, min_len=3)
        if runs and k == 0:
            b = a + runs[-1][0] - 1
        elif runs:
            a = a + runs[0][1] + 1
        n = b - a + 1
        if n < MIN_PARTIAL_FRACTION * n_q or n < 3:
            continue
        part = dataclasses.replace(y, time_s=y.time_s[a:b + 1], values=y.values[a:b + 1],
                                   confidence=y.confidence[a:b + 1])
        if not measure_motion_amplitude(part.select(names)) ** 2 >= max(MIN_PARTIAL_MOTION ** 2 * statue,
                                                                        min_motion ** 2):
            continue
        yy, cy, _ = _scaled(part, names)
        yy = yy - offset
        c = local_costs(x, yy, conf_x=cx, conf_y=cy, feature_weights=w)
        try:  # the shorter of the two is matched whole against a stretch of the other
            al = dtw_from_costs(c, open_begin=True, open_end=True)
        except ValueError:
            continue
        if al.cost > limit:
            continue
        used = al.path[:, 1]
        lo, hi = a + int(used.min()), a + int(used.max())
        # a partial repetition is cut off by the clip: it touches the clip's first or last sample
        if (k == 0 and lo > edge) or (k == 1 and hi < n_y - 1 - edge):
            continue
        out.append((float(y.time_s[lo]), float(y.time_s[hi]), True, float(al.cost / statue)))
    return out


def _speed(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per sample, how fast the scaled features change (weighted RMS of the step to the next sample,
    smoothed over 5 samples); the last sample repeats the one before."""
    d = np.diff(x, axis=0, append=x[-1:])
    ok = np.isfinite(d)
    v = np.sqrt(np.where(ok, d ** 2, 0.0) @ w / np.maximum(ok @ w, 1e-12))
    if len(v) > 1:
        v[-1] = v[-2]
    return np.convolve(v, np.ones(5) / 5, mode="same")


def _still_runs(still: np.ndarray, *, min_len: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of True at least ``min_len`` long."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(int), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


#: A window repeats when its best copy elsewhere in the clip costs at most this fraction of its statue.
MAX_MOTIF_FRACTION = 0.35


def find_motif(fs: FeatureSet, *, rate_hz: float = 30.0, min_period_s: float = 0.6,
               max_motif_fraction: float = MAX_MOTIF_FRACTION) -> tuple[float, float] | None:
    """The longest stretch of a clip that happens again later in it: ``(start_s, period_s)``, or None.

    For every window length ``P`` from ``min_period_s`` to half the clip and
    every start, the window is compared with every later window of the same
    length that does not overlap it (mean local cost along the diagonal, the
    comparison's scaled units). A window *repeats* when that cost is at most
    ``max_motif_fraction`` of its own statue cost and it moves at least half
    as much as the clip's most moving window of that length (two stretches of
    standing still also look alike). The period is the shortest shift from a
    repeating window to its copy, among windows at least half that long
    (shorter ones may repeat within a repetition); its start is that
    window's. None when nothing repeats: the clip is one repetition.
    """
    r = resample_features(fs, rate_hz=rate_hz)
    x, w = scale_features(r)
    T = len(x)
    lo = max(3, int(round(min_period_s * rate_hz)))
    if T < 2 * lo:
        return None
    c = local_costs(x, x, conf_x=r.confidence, conf_y=r.confidence, feature_weights=w)
    G = np.zeros((T + 1, T + 1))  # G[i+1, j+1] = c[i, j] + G[i, j]: sums along diagonals
    for k in range(T):
        G[k + 1, 1:] = c[k] + G[k, :-1]
    ok = np.isfinite(x)
    xw = np.where(ok, x, 0.0)
    best = None  # (start sample, cost fraction, shift in samples)
    # each window's statue (weighted variance of its features) from running sums
    cs = np.vstack([np.zeros(x.shape[1]), np.cumsum(xw, axis=0)])
    cs2 = np.vstack([np.zeros(x.shape[1]), np.cumsum(xw ** 2, axis=0)])
    n = np.vstack([np.zeros(x.shape[1]), np.cumsum(ok, axis=0)])
    for P in range(lo, T // 2 + 1):
        starts = np.arange(T - P + 1)
        cnt = np.maximum(n[P:] - n[:-P], 1)
        mean = (cs[P:] - cs[:-P]) / cnt
        var = np.maximum((cs2[P:] - cs2[:-P]) / cnt - mean ** 2, 0.0)
        statue = (var * w).sum(axis=1) / w.sum()
        moving = statue >= 0.25 * statue.max()
        found = None
        for s in starts[moving]:
            later = np.arange(s + P, T - P + 1)
            if not len(later):
                continue
            d = (G[s + P, later + P] - G[s, later]) / P
            k = int(np.argmin(d))
            if d[k] <= max_motif_fraction * statue[s] and (found is None or d[k] / statue[s] < found[1]):
                found = (s, d[k] / statue[s], int(later[k] - s))
        # the period is the shift to the copy; windows shorter than half of it are parts of a repetition
        if found is not None and 2 * P >= found[2] and (best is None or found[2] < best[2]):
            best = found
    return None if best is None else (float(r.time_s[best[0]]), best[2] / rate_hz)


def self_similarity(fs: FeatureSet, *, rate_hz: float = 30.0, max_samples: int = 1800
                    ) -> tuple[np.ndarray, np.ndarray]:
    """How far each moment of a clip is from every other: ``(time_s (T,), distance (T, T))``.

    ``distance`` is the RMS difference of the scaled features (degree-equivalents,
    the comparison's own units) between two samples; repetitions show as dark
    stripes parallel to the diagonal. Longer clips are subsampled to ``max_samples``.
    """
    r = resample_features(fs, rate_hz=rate_hz)
    step = max(1, int(np.ceil(len(r.time_s) / max_samples)))
    x, w = scale_features(r)
    x, conf = x[::step], r.confidence[::step]
    c = local_costs(x, x, conf_x=conf, conf_y=conf, feature_weights=w)
    return r.time_s[::step], np.sqrt(c)


def cut_features(fs: FeatureSet, *, start_s: float, end_s: float) -> FeatureSet:
    """The frames of ``fs`` with ``start_s <= time_s <= end_s``."""
    keep = (fs.time_s >= start_s - 1e-9) & (fs.time_s <= end_s + 1e-9)
    return dataclasses.replace(fs, time_s=fs.time_s[keep], values=fs.values[keep],
                               confidence=fs.confidence[keep])


def typical_repetition(fs: FeatureSet, *, rate_hz: float = 30.0, noise: MatchNoise = CAMERAS
                       ) -> tuple[FeatureSet, list[Repetition]]:
    """One typical repetition of a clip that may hold several, and the repetitions found in it.

    A clip with no repeating stretch (:func:`find_motif` is None) is one
    repetition, returned whole. Otherwise one period of it finds the
    repetitions: cut at the phase (of eight through the motif's first period,
    and its stillest moment) that finds the most full repetitions, the worst
    of them matching best and the least time left between them
    (:func:`find_repetitions` with ``noise``: both sides are this clip);
    the typical one is their medoid (smallest
    summed DTW cost to the others).
    """
    whole = [Repetition(index=1, start_s=float(fs.time_s[0]), end_s=float(fs.time_s[-1]), partial=False,
                        cost_fraction=0.0)]
    motif = find_motif(fs, rate_hz=rate_hz)
    if motif is None:
        return fs, whole
    start_s, period_s = motif
    # where a repetition starts: of eight phases through the motif's first period, and the stillest
    # moment there, the one whose cut finds the most full repetitions, then the one whose worst match
    # is closest (the cut always matches itself) and whose repetitions leave the least time between them
    # (a cut in mid-movement leaves the end of the last one and the start of the first one unmatched)
    r = resample_features(fs, rate_hz=rate_hz)
    x, w = scale_features(r)
    speed = _speed(x, w)
    P = int(round(period_s * rate_hz))
    s0 = int(np.searchsorted(r.time_s, start_s))
    window = speed[s0:s0 + P]
    candidates = {s0 + int(round(k * P / 8)) for k in range(8)}
    if np.isfinite(window).any():
        candidates.add(s0 + int(np.nanargmin(window)))
    best = None
    for s in sorted(candidates):
        if s + P >= len(r.time_s):
            s = max(0, s - P)
        first = cut_features(r, start_s=r.time_s[s], end_s=r.time_s[min(s + P, len(r.time_s) - 1)])
        found = find_repetitions(first, fs, rate_hz=rate_hz, noise=noise)
        full = [rep for rep in found if not rep.partial]
        gaps = sum(max(0.0, b.start_s - a.end_s) for a, b in zip(full, full[1:])) / max(len(full) - 1, 1)
        key = (-len(full), max(rep.cost_fraction for rep in full) + gaps / period_s if full else np.inf)
        if best is None or key < best[0]:
            best = (key, found)
    reps = best[1]
    full = [rep for rep in reps if not rep.partial]
    if len(full) < 2:
        return fs, whole
    best = full[align_repetitions(fs, full, rate_hz=rate_hz).medoid]
    return cut_features(fs, start_s=best.start_s, end_s=best.end_s), reps


@dataclasses.dataclass(frozen=True)
class RepetitionAlignment:
    """Repetitions of one clip aligned onto their medoid (:func:`align_repetitions`).

    Attributes
    ----------
    medoid : int
        Index (into the repetitions given) of the one with the smallest summed DTW cost to the others.
    pieces : list of FeatureSet
        Each repetition's features, resampled at the rate given.
    paths : list of ndarray of int, shape (L_i, 2)
        Per repetition, its DTW path onto the medoid: (medoid sample, own sample) pairs, increasing
        (the medoid's own path is the identity).
    """

    medoid: int
    pieces: list[FeatureSet]
    paths: list[np.ndarray]


def align_repetitions(fs: FeatureSet, repetitions: list[Repetition], *, rate_hz: float = 30.0
                      ) -> RepetitionAlignment:
    """Align the given repetitions of one clip with each other (DTW, every pair, no band).

    One clip, one camera: its errors are mostly shared between repetitions, so they align more
    tightly with each other than each does with the coach's (a different camera). Each pair's cost
    is the mean local cost along its path (:func:`lab.dtw.dtw_from_costs`, noise-weighted features).
    """
    r = resample_features(fs, rate_hz=rate_hz)
    pieces = [cut_features(r, start_s=rep.start_s, end_s=rep.end_s) for rep in repetitions]
    scaled = [_scaled(p, r.names) for p in pieces]
    n = len(pieces)
    total = np.zeros(n)
    paths: dict[tuple[int, int], np.ndarray] = {}
    for i in range(n):
        for j in range(i + 1, n):
            (xi, ci, wi), (xj, cj, _) = scaled[i], scaled[j]
            al = dtw_from_costs(local_costs(xi, xj, conf_x=ci, conf_y=cj, feature_weights=wi))
            paths[i, j] = al.path
            total[i] += al.cost
            total[j] += al.cost
    m = int(np.argmin(total)) if n else 0
    onto = []
    for i in range(n):
        if i == m:
            onto.append(np.repeat(np.arange(len(pieces[i].time_s))[:, None], 2, axis=1))
        else:
            onto.append(paths[m, i] if m < i else paths[i, m][:, ::-1])
    return RepetitionAlignment(medoid=m, pieces=pieces, paths=onto)
