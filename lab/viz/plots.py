"""Plotly figures for each stage: pose quality, 3D skeletons, DTW, viewpoints, thresholds.

Every function returns a :class:`plotly.graph_objects.Figure`; none writes a
file or calls ``show()``. Figures are deterministic (no random ids or
colours), so the same inputs give the same figure JSON.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.pose.track import SKELETON_EDGES, PoseTrack

#: Landmark groups used by :func:`plot_pose_quality`, by BlazePose name prefix/suffix.
LANDMARK_GROUPS: dict[str, tuple[str, ...]] = {
    "face": ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
             "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right"),
    "arms": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
             "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
             "left_thumb", "right_thumb"),
    "legs": ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
             "left_heel", "right_heel", "left_foot_index", "right_foot_index"),
}

#: Colours of the tracks in multi-track figures (reference first).
TRACK_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")

#: Longest line of a figure's title or subplot title, in characters: what fits a phone's 360 px.
TITLE_LINE_CHARS = 44


def wrap_title(text: str, *, line_chars: int = TITLE_LINE_CHARS) -> str:
    """``text`` broken into lines of at most ``line_chars`` characters at spaces (Plotly's ``<br>``).

    Plotly never wraps a title: on a phone a long one is cut at the figure's edge.
    """
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= line_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


#: Room above a figure's title for Plotly's tool bar, which a touch screen always shows (pixels).
MODEBAR_PX = 40


def _legend_above() -> dict:
    """A horizontal legend between the title and the plot: it never takes the plot's width on a phone."""
    return dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom", font=dict(size=11))


def _legend_below() -> dict:
    """A horizontal legend at the figure's foot (for figures whose subplot titles sit above the plots)."""
    return dict(orientation="h", x=0, xanchor="left", y=0, yref="container", yanchor="bottom",
                font=dict(size=11))


def _title(text: str) -> dict:
    """A left-aligned title, wrapped to fit a phone, placed below the tool bar."""
    return dict(text=wrap_title(text), x=0.01, xanchor="left", y=1, yref="container", yanchor="top",
                pad=dict(t=MODEBAR_PX), font=dict(size=15))


def _top_margin_px(title: str, *, legend: bool) -> int:
    """Top margin for :func:`_title`'s lines (and a legend above the plot) below the tool bar."""
    lines = wrap_title(title).count("<br>") + 1
    return MODEBAR_PX + 22 * lines + (30 if legend else 0) + 10


# ------------------------------------------------------------------ quality
def plot_pose_quality(track: PoseTrack, *, title: str | None = None) -> go.Figure:
    """Detection and landmark confidence over time.

    Top: whether a person was found in each frame. Bottom: mean visibility
    (MediaPipe's "not occluded" likelihood, 0-1) per landmark group (face,
    arms, legs) over time; missing frames count as 0.

    Parameters
    ----------
    track : PoseTrack
    title : str, optional

    Returns
    -------
    plotly Figure with 2 rows.
    """
    t = track.time_s
    det = track.detected().astype(float)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.3, 0.7], vertical_spacing=0.08,
                        subplot_titles=(f"person found: {track.detection_rate():.0%} of {track.n_frames} frames",
                                        "landmark visibility (mean per group)"))
    fig.add_trace(go.Scatter(x=t, y=det, mode="lines", line=dict(shape="hv", color="#444"),
                             name="person found", fill="tozeroy"), row=1, col=1)
    for i, (group, names) in enumerate(LANDMARK_GROUPS.items()):
        idx = [track.keypoints.index(n) for n in names if n in track.keypoints]
        if not idx:
            continue
        vis = np.nan_to_num(track.visibility[:, idx], nan=0.0).mean(axis=1)
        fig.add_trace(go.Scatter(x=t, y=vis, mode="lines", name=f"{group} ({len(idx)} landmarks)",
                                 line=dict(color=TRACK_COLORS[i % len(TRACK_COLORS)])), row=2, col=1)
    fig.update_yaxes(range=[-0.05, 1.05], row=1, col=1, title_text="found")
    fig.update_yaxes(range=[-0.05, 1.05], row=2, col=1, title_text="visibility")
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    heading = title or f"Pose quality: {_source_name(track)}"
    fig.update_layout(title=_title(heading), height=540, template="plotly_white", legend=_legend_below(),
                      margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False) + 20, b=130))
    return fig


def bone_lengths_m(track: PoseTrack) -> dict[str, np.ndarray]:
    """Length of each skeleton bone per frame from ``world_m``.

    Returns
    -------
    dict ``"a-b"`` -> ndarray (T,), metres (NaN where a joint is missing).
    """
    if track.world_m is None:
        raise ValueError("bone lengths need world_m")
    out = {}
    for a, b in SKELETON_EDGES:
        if a in track.keypoints and b in track.keypoints:
            ia, ib = track.index(a), track.index(b)
            out[f"{a}-{b}"] = np.linalg.norm(track.world_m[:, ia] - track.world_m[:, ib], axis=-1)
    return out


def plot_bone_lengths(track: PoseTrack, *, title: str | None = None) -> go.Figure:
    """Bone-length stability: each limb bone's length over time, with its spread in the legend.

    A rigid body keeps its bone lengths; the coefficient of variation (std /
    mean, %) shown per bone measures how much the 3D model breathes.
    """
    lengths = bone_lengths_m(track)
    fig = go.Figure()
    keep = [k for k in lengths if not any(s in k for s in ("eye", "ear", "nose", "index", "heel"))]
    for name in keep:
        v = lengths[name]
        m = np.nanmean(v) if np.isfinite(v).any() else np.nan
        cv = 100 * np.nanstd(v) / m if np.isfinite(m) and m > 0 else np.nan
        fig.add_trace(go.Scatter(x=track.time_s, y=v, mode="lines", name=f"{_segment_name(name)} {cv:.1f}%",
                                 hovertemplate=f"{name.replace('_', ' ')}<br>%{{y:.3f}} m at %{{x:.2f}} s"
                                               f"<br>spread (cv) {cv:.1f}%<extra></extra>"))
    heading = title or f"Bone lengths over time ({track.frame} frame)"
    fig.update_layout(title=_title(heading), xaxis_title="time (s)", yaxis_title="length (m)",
                      template="plotly_white", height=620,
                      margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False), b=210),
                      legend=dict(_legend_below(), title=dict(text="each bone's spread over time (cv):", side="top")))
    return fig


#: Body segments by the landmarks at their ends (side stripped), as a coach names them.
SEGMENT_NAMES = {("shoulder", "shoulder"): "shoulders", ("hip", "hip"): "hips", ("shoulder", "hip"): "trunk side",
                 ("shoulder", "elbow"): "upper arm", ("elbow", "wrist"): "forearm", ("hip", "knee"): "thigh",
                 ("knee", "ankle"): "shin", ("ankle", "foot_index"): "foot"}


def _segment_name(bone: str) -> str:
    """``left_shoulder-left_elbow`` -> ``L upper arm``: legend entries short enough for two to a line on a phone."""
    ends = bone.split("-")
    sides = {e.split("_", 1)[0] for e in ends}
    parts = tuple(e.split("_", 1)[1] if e.split("_", 1)[0] in ("left", "right") else e for e in ends)
    name = SEGMENT_NAMES.get(parts, " - ".join(p.replace("_", " ") for p in parts))
    if len(sides) == 1 and sides <= {"left", "right"}:
        return ("L " if sides == {"left"} else "R ") + name
    return name


# --------------------------------------------------------------- 3D skeleton
def _display_xyz(track: PoseTrack) -> np.ndarray:
    """world_m in a y-up frame for display: camera frame (y down, z away) is turned 180 deg about x."""
    if track.world_m is None:
        raise ValueError("a 3D view needs world_m")
    w = track.world_m
    if track.frame == "camera":
        w = w * np.array([1.0, -1.0, -1.0])
    return w


def _bone_lines(xyz: np.ndarray, keypoints: Sequence[str]) -> tuple[list, list, list]:
    idx = {k: i for i, k in enumerate(keypoints)}
    xs, ys, zs = [], [], []
    for a, b in SKELETON_EDGES:
        if a in idx and b in idx:
            pa, pb = xyz[idx[a]], xyz[idx[b]]
            if np.isfinite(pa).all() and np.isfinite(pb).all():
                xs += [float(pa[0]), float(pb[0]), None]
                ys += [float(pa[1]), float(pb[1]), None]
                zs += [float(pa[2]), float(pb[2]), None]
    return xs, ys, zs


def _joint_pts(xyz: np.ndarray) -> tuple[list, list, list]:
    ok = np.isfinite(xyz).all(-1)
    p = np.where(ok[:, None], xyz, np.nan)
    conv = lambda a: [None if not np.isfinite(v) else round(float(v), 4) for v in a]  # noqa: E731
    return conv(p[:, 0]), conv(p[:, 1]), conv(p[:, 2])


def aligned_frame_pairs(n_reference: int, n_attempt: int, *, path: np.ndarray | None = None,
                        max_frames: int = 80, distinct_reference: bool = False) -> np.ndarray:
    """Rows ``(reference_frame, attempt_frame)`` to show together, at most ``max_frames`` of them.

    With a DTW ``path`` (L, 2) its rows are used (subsampled evenly); without,
    both clips are stretched to the same normalised time. ``distinct_reference``
    keeps one row per reference frame (the first the path matches), so the
    reference's time strictly increases from row to row (a time slider then
    never repeats a tick).
    """
    if path is not None:
        p = np.asarray(path, dtype=int)
        if distinct_reference and len(p):
            p = p[np.unique(p[:, 0], return_index=True)[1]]
    else:
        n = max(n_reference, n_attempt)
        u = np.linspace(0, 1, n)
        p = np.stack([np.round(u * (n_reference - 1)), np.round(u * (n_attempt - 1))], 1).astype(int)
    if len(p) > max_frames:
        p = p[np.round(np.linspace(0, len(p) - 1, max_frames)).astype(int)]
    return p


def animate_skeleton_3d(tracks: Sequence[PoseTrack], names: Sequence[str] | None = None, *,
                        path: np.ndarray | None = None, max_frames: int = 80, offset_m: float = 0.0,
                        frame_duration_ms: int = 60, title: str | None = None) -> go.Figure:
    """Animated 3D skeletons with a play button and a time slider, y up.

    Parameters
    ----------
    tracks : sequence of PoseTrack (1 or 2 for a DTW-aligned view)
        ``world_m`` in frame ``body`` (or ``lab``; a ``camera`` track is
        turned to y up for display).
    names : sequence of str, optional
    path : ndarray, shape (L, 2), int, optional
        DTW path ``(reference_frame, attempt_frame)`` aligning tracks[0] and
        tracks[1]; without it both are stretched to the same duration.
    max_frames : int
        Animation frames kept (evenly subsampled).
    offset_m : float
        Shift of each further track along x, metres (0 overlays them).
    frame_duration_ms : int
    title : str, optional
        Put before each frame's title, which gives every clip's time (seconds from its start).

    Returns
    -------
    plotly Figure with ``frames``, a play/pause button and a slider. With a
    ``path``, one frame per reference frame matched (the slider, labelled with
    the reference's time, never repeats a tick).
    """
    tracks = list(tracks)
    if not tracks:
        raise ValueError("animate_skeleton_3d needs at least one track")
    names = list(names) if names is not None else [f"track {i}" for i in range(len(tracks))]
    xyz = [_display_xyz(t) + np.array([offset_m * i, 0.0, 0.0]) for i, t in enumerate(tracks)]
    if len(tracks) >= 2:
        pairs = aligned_frame_pairs(tracks[0].n_frames, tracks[1].n_frames, path=path, max_frames=max_frames,
                                    distinct_reference=True)
        idx = [pairs[:, 0], pairs[:, 1]] + [
            np.round(np.linspace(0, t.n_frames - 1, len(pairs))).astype(int) for t in tracks[2:]]
    else:
        n = min(max_frames, tracks[0].n_frames)
        idx = [np.round(np.linspace(0, tracks[0].n_frames - 1, n)).astype(int)]
    n_steps = len(idx[0])

    def traces(step: int) -> list:
        out = []
        for k, (w, t) in enumerate(zip(xyz, tracks)):
            f = int(idx[k][step])
            col = TRACK_COLORS[k % len(TRACK_COLORS)]
            lx, ly, lz = _bone_lines(w[f], t.keypoints)
            out.append(go.Scatter3d(x=lx, y=ly, z=lz, mode="lines", line=dict(color=col, width=6),
                                    name=names[k], legendgroup=names[k], hoverinfo="skip"))
            px, py, pz = _joint_pts(w[f])
            out.append(go.Scatter3d(x=px, y=py, z=pz, mode="markers", marker=dict(size=3, color=col),
                                    name=names[k], legendgroup=names[k], showlegend=False,
                                    hovertext=[f"{names[k]} {n.replace('_', ' ')}" for n in t.keypoints],
                                    hoverinfo="text"))
        return out

    allpts = np.concatenate([w[i].reshape(-1, 3) for w, i in zip(xyz, idx)])
    allpts = allpts[np.isfinite(allpts).all(-1)]
    lo, hi = (allpts.min(0), allpts.max(0)) if len(allpts) else (np.full(3, -1.0), np.full(3, 1.0))
    centre, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2 + 0.1
    rng = [[float(c - half), float(c + half)] for c in centre]

    def clip_time_s(k: int, step: int) -> float:
        return float(tracks[k].time_s[int(idx[k][step])] - tracks[k].time_s[0])

    def label(step: int) -> str:
        return " | ".join(f"{names[k]} {clip_time_s(k, step):.2f} s" for k in range(len(tracks)))

    def heading(step: int) -> str:
        return f"{title}: {label(step)}" if title else label(step)

    frames = [go.Frame(data=traces(s), name=str(s), layout=dict(title=_title(heading(s))))
              for s in range(n_steps)]
    fig = go.Figure(data=traces(0), frames=frames)
    slider = dict(active=0, x=0, len=1, y=0, yanchor="top", pad=dict(t=48, b=0, l=0, r=10), font=dict(size=9),
                  currentvalue=dict(prefix=f"{names[0]}'s time (s): ", font=dict(size=12)),
                  steps=[dict(method="animate", label=f"{clip_time_s(0, s):.2f}",
                              args=[[str(s)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                  transition=dict(duration=0))])
                         for s in range(n_steps)])
    play = dict(type="buttons", direction="left", showactive=False, x=0.0, y=0, xanchor="left", yanchor="top",
                pad=dict(t=6, r=4),
                buttons=[dict(label="Play", method="animate",
                              args=[None, dict(frame=dict(duration=frame_duration_ms, redraw=True),
                                               fromcurrent=True, transition=dict(duration=0))]),
                         dict(label="Pause", method="animate",
                              args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])
    frame_name = tracks[0].frame
    axis = dict(nticks=4, tickfont=dict(size=10), title_font=dict(size=12))
    fig.update_layout(
        title=_title(heading(0)), updatemenus=[play], sliders=[slider], height=600, template="plotly_white",
        margin=dict(l=10, r=10, t=_top_margin_px(heading(0), legend=True), b=130),
        scene=dict(xaxis=dict(axis, title=dict(text="x, left (m)"), range=rng[0]),
                   yaxis=dict(axis, title=dict(text="y, up (m)"), range=rng[1]),
                   zaxis=dict(axis, title=dict(text="z, front (m)" if frame_name == "body" else "z (m)"),
                              range=rng[2]),
                   aspectmode="cube",
                   # far enough that every axis title stays inside the scene on a 390 px phone
                   camera=dict(up=dict(x=0, y=1, z=0), eye=dict(x=1.45, y=0.7, z=2.3))),
        legend=_legend_above())
    return fig


# ------------------------------------------------------------ angles and DTW
def plot_joint_angles(reference: Mapping[str, np.ndarray], attempt: Mapping[str, np.ndarray], *,
                      path: np.ndarray | None = None, reference_time_s: np.ndarray | None = None,
                      attempt_time_s: np.ndarray | None = None, names: tuple[str, str] = ("coach", "player"),
                      units: str = "deg", title: str | None = None) -> go.Figure:
    """Joint-angle curves of both clips after DTW alignment.

    Parameters
    ----------
    reference, attempt : mapping angle name -> ndarray (T_ref,) / (T_att,)
        Angles per frame (e.g. degrees); the same names in both.
    path : ndarray, shape (L, 2), int, optional
        DTW path ``(reference_frame, attempt_frame)``. Without it both are
        stretched to the same length.
    reference_time_s, attempt_time_s : ndarray, optional
        Frame times of each clip (seconds from its start). With them the x axis
        is the reference's time and the hover gives both clips' times; without,
        the x axis is the path step (or the normalised time).
    names : (str, str)
        Legend labels.

    Returns
    -------
    plotly Figure, one row per angle.
    """
    keys = [k for k in reference if k in attempt]
    if not keys:
        raise ValueError("no angle is in both reference and attempt")
    n_ref = len(next(iter(reference.values())))
    n_att = len(next(iter(attempt.values())))
    pairs = aligned_frame_pairs(n_ref, n_att, path=path, max_frames=10 ** 9)
    if reference_time_s is not None and attempt_time_s is not None:
        x = np.asarray(reference_time_s, dtype=float)[pairs[:, 0]]
        other = np.asarray(attempt_time_s, dtype=float)[pairs[:, 1]]
        x_title = f"{names[0]}'s time (s)"
        hover = (f"%{{fullData.name}}: %{{y:.0f}} {units}<br>{names[0]} %{{x:.2f}} s, "
                 f"{names[1]} %{{customdata:.2f}} s<extra></extra>")
    else:
        x, other, hover = np.arange(len(pairs)), None, None
        x_title = "aligned step (DTW path)" if path is not None else "normalised time"
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True, subplot_titles=[wrap_title(k) for k in keys],
                        vertical_spacing=min(0.08, 0.3 / max(1, len(keys))))
    for r, k in enumerate(keys, start=1):
        a = np.asarray(reference[k], dtype=float)[pairs[:, 0]]
        b = np.asarray(attempt[k], dtype=float)[pairs[:, 1]]
        fig.add_trace(go.Scatter(x=x, y=a, mode="lines", name=names[0], legendgroup=names[0], customdata=other,
                                 hovertemplate=hover, showlegend=r == 1, line=dict(color=TRACK_COLORS[0])),
                      row=r, col=1)
        fig.add_trace(go.Scatter(x=x, y=b, mode="lines", name=names[1], legendgroup=names[1], customdata=other,
                                 hovertemplate=hover, showlegend=r == 1, line=dict(color=TRACK_COLORS[1])),
                      row=r, col=1)
        fig.update_yaxes(title_text=units, row=r, col=1)
    fig.update_xaxes(title_text=x_title, row=len(keys), col=1)
    heading = title or "Joint angles after alignment"
    fig.update_layout(title=_title(heading), height=max(300, 180 * len(keys)) + 60, template="plotly_white",
                      legend=_legend_below(), margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False) + 20,
                                                          b=110))
    return fig


def plot_angle_bands(curves: Mapping[str, object], *, titles: Mapping[str, str] | None = None,
                     names: tuple[str, str] = ("coach", "player"), z: float = 1.96,
                     title: str | None = None) -> go.Figure:
    """Both clips' joint-angle curves along the matched time, each inside its uncertainty band.

    Parameters
    ----------
    curves : mapping joint -> DataFrame
        Columns ``reference_time_s`` (the x axis: the coach's clip time of each
        matched step, seconds), ``reference_deg``, ``attempt_deg`` and each
        step's standard error ``reference_se_deg``, ``attempt_se_deg`` (degrees;
        e.g. :func:`lab.score.deviation.collect_angle_curves`); optionally
        ``attempt_time_s`` (the player's matched time, shown in the hover).
    titles : mapping joint -> str, optional
        Each row's title (default the joint name).
    names : (str, str)
        Legend labels of the two clips.
    z : float
        Half-width of a band in standard errors (1.96: 95% of one step's
        measurement error). Where the bands overlap, the two clips may not differ at all.

    Returns
    -------
    plotly Figure, one row per joint: per clip a band (a lower edge, then an
    upper edge filled to it, ``name`` "<clip> 95% band") and the curve.
    """
    keys = list(curves)
    if not keys:
        raise ValueError("no curve to plot")
    titles = {k: (titles or {}).get(k, k.replace("_", " ")) for k in keys}
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True,
                        subplot_titles=[wrap_title(titles[k]) for k in keys],
                        vertical_spacing=min(0.1, 0.4 / max(1, len(keys))))
    fills = ("rgba(31,119,180,0.18)", "rgba(214,39,40,0.15)")
    pct = f"{100 * (2 * _normal_cdf(z) - 1):.0f}%"
    for r, k in enumerate(keys, start=1):
        c = curves[k]
        t = [round(float(v), 4) for v in np.asarray(c["reference_time_s"], dtype=float)]
        other = ([round(float(v), 4) for v in np.asarray(c["attempt_time_s"], dtype=float)]
                 if "attempt_time_s" in c else None)
        hover = (f"%{{fullData.name}}: %{{y:.0f}} deg<br>{names[0]} %{{x:.2f}} s"
                 + (f", {names[1]} %{{customdata:.2f}} s" if other is not None else "") + "<extra></extra>")
        for i, clip in enumerate(("reference", "attempt")):
            y = np.asarray(c[f"{clip}_deg"], dtype=float)
            half = z * np.asarray(c[f"{clip}_se_deg"], dtype=float)
            group = names[i]
            band = f"{names[i]} {pct} band"
            conv = lambda a: [None if not np.isfinite(v) else round(float(v), 3) for v in a]  # noqa: E731
            fig.add_trace(go.Scatter(x=t, y=conv(y - half), mode="lines", line=dict(width=0), hoverinfo="skip",
                                     name=band, legendgroup=group, showlegend=False), row=r, col=1)
            fig.add_trace(go.Scatter(x=t, y=conv(y + half), mode="lines", line=dict(width=0), fill="tonexty",
                                     fillcolor=fills[i], hoverinfo="skip", name=band, legendgroup=group,
                                     showlegend=r == 1), row=r, col=1)
            fig.add_trace(go.Scatter(x=t, y=conv(y), mode="lines", name=names[i], legendgroup=group,
                                     customdata=other, hovertemplate=hover, showlegend=r == 1,
                                     line=dict(color=TRACK_COLORS[i])), row=r, col=1)
        fig.update_yaxes(title_text="angle (deg)", row=r, col=1)
    fig.update_xaxes(title_text=f"{names[0]}'s time (s)", row=len(keys), col=1)
    heading = title or f"Joint angles, with {pct} bands"
    fig.update_layout(title=_title(heading), height=max(340, 220 * len(keys)) + 80, template="plotly_white",
                      legend=_legend_below(), margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False) + 36,
                                                          b=120))
    return fig


def _normal_cdf(x: float) -> float:
    import math

    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def plot_dtw_path(path: np.ndarray, *, cost: np.ndarray | None = None,
                  reference_time_s: np.ndarray | None = None, attempt_time_s: np.ndarray | None = None,
                  names: tuple[str, str] = ("coach", "player"), title: str | None = None) -> go.Figure:
    """The DTW warping path over the (optional) frame-to-frame cost matrix.

    Parameters
    ----------
    path : ndarray, shape (L, 2), int
        Rows ``(reference_frame, attempt_frame)``.
    cost : ndarray, shape (T_ref, T_att), optional
        Local cost matrix drawn as a heatmap.
    reference_time_s, attempt_time_s : ndarray, optional
        Frame times; axes are in seconds when given, else frame indices.
    """
    p = np.asarray(path, dtype=int)
    tr = np.asarray(reference_time_s) if reference_time_s is not None else None
    ta = np.asarray(attempt_time_s) if attempt_time_s is not None else None
    x = ta[p[:, 1]] if ta is not None else p[:, 1]
    y = tr[p[:, 0]] if tr is not None else p[:, 0]
    fig = go.Figure()
    if cost is not None:
        c = np.asarray(cost, dtype=float)
        fig.add_trace(go.Heatmap(z=c, x=ta if ta is not None else None, y=tr if tr is not None else None,
                                 colorscale="Viridis", colorbar=dict(title="cost"), name="cost"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(color="white" if cost is not None else "#d62728",
                                                               width=3), name="DTW path"))
    unit = "'s time (s)" if tr is not None else "'s frame"
    heading = title or f"Matched times: {names[0]} against {names[1]}"
    fig.update_layout(title=_title(heading), xaxis_title=names[1] + unit, yaxis_title=names[0] + unit,
                      template="plotly_white", height=440, legend=_legend_above(),
                      margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=cost is not None)))
    return fig


# ---------------------------------------------------------------- viewpoints
def _position_of(view) -> np.ndarray:
    for attr in ("position_m", "centre_m", "camera_position_m"):
        if hasattr(view, attr):
            return np.asarray(getattr(view, attr), dtype=float)
    if isinstance(view, Mapping):
        for k in ("position_m", "centre_m", "camera_position_m"):
            if k in view:
                return np.asarray(view[k], dtype=float)
    return np.asarray(view, dtype=float)


def plot_viewpoints(views: Mapping[str, object], *, pose_m: np.ndarray | None = None,
                    keypoints: Sequence[str] | None = None,
                    truth: Mapping[str, object] | None = None, title: str | None = None) -> go.Figure:
    """Each camera's estimated position around the body, seen from above (the body frame's ground plane).

    The subject stands at the origin facing up the page (the green arrow); the
    horizontal axis is the subject's right. Both axes have the same scale and
    are framed so that every camera, its label and the body are inside. Each
    camera's height (y) is in its hover text.

    Parameters
    ----------
    views : mapping name -> camera position
        Position (3,) in metres in the body frame (x = subject's left, y up,
        z = subject's front), or an object/dict with ``position_m`` or
        ``centre_m``.
    pose_m : ndarray, shape (K, 3), optional
        One body-frame pose drawn at the origin (seen from above).
    keypoints : names of ``pose_m``'s rows (default BlazePose).
    truth : mapping name -> position (3,), optional
        Known camera positions, drawn as hollow markers joined to the estimate.

    Returns
    -------
    plotly Figure; each camera's trace is named ``"<name> (azimuth +A deg)"`` and
    drawn at ``(x, y) = (-x_m, z_m)`` (right, front).
    """
    from lab.pose.track import BLAZEPOSE_KEYPOINTS

    def top(q) -> tuple[float, float]:        # (subject's right, subject's front), metres
        return float(-q[0]), float(q[2])

    def where(q) -> str:
        az = float(np.degrees(np.arctan2(q[0], q[2])))
        side = "in front" if abs(az) < 15 else ("behind" if abs(az) > 165 else
                                                f"{abs(az):.0f} deg round to the subject's {'left' if az > 0 else 'right'}")
        return f"{side}, {np.hypot(q[0], q[2]):.1f} m away, {q[1]:+.1f} m above the hips"

    fig = go.Figure()
    pts = [(0.0, 0.0), (0.0, 0.5)]
    if pose_m is not None:
        kp = tuple(keypoints or BLAZEPOSE_KEYPOINTS)
        lx, _ly, lz = _bone_lines(np.asarray(pose_m, dtype=float), kp)
        fig.add_trace(go.Scatter(x=[None if v is None else -v for v in lx], y=lz, mode="lines",
                                 line=dict(color="#444", width=3), name="body, from above", hoverinfo="skip"))
        pts += [(-a, b) for a, b in zip(lx, lz) if a is not None]
    fig.add_trace(go.Scatter(x=[0, 0], y=[0, 0.5], mode="lines+markers", line=dict(color="#2ca02c", width=4),
                             marker=dict(symbol="arrow", size=12, angleref="previous", color="#2ca02c"),
                             name="facing", hoverinfo="skip"))
    names = sorted(views)
    pos = np.array([_position_of(views[n]) for n in names]).reshape(-1, 3)
    for i, n in enumerate(names):
        col = TRACK_COLORS[i % len(TRACK_COLORS)]
        q = pos[i]
        h, v = top(q)
        pts.append((h, v))
        az = float(np.degrees(np.arctan2(q[0], q[2])))
        fig.add_trace(go.Scatter(x=[h, 0], y=[v, 0], mode="lines", line=dict(color=col, width=1, dash="dash"),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[h], y=[v], mode="markers+text", text=[n],
                                 textposition=("middle left" if h > 0 else "middle right"),
                                 marker=dict(size=13, color=col, symbol="diamond"), textfont=dict(color=col),
                                 name=f"{n} (azimuth {az:+.0f} deg)", hovertext=[f"{n}: {where(q)}"],
                                 hoverinfo="text"))
        if truth is not None and n in truth:
            t = _position_of(truth[n])
            th, tv = top(t)
            pts.append((th, tv))
            fig.add_trace(go.Scatter(x=[th, h], y=[tv, v], mode="lines+markers",
                                     marker=dict(size=9, color=col, symbol="circle-open"),
                                     line=dict(color=col, width=1),
                                     name=f"{n} true (azimuth {np.degrees(np.arctan2(t[0], t[2])):+.0f} deg)",
                                     hovertext=[f"{n} true: {where(t)}", ""], hoverinfo="text"))
    xy = np.array([p for p in pts if p[0] is not None and np.isfinite(p).all()], dtype=float)
    lo, hi = xy.min(0), xy.max(0)
    centre = (lo + hi) / 2
    half = float(np.max(hi - lo)) / 2 * 1.25 + 0.6      # room for the labels beside the markers
    heading = title or "Where each camera stood, seen from above"
    fig.update_layout(title=_title(heading), template="plotly_white", height=560, legend=_legend_below(),
                      margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False), b=130),
                      xaxis=dict(title="to the subject's right (m)", range=[centre[0] - half, centre[0] + half],
                                 zeroline=False),
                      yaxis=dict(title="to the subject's front (m)", range=[centre[1] - half, centre[1] + half],
                                 scaleanchor="x", scaleratio=1, zeroline=False))
    return fig


# ----------------------------------------------------------------- threshold
def confusion_at(distances: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, int]:
    """Confusion counts when ``distance <= threshold`` is called "same movement".

    ``labels`` True means the pair really is the same movement.
    """
    d = np.asarray(distances, dtype=float)
    y = np.asarray(labels, dtype=bool)
    pred = d <= threshold
    return dict(tp=int(np.sum(pred & y)), fp=int(np.sum(pred & ~y)),
                fn=int(np.sum(~pred & y)), tn=int(np.sum(~pred & ~y)))


def plot_threshold_explorer(distances: np.ndarray, labels: np.ndarray, *,
                            names: Sequence[str] | None = None, thresholds: np.ndarray | None = None,
                            title: str | None = None) -> go.Figure:
    """A figure whose slider moves the decision threshold (works in static HTML, no kernel).

    Left: ROC curve of "distance <= threshold means same movement", with the
    current operating point. Right: every labelled pair's distance, marked
    by its verdict at the current threshold (o called same, x called
    different; green right, red wrong). Below: confusion counts and accuracy.
    Each slider step updates all of them (Plotly ``update``), so it works in
    an exported HTML page without a kernel.

    Parameters
    ----------
    distances : ndarray, shape (N,)
        Distance of each labelled pair (smaller = more alike).
    labels : ndarray, shape (N,), bool
        True if the pair really is the same movement.
    names : sequence of N str, optional
    thresholds : ndarray, optional
        Slider positions (default 25 evenly spaced over the distances' range).
    """
    d = np.asarray(distances, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if d.shape != y.shape or d.ndim != 1 or d.size == 0:
        raise ValueError("distances and labels must be 1-D of the same non-zero length")
    names = list(names) if names is not None else [f"pair {i}" for i in range(len(d))]
    if thresholds is None:
        lo, hi = float(np.nanmin(d)), float(np.nanmax(d))
        pad = 0.05 * (hi - lo if hi > lo else 1.0)
        thresholds = np.linspace(lo - pad, hi + pad, 25)
    thresholds = np.asarray(thresholds, dtype=float)
    n_pos, n_neg = max(1, int(y.sum())), max(1, int((~y).sum()))
    order = np.argsort(d, kind="stable")
    ds = [float(v) for v in d[order]]
    ys = ["same" if v else "different" for v in y[order]]

    def rates(th: float) -> tuple[float, float]:
        c = confusion_at(d, y, th)
        return c["fp"] / n_neg, c["tp"] / n_pos

    def marks(th: float):
        pred = d[order] <= th
        ok = pred == y[order]
        colors = ["#2ca02c" if o else "#d62728" for o in ok]
        symbols = ["circle" if p else "x" for p in pred]
        text = [f"{names[i]}: d={d[i]:.3g}, called {'same' if p else 'different'} ({'right' if o else 'wrong'})"
                for i, p, o in zip(order, pred, ok)]
        return colors, symbols, text

    def summary(th: float) -> str:
        c = confusion_at(d, y, th)
        acc = (c["tp"] + c["tn"]) / len(d)
        return (f"threshold {th:.3g}: same called same {c['tp']}, different called same {c['fp']}, "
                f"same called different {c['fn']}, different called different {c['tn']}; accuracy {acc:.0%}")

    fine = np.concatenate([[-np.inf], np.sort(d), [np.inf]])
    roc = np.array([rates(t) for t in fine])
    # one above the other, so both stay readable on a phone; the titles say what each mark is
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.24, subplot_titles=(
        wrap_title("ROC, same movement = positive (the red dot: the current threshold)"),
        wrap_title("Labelled pairs by distance: o called same, x called different; green right, red wrong; "
                   "dashed: the threshold")))
    fig.add_trace(go.Scatter(x=roc[:, 0], y=roc[:, 1], mode="lines", line=dict(shape="hv", color="#1f77b4"),
                             name="ROC"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#aaa"),
                             showlegend=False, hoverinfo="skip"), row=1, col=1)
    active = int(len(thresholds) // 2)
    th0 = float(thresholds[active])
    fx, fy = rates(th0)
    colors, symbols, text = marks(th0)
    fig.add_trace(go.Scatter(x=[fx], y=[fy], mode="markers", marker=dict(size=14, color="#d62728"),
                             name="current threshold"), row=1, col=1)  # trace 2
    fig.add_trace(go.Scatter(x=ds, y=ys, mode="markers", marker=dict(size=12, color=colors, symbol=symbols),
                             text=text, hoverinfo="text", name="pairs"), row=2, col=1)  # trace 3
    fig.add_trace(go.Scatter(x=[th0, th0], y=["different", "same"], mode="lines",
                             line=dict(color="#444", dash="dash"), name="threshold"), row=2, col=1)  # trace 4
    fig.update_annotations(font_size=12)
    titles = [a.to_plotly_json() for a in fig.layout.annotations]

    def annotations(th: float) -> list:
        return titles + [dict(text=wrap_title(summary(th), line_chars=52), x=0, xanchor="left", y=-0.19,
                              xref="paper", yref="paper", align="left", showarrow=False, font=dict(size=12))]

    steps = []
    for th in thresholds:
        th = float(th)
        fx, fy = rates(th)
        colors, symbols, text = marks(th)
        steps.append(dict(method="update", label=f"{th:.3g}",
                          args=[{"x": [[fx], ds, [th, th]], "y": [[fy], ys, ["different", "same"]],
                                 "marker.color": ["#d62728", colors, "#444"],
                                 "marker.symbol": ["circle", symbols, "circle"],
                                 "text": [[""], text, ["", ""]]},
                                {"annotations": annotations(th)}, [2, 3, 4]]))
    fig.update_layout(annotations=annotations(th0),
                      sliders=[dict(active=active, currentvalue=dict(prefix="distance threshold: "),
                                    steps=steps, pad=dict(t=90))],
                      title=_title(title or "Threshold explorer: move the slider"), template="plotly_white",
                      height=820, showlegend=False,
                      margin=dict(l=10, r=10, b=220,
                                  t=_top_margin_px(title or "Threshold explorer: move the slider", legend=False) + 40))
    fig.update_xaxes(title_text="false positive rate", range=[-0.02, 1.02], row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", range=[-0.02, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="distance", row=2, col=1)
    return fig


def _source_name(track: PoseTrack) -> str:
    from pathlib import Path

    src = track.meta.get("source")
    return Path(src).name if src else "pose track"


# --------------------------------------------------------------- experiments
#: Legend names of the methods the viewpoint experiment compares (the code names stay in its tables).
METHOD_LABELS = {"ours_lifted": "this tool: 3D body-frame angles, DTW",
                 "just_dance_2d": "2D keypoints (MMPose Just Dance)",
                 "pose_trainer_2d_angles": "2D joint angles (Pose Trainer)",
                 "world_angles_plain_dtw": "MediaPipe 3D angles, plain DTW"}


def plot_auc_by_gap(summary, *, positives: str | None = None, title: str | None = None) -> go.Figure:
    """ROC AUC of each method against the view gap between reference and attempt cameras.

    Parameters
    ----------
    summary : DataFrame with columns ``gap_deg``, ``method``, ``auc`` (and optionally
        ``positives``), e.g. :func:`lab.score.experiments.view_gap_sweep`'s summary.
    positives : str, optional
        Keep only rows with this ``positives`` value.
    """
    df = summary if positives is None else summary[summary["positives"] == positives]
    fig = go.Figure()
    for i, (m, g) in enumerate(df.groupby("method", sort=False)):
        g = g.sort_values("gap_deg")
        fig.add_trace(go.Scatter(x=g["gap_deg"], y=g["auc"], mode="lines+markers", name=METHOD_LABELS.get(str(m), str(m)),
                                 line=dict(color=TRACK_COLORS[i % len(TRACK_COLORS)] if i < 4 else None,
                                           width=4 if "ours" in str(m) else 2)))
    fig.add_hline(y=0.5, line_dash="dot", line_color="#999", annotation_text="chance")
    heading = title or "AUC against the view gap" + (f" ({positives})" if positives else "")
    fig.update_layout(title=_title(heading), xaxis_title="view gap between the cameras (deg)",
                      yaxis_title="ROC AUC", yaxis_range=[0, 1.05], template="plotly_white", height=500,
                      legend=_legend_below(), margin=dict(l=10, r=10, t=_top_margin_px(heading, legend=False),
                                                          b=140))
    return fig
