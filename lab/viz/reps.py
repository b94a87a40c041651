"""Figures of the repetitions: the clip's self-similarity with the boundaries found, and a timeline."""

from __future__ import annotations

import numpy as np

from lab.viz.plots import _legend_above, _title, _top_margin_px

#: Bar colour per repetition verdict.
VERDICT_COLORS = {"same": "#2ca02c", "different": "#d62728", "uncertain": "#7f7f7f", "partial": "#c7c7c7"}


def plot_self_similarity(time_s: np.ndarray, distance: np.ndarray, *, repetitions=(), title: str | None = None):
    """Heat map of a clip's self-similarity (:func:`lab.reps.self_similarity`) with repetitions drawn.

    Parameters
    ----------
    time_s : ndarray (T,)
        Seconds.
    distance : ndarray (T, T)
        Degree-equivalents between two moments (dark = alike).
    repetitions : sequence of lab.reps.Repetition
        Drawn as squares on the diagonal (dashed for partial ones).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    title = title or "Where the clip repeats itself (dark = alike)"
    fig = go.Figure(go.Heatmap(x=time_s, y=time_s, z=distance, colorscale="Viridis", reversescale=True,
                               colorbar=dict(title="deg-eq", thickness=12),
                               hovertemplate="%{x:.2f} s vs %{y:.2f} s: %{z:.1f}<extra></extra>"))
    for rep in repetitions:
        fig.add_shape(type="rect", x0=rep.start_s, x1=rep.end_s, y0=rep.start_s, y1=rep.end_s,
                      line=dict(color="white", width=2, dash="dash" if rep.partial else "solid"))
        fig.add_annotation(x=(rep.start_s + rep.end_s) / 2, y=rep.end_s, text=str(rep.index), showarrow=False,
                           font=dict(color="white", size=13), yshift=10)
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="time (s)", autorange="reversed", scaleanchor="x")
    fig.update_layout(title=_title(title), height=520, margin=dict(l=60, r=20, t=_top_margin_px(title, legend=False)))
    return fig


def plot_repetition_timeline(report, *, duration_s: float | None = None, title: str | None = None):
    """One bar per repetition along the player's clip, coloured by its verdict, labelled with its score.

    Parameters
    ----------
    report : lab.reps.RepetitionReport
    duration_s : float, optional
        Length of the clip (the axis' end).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Hovering a bar shows its times, score and first sentence.
    """
    import plotly.graph_objects as go

    title = title or (f"Repetitions: {report.rep_count} found"
                      + (" (the count may be off)" if report.count_sure is False else ""))
    fig = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        rows = [r for r in report.results if r.verdict == verdict]
        if not rows:
            continue
        text = [f"{r.repetition.index}" + ("" if r.score is None else f" ({r.score:.0f})") for r in rows]
        why = [((r.unlike_others or r.feedback or (r.summary,))[0]) for r in rows]
        fig.add_trace(go.Bar(
            x=[r.repetition.end_s - r.repetition.start_s for r in rows], base=[r.repetition.start_s for r in rows],
            y=["player"] * len(rows), orientation="h", marker_color=color, name=verdict, text=text,
            textposition="inside", insidetextanchor="middle",
            customdata=np.array([[r.repetition.start_s, r.repetition.end_s, w] for r, w in zip(rows, why)],
                                dtype=object),
            hovertemplate="%{customdata[0]:.2f}-%{customdata[1]:.2f} s<br>%{customdata[2]}<extra>%{text}</extra>"))
    fig.update_xaxes(title_text="time in the player's clip (s)", range=[0, duration_s] if duration_s else None)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(title=_title(title), barmode="overlay", height=230, legend=_legend_above(),
                      margin=dict(l=20, r=20, t=_top_margin_px(title, legend=True), b=50))
    return fig
