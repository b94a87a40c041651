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
    fig.update_layout(title=title or f"Pose quality: {_source_name(track)}", height=500,
                      template="plotly_white", legend=dict(orientation="h", y=-0.15))
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
        fig.add_trace(go.Scatter(x=track.time_s, y=v, mode="lines", name=f"{name} (cv {cv:.1f}%)"))
    fig.update_layout(title=title or f"Bone lengths over time ({track.frame} frame)",
                      xaxis_title="time (s)", yaxis_title="length (m)", template="plotly_white", height=450)
    return fig


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
                        max_frames: int = 80) -> np.ndarray:
    """Rows ``(reference_frame, attempt_frame)`` to show together, at most ``max_frames`` of them.

    With a DTW ``path`` (L, 2) its rows are used (subsampled evenly); without,
    both clips are stretched to the same normalised time.
    """
    if path is not None:
        p = np.asarray(path, dtype=int)
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

    Returns
    -------
    plotly Figure with ``frames``, a play/pause button and a slider.
    """
    tracks = list(tracks)
    if not tracks:
        raise ValueError("animate_skeleton_3d needs at least one track")
    names = list(names) if names is not None else [f"track {i}" for i in range(len(tracks))]
    xyz = [_display_xyz(t) + np.array([offset_m * i, 0.0, 0.0]) for i, t in enumerate(tracks)]
    if len(tracks) >= 2:
        pairs = aligned_frame_pairs(tracks[0].n_frames, tracks[1].n_frames, path=path, max_frames=max_frames)
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
                                    name=names[k], legendgroup=names[k]))
            px, py, pz = _joint_pts(w[f])
            out.append(go.Scatter3d(x=px, y=py, z=pz, mode="markers", marker=dict(size=3, color=col),
                                    name=names[k], legendgroup=names[k], showlegend=False,
                                    hovertext=list(t.keypoints), hoverinfo="text"))
        return out

    allpts = np.concatenate([w[i].reshape(-1, 3) for w, i in zip(xyz, idx)])
    allpts = allpts[np.isfinite(allpts).all(-1)]
    lo, hi = (allpts.min(0), allpts.max(0)) if len(allpts) else (np.full(3, -1.0), np.full(3, 1.0))
    centre, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2 + 0.1
    rng = [[float(c - half), float(c + half)] for c in centre]

    def label(step: int) -> str:
        parts = [f"{names[k]} {tracks[k].time_s[int(idx[k][step])]:.2f}s" for k in range(len(tracks))]
        return " | ".join(parts)

    def short(step: int) -> str:
        return f"{tracks[0].time_s[int(idx[0][step])] - tracks[0].time_s[0]:.2f}"

    base_title = title or ("3D skeletons, time-aligned by DTW" if path is not None and len(tracks) > 1
                           else "3D skeleton")
    frames = [go.Frame(data=traces(s), name=str(s), layout=dict(title=dict(text=f"{base_title}: {label(s)}")))
              for s in range(n_steps)]
    fig = go.Figure(data=traces(0), frames=frames)
    slider = dict(active=0, x=0.1, len=0.9, y=0, font=dict(size=8),
                  currentvalue=dict(prefix=f"{names[0]} time (s): ", font=dict(size=12)),
                  steps=[dict(method="animate", label=short(s),
                              args=[[str(s)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                  transition=dict(duration=0))])
                         for s in range(n_steps)])
    play = dict(type="buttons", showactive=False, x=0.0, y=0, xanchor="left", yanchor="top",
                buttons=[dict(label="Play", method="animate",
                              args=[None, dict(frame=dict(duration=frame_duration_ms, redraw=True),
                                               fromcurrent=True, transition=dict(duration=0))]),
                         dict(label="Pause", method="animate",
                              args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])
    frame_name = tracks[0].frame
    fig.update_layout(
        title=dict(text=f"{base_title}: {label(0)}"),
        updatemenus=[play], sliders=[slider], height=650, template="plotly_white",
        scene=dict(xaxis=dict(title="x (m)", range=rng[0]), yaxis=dict(title="y up (m)", range=rng[1]),
                   zaxis=dict(title="z (m)" + (" front" if frame_name == "body" else ""), range=rng[2]),
                   aspectmode="cube",
                   camera=dict(up=dict(x=0, y=1, z=0), eye=dict(x=0.6, y=0.4, z=1.8))),
        legend=dict(orientation="h", y=1.02))
    return fig


# ------------------------------------------------------------ angles and DTW
def plot_joint_angles(reference: Mapping[str, np.ndarray], attempt: Mapping[str, np.ndarray], *,
                      path: np.ndarray | None = None, names: tuple[str, str] = ("coach", "player"),
                      units: str = "deg", title: str | None = None) -> go.Figure:
    """Joint-angle curves of both clips after DTW alignment.

    Parameters
    ----------
    reference, attempt : mapping angle name -> ndarray (T_ref,) / (T_att,)
        Angles per frame (e.g. degrees); the same names in both.
    path : ndarray, shape (L, 2), int, optional
        DTW path ``(reference_frame, attempt_frame)``; the x axis is the
        path step. Without it both are stretched to the same length.
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
    step = np.arange(len(pairs))
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True, subplot_titles=keys,
                        vertical_spacing=min(0.08, 0.3 / max(1, len(keys))))
    for r, k in enumerate(keys, start=1):
        a = np.asarray(reference[k], dtype=float)[pairs[:, 0]]
        b = np.asarray(attempt[k], dtype=float)[pairs[:, 1]]
        fig.add_trace(go.Scatter(x=step, y=a, mode="lines", name=names[0], legendgroup=names[0],
                                 showlegend=r == 1, line=dict(color=TRACK_COLORS[0])), row=r, col=1)
        fig.add_trace(go.Scatter(x=step, y=b, mode="lines", name=names[1], legendgroup=names[1],
                                 showlegend=r == 1, line=dict(color=TRACK_COLORS[1])), row=r, col=1)
        fig.update_yaxes(title_text=units, row=r, col=1)
    fig.update_xaxes(title_text="aligned step (DTW path)" if path is not None else "normalised time",
                     row=len(keys), col=1)
    fig.update_layout(title=title or "Joint angles after alignment", height=max(300, 180 * len(keys)),
                      template="plotly_white")
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
        e.g. :func:`lab.score.deviation.collect_angle_curves`).
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
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True, subplot_titles=[titles[k] for k in keys],
                        vertical_spacing=min(0.08, 0.3 / max(1, len(keys))))
    fills = ("rgba(31,119,180,0.18)", "rgba(214,39,40,0.15)")
    pct = f"{100 * (2 * _normal_cdf(z) - 1):.0f}%"
    for r, k in enumerate(keys, start=1):
        c = curves[k]
        t = [round(float(v), 4) for v in np.asarray(c["reference_time_s"], dtype=float)]
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
                                     showlegend=r == 1, line=dict(color=TRACK_COLORS[i])), row=r, col=1)
        fig.update_yaxes(title_text="deg", row=r, col=1)
    fig.update_xaxes(title_text=f"{names[0]}'s time (s), matched by DTW", row=len(keys), col=1)
    fig.update_layout(title=title or f"Joint angles after alignment, with their {pct} uncertainty bands",
                      height=max(320, 200 * len(keys)), template="plotly_white")
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
    unit = " (s)" if tr is not None else " (frame)"
    fig.update_layout(title=title or "DTW alignment: which coach moment matches each player moment",
                      xaxis_title=names[1] + unit, yaxis_title=names[0] + unit, template="plotly_white",
                      height=450)
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
    """Each camera's estimated position drawn around the 3D model, in the body frame (y up).

    Parameters
    ----------
    views : mapping name -> camera position
        Position (3,) in metres in the body frame (x = subject's left, y up,
        z = subject's front), or an object/dict with ``position_m`` or
        ``centre_m``.
    pose_m : ndarray, shape (K, 3), optional
        One body-frame pose drawn at the origin.
    keypoints : names of ``pose_m``'s rows (default BlazePose).
    truth : mapping name -> position (3,), optional
        Known camera positions, drawn as hollow markers joined to the estimate.
    """
    from lab.pose.track import BLAZEPOSE_KEYPOINTS

    fig = go.Figure()
    if pose_m is not None:
        kp = tuple(keypoints or BLAZEPOSE_KEYPOINTS)
        lx, ly, lz = _bone_lines(np.asarray(pose_m, dtype=float), kp)
        fig.add_trace(go.Scatter3d(x=lx, y=ly, z=lz, mode="lines", line=dict(color="#444", width=5),
                                   name="body (front = +z)"))
        fig.add_trace(go.Scatter3d(x=[0, 0], y=[0, 0], z=[0, 0.5], mode="lines",
                                   line=dict(color="#2ca02c", width=8), name="facing"))
    names = sorted(views)
    pos = np.array([_position_of(views[n]) for n in names]).reshape(-1, 3)
    for i, n in enumerate(names):
        col = TRACK_COLORS[i % len(TRACK_COLORS)]
        p = pos[i]
        fig.add_trace(go.Scatter3d(x=[p[0], 0], y=[p[1], 0], z=[p[2], 0], mode="lines",
                                   line=dict(color=col, width=2, dash="dash"), showlegend=False,
                                   hoverinfo="skip"))
        az = float(np.degrees(np.arctan2(p[0], p[2])))
        fig.add_trace(go.Scatter3d(x=[p[0]], y=[p[1]], z=[p[2]], mode="markers+text", text=[n],
                                   marker=dict(size=7, color=col, symbol="diamond"),
                                   name=f"{n} (azimuth {az:+.0f} deg)"))
        if truth is not None and n in truth:
            q = _position_of(truth[n])
            fig.add_trace(go.Scatter3d(x=[q[0], p[0]], y=[q[1], p[1]], z=[q[2], p[2]], mode="lines+markers",
                                       marker=dict(size=5, color=col, symbol="circle-open"),
                                       line=dict(color=col, width=1),
                                       name=f"{n} true (azimuth {np.degrees(np.arctan2(q[0], q[2])):+.0f} deg)"))
    fig.update_layout(title=title or "Where each camera stood (body frame: +z = subject's front)",
                      template="plotly_white", height=600,
                      scene=dict(xaxis_title="x, subject's left (m)", yaxis_title="y up (m)",
                                 zaxis_title="z, subject's front (m)", aspectmode="data",
                                 camera=dict(up=dict(x=0, y=1, z=0), eye=dict(x=0.2, y=1.6, z=0.8))))
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
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC (same movement = positive)",
                                                        "labelled pairs and verdicts"))
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
                             text=text, hoverinfo="text", name="pairs"), row=1, col=2)  # trace 3
    fig.add_trace(go.Scatter(x=[th0, th0], y=["different", "same"], mode="lines",
                             line=dict(color="#444", dash="dash"), name="threshold"), row=1, col=2)  # trace 4
    titles = [a.to_plotly_json() for a in fig.layout.annotations]

    def annotations(th: float) -> list:
        return titles + [dict(text=summary(th), x=0.5, y=-0.32, xref="paper", yref="paper",
                              showarrow=False, font=dict(size=13))]

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
                      title=title or "Threshold explorer: move the slider", template="plotly_white",
                      height=560, margin=dict(b=160))
    fig.update_xaxes(title_text="false positive rate", range=[-0.02, 1.02], row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", range=[-0.02, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="distance", row=1, col=2)
    return fig


def _source_name(track: PoseTrack) -> str:
    from pathlib import Path

    src = track.meta.get("source")
    return Path(src).name if src else "pose track"


# --------------------------------------------------------------- experiments
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
        fig.add_trace(go.Scatter(x=g["gap_deg"], y=g["auc"], mode="lines+markers", name=str(m),
                                 line=dict(color=TRACK_COLORS[i % len(TRACK_COLORS)] if i < 4 else None,
                                           width=4 if "ours" in str(m) else 2)))
    fig.add_hline(y=0.5, line_dash="dot", line_color="#999", annotation_text="chance")
    fig.update_layout(title=title or "Same/different AUC vs camera view gap" + (f" ({positives})" if positives else ""),
                      xaxis_title="view gap between coach and player cameras (deg)",
                      yaxis_title="ROC AUC", yaxis_range=[0, 1.05], template="plotly_white", height=450)
    return fig
