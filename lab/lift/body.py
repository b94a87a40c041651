"""The canonical body frame, left/right flip repair, mirror detection, and :func:`lift_track`.

Body frame (``PoseTrack.frame == "body"``): metres, origin at the mid-hip of
each frame, y = up (vertical), z = the subject's front, x = the subject's left
(right-handed: z = x cross y).

Choice of rotation: ONE rotation per clip by default (``heading="clip"``). The
vertical is estimated once per clip and the heading is the circular median of
the per-frame facing directions, so a drill with a turn keeps its turn (the
body frame is fixed to where the subject faced on average, not re-aligned every
frame). ``heading="frame"`` re-aligns each frame to its own facing direction
(useful to compare postures regardless of turning). The per-frame heading
relative to the clip heading is kept in ``meta["lift"]["heading_deg"]``.
"""

from __future__ import annotations

import numpy as np

from lab.lift import clean
from lab.lift.circular import circular_median_deg, wrap_deg
from lab.pose.sides import mirror_permutation, mirror_track
from lab.pose.track import PoseTrack


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-12, v / n, np.nan)


def _mid(x: np.ndarray, keypoints: tuple[str, ...], a: str, b: str) -> np.ndarray:
    return (x[..., keypoints.index(a), :] + x[..., keypoints.index(b), :]) / 2


def _nanmedian_rows(v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v).all(-1)
    return np.median(v[ok], axis=0) if ok.any() else np.full(v.shape[-1], np.nan)


def estimate_up_axis(world_m: np.ndarray, keypoints: tuple[str, ...]) -> np.ndarray:
    """Per-clip vertical (unit (3,)) in the track's own axes, from the body.

    The median over frames of the mid-ankle -> mid-hip direction (legs are
    the most vertical long segment of a standing person); frames without
    ankles use mid-hip -> mid-shoulder. Falls back to camera up (0, -1, 0).
    Note: a forward lean or a camera pitch cannot be told apart from one view;
    on the Pose2Sim balancing clip this estimate is 8-12 degrees off gravity.
    """
    hip = _mid(world_m, keypoints, "left_hip", "right_hip")
    ank = _mid(world_m, keypoints, "left_ankle", "right_ankle")
    sho = _mid(world_m, keypoints, "left_shoulder", "right_shoulder")
    legs = _unit(hip - ank)
    trunk = _unit(sho - hip)
    per_frame = np.where(np.isfinite(legs).all(-1, keepdims=True), legs, trunk)
    up = _nanmedian_rows(per_frame)
    if not np.isfinite(up).all() or np.linalg.norm(up) < 1e-6:
        return np.array([0.0, -1.0, 0.0])
    return up / np.linalg.norm(up)


def left_axis(world_m: np.ndarray, keypoints: tuple[str, ...], up: np.ndarray) -> np.ndarray:
    """Per-frame horizontal unit vector to the subject's left (T, 3), from hip and shoulder lines.

    The horizontal right-to-left hip and shoulder vectors are added as they
    are (not normalised first), so each line weighs by its length: the same
    landmark noise tilts a short line more, and MediaPipe's hip landmarks are
    the less stable pair (on the Pose2Sim views its hip width ranges
    0.18-0.23 m between cameras, the shoulder width 0.32-0.34 m).
    """
    def horiz(v):
        return v - (v @ up)[..., None] * up
    hips = horiz(world_m[:, keypoints.index("left_hip")] - world_m[:, keypoints.index("right_hip")])
    shs = horiz(world_m[:, keypoints.index("left_shoulder")] - world_m[:, keypoints.index("right_shoulder")])
    both = np.where(np.isfinite(hips), hips, 0) + np.where(np.isfinite(shs), shs, 0)
    both[~(np.isfinite(hips).all(-1) | np.isfinite(shs).all(-1))] = np.nan
    return _unit(both)


def heading_deg(world_m: np.ndarray, keypoints: tuple[str, ...], up: np.ndarray,
                basis: np.ndarray) -> np.ndarray:
    """Per-frame facing direction as an angle (T,) degrees in the horizontal ``basis`` (2, 3)."""
    front = np.cross(left_axis(world_m, keypoints, up), up)
    return np.degrees(np.arctan2(front @ basis[1], front @ basis[0]))


def horizontal_basis(up: np.ndarray, *, hint: np.ndarray = np.array([1.0, 0.0, 0.0])) -> np.ndarray:
    """Two horizontal unit vectors (2, 3): b0 along ``hint`` made horizontal, b1 = up x b0."""
    b0 = hint - (hint @ up) * up
    if np.linalg.norm(b0) < 1e-6:
        b0 = np.array([0.0, 0.0, 1.0]) - up[2] * up
    b0 = b0 / np.linalg.norm(b0)
    return np.stack([b0, np.cross(up, b0)])


def viewing_rays(track: PoseTrack) -> np.ndarray:
    """Unit ray from the camera through the mid-hip, per frame (T, 3), camera axes.

    Uses the image position of the hips and the default field of view; (0, 0, 1)
    where unknown.
    """
    from lab.pose.camera import intrinsics_from_fov

    T = track.n_frames
    out = np.tile([0.0, 0.0, 1.0], (T, 1))
    w, h = track.meta.get("width"), track.meta.get("height")
    if track.image_px is None or not w or not h:
        return out
    K = intrinsics_from_fov(int(w), int(h))
    hip = _mid(track.image_px, track.keypoints, "left_hip", "right_hip")
    ray = np.stack([(hip[:, 0] - K[0, 2]) / K[0, 0], (hip[:, 1] - K[1, 2]) / K[1, 1], np.ones(T)], -1)
    ray = _unit(ray)
    ok = np.isfinite(ray).all(-1)
    out[ok] = ray[ok]
    return out


def flip_repaired(track: PoseTrack, frames: np.ndarray, *, rays: np.ndarray | None = None) -> PoseTrack:
    """Undo a "seen from behind" flip on the given frames.

    On such frames the left/right labels are swapped (in 2D and 3D) and the
    3D is the depth-mirror of the true pose. The repair swaps every
    left/right pair and reflects the hip-centred 3D across the plane through
    the mid-hip perpendicular to the viewing ray.

    Parameters
    ----------
    track : PoseTrack (frame ``camera``)
    frames : bool (T,) or int indices
    rays : (T, 3) unit viewing rays; default :func:`viewing_rays`.
    """
    sel = np.zeros(track.n_frames, dtype=bool)
    sel[np.asarray(frames)] = True
    if not sel.any():
        return track
    perm = mirror_permutation(track.keypoints)
    rays = viewing_rays(track) if rays is None else rays

    def swap(a):
        if a is None:
            return None
        a = a.copy()
        a[sel] = a[sel][:, perm]
        return a

    world = swap(track.world_m)
    if world is not None:
        hip = _mid(world[sel], track.keypoints, "left_hip", "right_hip")
        v = rays[sel][:, None, :]
        rel = world[sel] - hip[:, None]
        world[sel] = hip[:, None] + rel - 2 * (rel * v).sum(-1, keepdims=True) * v
    z = swap(track.image_z)
    if z is not None:
        z[sel] = -z[sel]
    return track.replace(image_px=swap(track.image_px), world_m=world, visibility=swap(track.visibility),
                         presence=swap(track.presence), image_z=z, meta=dict(track.meta))


def detect_flips(track: PoseTrack, *, up: np.ndarray | None = None, margin_deg: float = 30.0,
                 repair_cost_deg_per_s: float = 60.0, max_gap_s: float = 0.25,
                 rays: np.ndarray | None = None) -> np.ndarray:
    """Frames whose 3D facing is a front/back flip of its neighbours' (bool (T,)).

    A MediaPipe flip is a jump: from one frame to the next the facing
    direction leaps by about ``180 - 2 * off-axis angle`` degrees, and leaps
    back when the flip ends. A real turn, however fast (a hop with a spin),
    is continuous at the frame rate. Each frame has two readings of its
    heading: as given, and as repaired (:func:`flip_repaired`), which is the
    given heading mirrored across the line of sight. The labelling (repaired
    or not, per frame) is chosen by dynamic programming (two-state Viterbi)
    to minimise

        sum over consecutive frames of |heading change|
        + ``margin_deg`` per change of reading (into or out of a repaired run)
        + ``repair_cost_deg_per_s`` per second of repaired frames.

    Inside a run both readings are equally smooth (mirror images), so only
    the run's ends decide: a run is repaired when each end removes a jump of
    more than ``margin_deg`` (plus the small per-second cost, which keeps the
    as-given reading when continuity cannot tell, e.g. which of two readings
    the whole clip is in). Nothing depends on the clip's average facing or a
    time window: the window-median consensus used before flagged up to a
    third of the frames of flip-free synthetic views of a hop with turns. A
    flip seen side-on (facing across the line of sight) barely moves the
    heading and is not detectable from it; nor is a clip flipped throughout.

    Parameters
    ----------
    track : PoseTrack
        Frame ``camera``.
    up : (3,) vertical in camera axes; default :func:`estimate_up_axis`.
    margin_deg : float
        Heading jump (degrees) a repair must remove at each end of a run.
    repair_cost_deg_per_s : float
        Prior against repairing, degrees per second of repaired frames
        (a run whose ends each remove a 150 degree jump is still repaired if
        it lasts up to about 4 s).
    max_gap_s : float
        Frames without a heading for longer than this break the chain: no
        continuity is assumed across (each side is solved on its own).
    rays : (T, 3) unit viewing rays in camera axes; default :func:`viewing_rays`.
    """
    T = track.n_frames
    if track.world_m is None or T == 0:
        return np.zeros(T, dtype=bool)
    kp = track.keypoints
    up = estimate_up_axis(track.world_m, kp) if up is None else up
    rays = viewing_rays(track) if rays is None else rays
    basis = horizontal_basis(up)
    th = heading_deg(track.world_m, kp, up, basis)
    # The repaired frame's heading is the given one mirrored across the line of sight (the
    # vertical plane through the horizontal viewing ray; exact for a level camera). Taken
    # analytically so the two readings of a run differ by the reflection only, not by noise.
    ray_deg = np.degrees(np.arctan2(rays @ basis[1], rays @ basis[0]))
    th_alt = wrap_deg(2 * ray_deg + 180.0 - th)
    flips = np.zeros(T, dtype=bool)
    valid = np.isfinite(th) & np.isfinite(th_alt)
    if not valid.any():
        return flips
    fps = track.fps if np.isfinite(track.fps) and track.fps > 0 else 30.0
    t = np.asarray(track.time_s, dtype=float)
    if not np.isfinite(t).all():
        t = np.arange(T) / fps
    idx = np.flatnonzero(valid)
    # chains of frames with a heading whose gaps are short enough for continuity
    for chain in np.split(idx, np.flatnonzero(np.diff(t[idx]) > max_gap_s) + 1):
        flips[chain] = _viterbi_readings(th[chain], th_alt[chain], switch_cost_deg=margin_deg,
                                         repair_cost_deg=repair_cost_deg_per_s / fps)
    # a frame without a heading inside a repaired run (short gap) is repaired with it
    frames = np.arange(T)
    prev = np.maximum.accumulate(np.where(valid, frames, -1))
    nxt = np.minimum.accumulate(np.where(valid, frames, T)[::-1])[::-1]
    inside = ~valid & (prev >= 0) & (nxt < T)
    inside[inside] &= t[nxt[inside]] - t[prev[inside]] <= max_gap_s
    flips[inside] = flips[prev[inside]] & flips[nxt[inside]]
    return flips


def _viterbi_readings(th: np.ndarray, th_alt: np.ndarray, *, switch_cost_deg: float,
                      repair_cost_deg: float) -> np.ndarray:
    """Two-state Viterbi over frames: the given (0) or repaired (1) heading reading.

    Parameters
    ----------
    th, th_alt : (n,) headings of the two readings, degrees (finite).
    switch_cost_deg : float, cost of a change of reading.
    repair_cost_deg : float, cost of each frame in reading 1.

    Returns
    -------
    bool (n,), True where reading 1 minimises summed absolute wrapped heading
    change + the two costs.
    """
    n = len(th)
    obs = np.stack([th, th_alt], axis=1)                                # (n, 2)
    unary = np.array([0.0, repair_cost_deg])
    switch = np.array([[0.0, switch_cost_deg], [switch_cost_deg, 0.0]])   # [from, to]
    cost = unary.copy()
    back = np.zeros((n, 2), dtype=np.int8)
    for f in range(1, n):
        total = cost[:, None] + np.abs(wrap_deg(obs[f][None, :] - obs[f - 1][:, None])) + switch
        back[f] = np.argmin(total, axis=0)
        cost = total[back[f], [0, 1]] + unary
    state = np.zeros(n, dtype=np.int8)
    state[-1] = int(np.argmin(cost))
    for f in range(n - 1, 0, -1):
        state[f - 1] = back[f, state[f]]
    return state.astype(bool)


def _unresolved_flips(track: PoseTrack, *, up: np.ndarray, rays: np.ndarray,
                      margin_deg: float = 30.0) -> np.ndarray:
    """Frames that look flipped relative to the clip's circular-median heading (bool (T,))."""
    basis = horizontal_basis(up)
    th = heading_deg(track.world_m, track.keypoints, up, basis)
    alt = flip_repaired(track, np.arange(track.n_frames), rays=rays)
    th_alt = heading_deg(alt.world_m, track.keypoints, up, basis)
    c = circular_median_deg(th)
    if not np.isfinite(c):
        return np.zeros(track.n_frames, dtype=bool)
    d0, d1 = np.abs(wrap_deg(th - c)), np.abs(wrap_deg(th_alt - c))
    return np.isfinite(d0) & np.isfinite(d1) & (d1 + margin_deg < d0)


def detect_mirrored(track: PoseTrack, *, ratio: float = 0.7) -> tuple[bool, float]:
    """Is the picture mirrored relative to the 3D landmarks?

    Catches 2D landmarks mirrored after the 3D was made (a picture flipped
    for display, a mix of tracks), where the image left/right ordering
    contradicts the 3D. It does NOT catch a video filmed mirrored (selfie
    camera): MediaPipe then reports a consistent mirror-image person (2D and
    3D agree; measured on Pose2Sim cam01 flipped), which one clip cannot tell
    from a person moving the other way; :func:`detect_mirrored_against`
    tells it by comparison with the coach's movement.
    Per frame, the 3D (x, y) is fitted to the 2D by a rotation + scale
    (Procrustes, no reflection) as given and with x negated; the clip is
    mirrored when the negated fit is better (error below ``ratio`` times the
    direct fit's) on most frames.

    Returns
    -------
    mirrored : bool
    fraction : float, share of usable frames where the mirrored fit won.
    """
    if track.image_px is None or track.world_m is None or track.frame != "camera":
        return False, 0.0
    core = [track.index(k) for k in ("left_shoulder", "right_shoulder", "left_hip", "right_hip",
                                     "left_knee", "right_knee", "left_ankle", "right_ankle",
                                     "left_elbow", "right_elbow", "left_wrist", "right_wrist", "nose")
            if k in track.keypoints]
    won, used = 0, 0
    for f in range(track.n_frames):
        a = track.world_m[f, core, :2]
        b = track.image_px[f, core]
        ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
        if ok.sum() < 5:
            continue
        e0 = _procrustes_2d_error(a[ok], b[ok])
        e1 = _procrustes_2d_error(a[ok] * [-1, 1], b[ok])
        used += 1
        won += e1 < ratio * e0
    frac = won / used if used else 0.0
    return bool(frac > 0.5), float(frac)


def _procrustes_2d_error(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean(0)
    b = b - b.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    if np.linalg.det(u @ vt) < 0:
        s[-1] = -s[-1]
    scale = s.sum() / max((a ** 2).sum(), 1e-12)
    # residual of the best rotation+scale fit, relative to b's spread
    res = (b ** 2).sum() - scale * s.sum()
    return float(max(res, 0.0) / max((b ** 2).sum(), 1e-12))


def canonical_rotation(up: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) whose rows are the body axes (left, up, front) in the input axes."""
    up = up / np.linalg.norm(up)
    f = front - (front @ up) * up
    f = f / np.linalg.norm(f)
    left = np.cross(up, f)
    return np.stack([left, up, f])


def lift_track(track: PoseTrack, *, cutoff_hz: float = 6.0, max_gap_s: float = 0.2,
               hampel_window_s: float = 0.2, hampel_n_sigmas: float = 3.0,
               heading: str = "clip", repair_flips: bool = True, enforce_bones: bool = True,
               filled_confidence: float = 0.5, flipped_confidence: float = 0.8) -> PoseTrack:
    """Clean 3D track in the canonical body frame, from a MediaPipe (``camera``) or mocap (``lab``) track.

    Steps: (1) left/right + front/back flips repaired (``camera`` tracks;
    :func:`detect_flips`), (2) Hampel outliers removed, (3) gaps up to
    ``max_gap_s`` interpolated, (4) zero-lag Butterworth low-pass at
    ``cutoff_hz`` on each unbroken stretch, (5) rotation into the body frame
    (per-clip vertical and heading; see the module docstring), (6) bone
    lengths held at their clip medians along the kinematic tree.

    Parameters
    ----------
    track : PoseTrack
        Frame ``camera`` (MediaPipe world landmarks) or ``lab`` (mocap, y up).
    cutoff_hz : float
        Low-pass cut-off, Hz.
    max_gap_s : float
        Longest run of missing/outlier samples to fill, seconds.
    hampel_window_s, hampel_n_sigmas : float
        Outlier window (seconds) and threshold (robust sigmas).
    heading : {"clip", "frame"}
        One rotation for the clip (turns stay visible) or one per frame.
    repair_flips : bool
    enforce_bones : bool
    filled_confidence, flipped_confidence : float
        Factors applied to ``visibility`` of interpolated / flip-repaired samples.

    Returns
    -------
    PoseTrack
        Frame ``body``; ``image_px`` kept (with repaired labels);
        ``meta["lift"]`` holds ``up_axis`` and ``rotation`` (clip rotation,
        rows = body axes in the input axes), ``heading_deg`` (T,) per-frame
        heading relative to the clip, ``flipped_frames``, ``mirrored``,
        ``bone_lengths_m``, ``root_m`` (T, 3) mid-hip in the rotated input
        axes (the translation removed from ``world_m``), and the parameters.
    """
    if track.world_m is None:
        from lab.io import LabError
        raise LabError("this pose track has no 3D landmarks to lift", exit_code=4)
    if track.frame == "body":
        return track
    if track.n_frames == 0 or not np.isfinite(track.world_m).any():
        from lab.io import LabError
        raise LabError("this pose track has no frame with a person: nothing to lift", exit_code=4)
    if heading not in ("clip", "frame"):
        raise ValueError(f"heading must be 'clip' or 'frame', not {heading!r}")
    kp = track.keypoints
    fps = track.fps if np.isfinite(track.fps) else 30.0
    flips = np.zeros(track.n_frames, dtype=bool)
    unresolved = np.zeros(track.n_frames, dtype=bool)
    mirrored, mirror_frac = False, 0.0
    if track.frame == "lab":
        up = np.array([0.0, 1.0, 0.0])
    else:
        up0 = estimate_up_axis(track.world_m, kp)
        if repair_flips:
            rays = viewing_rays(track)
            flips = detect_flips(track, up=up0, rays=rays)
            track = flip_repaired(track, flips, rays=rays)
        mirrored, mirror_frac = detect_mirrored(track)
        up = estimate_up_axis(track.world_m, kp)
        unresolved = _unresolved_flips(track, up=up, rays=viewing_rays(track))

    x = np.array(track.world_m, dtype=np.float64, copy=True)
    vis = np.array(track.visibility, dtype=np.float64, copy=True)
    # outliers are judged per joint on the hip-centred positions (the root moves for mocap)
    hip = _mid(x, kp, "left_hip", "right_hip")
    rel = x - hip[:, None]
    out = clean.reject_outliers_hampel(rel, window_s=hampel_window_s, fps=fps,
                                       n_sigmas=hampel_n_sigmas).any(-1)
    x[out] = np.nan
    x, filled = clean.interpolate_gaps(x, max_gap_s=max_gap_s, fps=fps)
    filled = filled.any(-1)
    x = clean.lowpass_filter(x, cutoff_hz=cutoff_hz, fps=fps)

    basis = horizontal_basis(up)
    th = heading_deg(x, kp, up, basis)
    th_clip = circular_median_deg(th)
    if not np.isfinite(th_clip):
        th_clip = 0.0
    front_clip = np.cos(np.radians(th_clip)) * basis[0] + np.sin(np.radians(th_clip)) * basis[1]
    R_clip = canonical_rotation(up, front_clip)
    hip = _mid(x, kp, "left_hip", "right_hip")
    rel = x - hip[:, None]
    if heading == "clip":
        body = rel @ R_clip.T
    else:
        body = np.full_like(rel, np.nan)
        for f in range(len(rel)):
            if np.isfinite(th[f]):
                fr = np.cos(np.radians(th[f])) * basis[0] + np.sin(np.radians(th[f])) * basis[1]
                body[f] = rel[f] @ canonical_rotation(up, fr).T
    lengths = clean.measure_bone_lengths(body, kp)
    if enforce_bones:
        body = clean.enforce_bone_lengths(body, kp, lengths_m=lengths)

    vis = np.where(filled, vis * filled_confidence, vis)
    vis[flips] *= flipped_confidence
    vis[~np.isfinite(body).all(-1)] = 0.0
    rel_heading = wrap_deg(th - th_clip)
    meta = dict(track.meta)
    meta["lift"] = {
        "source_frame": track.frame,
        "up_axis": up.tolist(),
        "rotation": R_clip.tolist(),
        "heading": heading,
        "heading_deg": [None if not np.isfinite(v) else float(v) for v in rel_heading],
        "flipped_frames": np.flatnonzero(flips).tolist(),
        # frames that still face the other way from the clip after repair (a
        # front/back mix that could not be settled) plus the repaired ones
        "front_back_conflict": float((flips | unresolved).mean()) if len(flips) else 0.0,
        "mirrored": mirrored, "mirrored_fraction": mirror_frac,
        "outlier_samples": int(out.sum()), "filled_samples": int(filled.sum()),
        "bone_lengths_m": {f"{p}->{c}": v for (p, c), v in lengths.items()},
        "root_m": np.where(np.isfinite(hip), hip @ R_clip.T, None).tolist(),
        "cutoff_hz": cutoff_hz, "max_gap_s": max_gap_s,
        "hampel_window_s": hampel_window_s, "hampel_n_sigmas": hampel_n_sigmas,
    }
    return track.replace(world_m=body, visibility=vis, frame="body", meta=meta)


def face_forward(body: PoseTrack) -> PoseTrack:
    """``body`` (frame ``body``) turned about its vertical so that it faces the front (+z) on average.

    :func:`lift_track` takes the heading over the whole clip, so a stretch cut
    from a clip in which the person turns faces wherever the clip did on
    average. Turned by the circular median of its own headings, the stretch is
    in the same convention as a short stretch lifted on its own (what a live
    stream's lifting sees). ``meta["lift"]["rotation"]`` is turned with it.
    """
    if body.frame != "body" or body.world_m is None:
        raise ValueError("face_forward needs a track in frame 'body'")
    up = np.array([0.0, 1.0, 0.0])
    basis = horizontal_basis(up)
    th = circular_median_deg(heading_deg(body.world_m, body.keypoints, up, basis))
    if not np.isfinite(th):
        return body
    front = np.cos(np.radians(th)) * basis[0] + np.sin(np.radians(th)) * basis[1]
    R = canonical_rotation(up, front)
    meta = dict(body.meta)
    lift = dict(meta.get("lift") or {})
    if lift.get("rotation") is not None:
        lift["rotation"] = (R @ np.asarray(lift["rotation"], dtype=float)).tolist()
        meta["lift"] = lift
    return body.replace(world_m=body.world_m @ R.T, meta=meta)


def frame_rotations(lifted: PoseTrack) -> np.ndarray:
    """Per-frame rotations (T, 3, 3) from the source track's axes to that frame's own body axes.

    Row i of frame f is body axis i (left, up, front) of frame f, in the axes
    of the track that was lifted (camera axes for MediaPipe, lab axes for
    mocap). With ``heading="clip"`` the lifted ``world_m`` uses the clip
    rotation (``meta["lift"]["rotation"]``); these are the per-frame ones
    (the clip's turned by ``heading_deg``). NaN where the facing was unknown.
    """
    info = lifted.meta.get("lift")
    if not info:
        raise ValueError("not a lifted track (no meta['lift'])")
    R = np.asarray(info["rotation"], dtype=float)
    head = np.array([np.nan if h is None else h for h in info["heading_deg"]], dtype=float)
    out = np.full((len(head), 3, 3), np.nan)
    for f, h in enumerate(head):
        if np.isfinite(h):
            a = np.radians(h)
            # turning by +h (towards the subject's left) about the up axis
            Ry = np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])
            out[f] = Ry @ R
    return out


def lift_mocap(track: PoseTrack, *, cutoff_hz: float = 6.0, heading: str = "clip",
               enforce_bones: bool = True) -> PoseTrack:
    """Canonical body frame for a mocap track (frame ``lab``, y up): same steps as :func:`lift_track`.

    Mocap is clean, so outliers are only those beyond 5 robust sigmas and gaps
    up to 0.1 s are filled. The global translation is removed from
    ``world_m`` (origin = mid-hip per frame) and kept in ``meta["lift"]["root_m"]``.
    """
    if track.frame != "lab":
        raise ValueError(f"lift_mocap expects a frame 'lab' track, got {track.frame!r}")
    return lift_track(track, cutoff_hz=cutoff_hz, max_gap_s=0.1, hampel_n_sigmas=5.0,
                      heading=heading, repair_flips=False, enforce_bones=enforce_bones)


def detect_mirrored_against(lifted: PoseTrack, reference: PoseTrack, *, ratio: float = 0.7,
                            keypoints: tuple[str, ...] = ("left_shoulder", "right_shoulder", "left_elbow",
                                                          "right_elbow", "left_wrist", "right_wrist",
                                                          "left_hip", "right_hip", "left_knee", "right_knee",
                                                          "left_ankle", "right_ankle")) -> tuple[bool, float]:
    """Is ``lifted`` the mirror image of the ``reference`` movement (other side, or a flipped video)?

    A mirrored video is geometrically a real person doing the mirrored
    movement: MediaPipe's 2D and 3D agree with each other (measured on
    Pose2Sim cam01 flipped: its world landmarks equal the original's with x
    negated and labels swapped, 5 cm median), so one clip alone cannot tell.
    Against a reference it can: the clip's mean posture and per-joint range
    of motion (body frame; no time alignment needed) are compared with the
    reference's, as given and mirrored.

    Returns
    -------
    mirrored : bool
        The mirrored version is closer by more than ``ratio``.
    score : float
        distance(mirrored) / distance(as given); near 1 for a left-right
        symmetric movement (then nothing can be said).
    """
    def signature(t):
        idx = [t.index(k) for k in keypoints]
        x = t.world_m[:, idx]
        return np.concatenate([np.nanmean(x, axis=0).ravel(), np.nanstd(x, axis=0).ravel()])
    ref = signature(reference)
    d_direct = np.linalg.norm(signature(lifted) - ref)
    d_mirror = np.linalg.norm(signature(mirror_track(lifted)) - ref)
    score = float(d_mirror / max(d_direct, 1e-12))
    return bool(score < ratio), score
