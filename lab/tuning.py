"""Threshold tuning on labelled pairs: distances per method and DTW window, and a live widget.

Used by ``notebooks/05_threshold_tuning.ipynb``. :func:`tuning_distances`
computes; :func:`threshold_widget` returns an ipywidgets box (it does not
display it); the static, kernel-free version is
:func:`lab.viz.plot_threshold_explorer`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Label of the lifted, view-invariant comparison in the tables.
OURS = "ours_lifted"


def tuning_distances(*, windows_s: Sequence[float] = (1.0,), methods: Sequence[str] = (OURS,),
                     segment_s: float = 2.5, max_pairs: int | None = None, model: str = "full"):
    """Distances of the labelled sample pairs for each method and DTW window.

    Pairs are :func:`lab.score.experiments.real_pairs` on the sample clips
    (Pose2Sim cross-view pairs = same; against the Sports2D clip and its
    segments = different). ``ours_lifted`` is run once per window
    (:func:`lab.score.compare_tracks` with ``window_s``); the baselines of
    :mod:`lab.score.baselines` have no window and are run once.

    Parameters
    ----------
    windows_s : DTW band half-widths to try, seconds.
    methods : names among ``ours_lifted`` and :data:`lab.score.baselines.BASELINES`.
    segment_s : length of the Sports2D segments used as "different" items, seconds.
    max_pairs : int, optional
        Keep at most this many pairs, balanced between same and different (deterministic).

    Returns
    -------
    DataFrame with ``pair, reference, attempt, same, group, method, window_s, distance``.
    """
    import pandas as pd

    from lab.score.baselines import BASELINES
    from lab.score.compare import compare_tracks
    from lab.score.experiments import load_sample_tracks, real_pairs

    unknown = [m for m in methods if m != OURS and m not in BASELINES]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {[OURS, *BASELINES]}")
    tracks = load_sample_tracks(model=model)
    pairs, allt = real_pairs(tracks, segment_s=segment_s)
    if max_pairs is not None and len(pairs) > max_pairs:
        same = [p for p in pairs if p.same]
        diff = [p for p in pairs if not p.same]
        n_same = min(len(same), max_pairs // 2)
        n_diff = max_pairs - n_same
        pick = lambda ps, n: [ps[i] for i in np.unique(np.round(np.linspace(0, len(ps) - 1, n)).astype(int))]  # noqa: E731
        pairs = pick(same, n_same) + pick(diff, n_diff)
    rows = []
    for p in pairs:
        a, b = allt[p.reference], allt[p.attempt]
        for m in methods:
            for w in (windows_s if m == OURS else [np.nan]):
                try:
                    d = (compare_tracks(a, b, window_s=float(w)).distance if m == OURS
                         else float(BASELINES[m](a, b)))
                except ValueError:
                    d = np.nan
                rows.append({"pair": f"{p.reference} vs {p.attempt}", "reference": p.reference,
                             "attempt": p.attempt, "same": bool(p.same), "group": p.group, "method": m,
                             "window_s": w, "distance": float(d)})
    return pd.DataFrame(rows)


def select(distances, *, method: str, window_s: float | None = None):
    """Rows of one method (and window, for ``ours_lifted``) with a finite distance."""
    g = distances[distances["method"] == method]
    if method == OURS and window_s is not None:
        g = g[np.isclose(g["window_s"], window_s)]
    return g[np.isfinite(g["distance"])]


def threshold_widget(distances, *, threshold: float | None = None):
    """Live controls (threshold slider, method = feature choice, DTW window) updating the ROC point,
    confusion counts and the verdict of every labelled pair. Returns an ipywidgets ``VBox``."""
    import ipywidgets as widgets

    from lab.viz import plot_threshold_explorer

    methods = list(dict.fromkeys(distances["method"]))
    windows = sorted({float(w) for w in distances["window_s"] if np.isfinite(w)}) or [1.0]
    method_w = widgets.Dropdown(options=methods, value=methods[0], description="features")
    window_w = widgets.SelectionSlider(options=windows, value=windows[len(windows) // 2],
                                       description="window (s)")
    d_all = distances["distance"][np.isfinite(distances["distance"])]
    d0 = select(distances, method=methods[0], window_s=window_w.value)["distance"]
    top = float(d_all.max() * 1.2) if len(d_all) else 1.0
    start = float(threshold if threshold is not None else (d0.median() if len(d0) else top / 2))
    th_w = widgets.FloatSlider(value=min(start, top), min=0.0, max=top, step=0.05,
                               description="threshold", continuous_update=False)
    out = widgets.Output()

    def render(*_):
        # outputs are set directly (not captured with ``with out:``), which also works while the
        # creating cell is still executing under papermill/nbval
        g = select(distances, method=method_w.value, window_s=window_w.value)
        window_w.disabled = method_w.value != OURS
        out.outputs = ()
        if g.empty:
            out.append_stdout("no distances for this choice\n")
            return
        out.append_display_data(plot_threshold_explorer(g["distance"].to_numpy(), g["same"].to_numpy(),
                                                        names=list(g["pair"]),
                                                        thresholds=np.array([th_w.value])))

    for w in (method_w, window_w, th_w):
        w.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([method_w, window_w]), th_w, out])
