"""Reliability diagram of the verdict's probability ``p_same``: predicted against observed."""

from __future__ import annotations

from typing import Any

import numpy as np

from lab.viz.plots import _legend_above, _title, _top_margin_px


def plot_reliability(bins: list[dict[str, Any]] | dict[str, list[dict[str, Any]]], *,
                     title: str = "Is p_same a probability?"):
    """Predicted ``p_same`` (x) against the share of pairs that were the same movement (y), per bin.

    Parameters
    ----------
    bins : list of dict, or dict name -> list of dict
        Rows of :func:`lab.score.verdict_fit.reliability_table` (``bin_low``, ``bin_high``, ``count``,
        ``mean_p_same``, ``share_same``), out-of-fold predictions; several named series (e.g. the pairs
        counted one by one and the classes weighed alike) are drawn together, the first one's pairs counted
        below.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
        Points on the diagonal are calibrated; the bars below count the pairs per bin.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    series = bins if isinstance(bins, dict) else {"out-of-fold pairs": bins}
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dash", color="grey"),
                             name="calibrated", hoverinfo="skip"), row=1, col=1)
    for k, (name, rows) in enumerate(series.items()):
        x = np.array([b["mean_p_same"] for b in rows], float)
        y = np.array([b["share_same"] for b in rows], float)
        n = np.array([b["count"] for b in rows], int)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name,
                                 marker=dict(size=6 + 14 * np.sqrt(n / max(n.max(), 1))),
                                 customdata=n, hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>"
                                                             "%{customdata} pairs<extra></extra>"), row=1, col=1)
        if k == 0:
            mid = np.array([(b["bin_low"] + b["bin_high"]) / 2 for b in rows], float)
            fig.add_trace(go.Bar(x=mid, y=n, width=0.09, name="pairs per bin", marker_color="lightsteelblue"),
                          row=2, col=1)
    fig.update_xaxes(range=[0, 1], row=1, col=1)
    fig.update_xaxes(range=[0, 1], title_text="predicted probability of the same movement (p_same)", row=2, col=1)
    fig.update_yaxes(range=[0, 1], title_text="share that was the same movement", row=1, col=1)
    fig.update_yaxes(title_text="pairs", row=2, col=1)
    fig.update_layout(title=_title(title), height=560, legend=_legend_above(), template="plotly_white",
                      margin=dict(l=60, r=20, t=_top_margin_px(title, legend=True)))
    return fig
