"""View-invariant movement features: 3D joint angles, body-size-normalised positions, velocities.

Every feature comes with a confidence in [0, 1] per frame that combines the
landmarks' visibility with how well the camera sees that feature: an angle
whose two limbs lie across the image is trusted more than one whose limb points
at the camera (the depth of such a limb is guessed, not seen).

Conventions
-----------
Angles are in degrees, 0 = straight / neutral, named as a coach would read them:
``*_knee`` and ``*_elbow`` and ``*_hip`` are flexion (180 minus the inner
angle), ``*_shoulder`` is arm elevation (angle between trunk and upper arm),
``*_ankle`` is dorsiflexion (inner shank-foot angle minus 90), ``trunk_lean`` is
the angle of the hip-to-shoulder axis from vertical, ``*_hip_abduction`` the
thigh's angle from the body's vertical in the frontal plane, ``neck`` the
head's angle from the trunk axis.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from lab.features.travel import SIGHT_NAMES, TRAVEL_NAMES, compute_travel
from lab.pose.sides import swap_side
from lab.pose.track import PoseTrack

#: name -> (a, vertex, c, kind). Inner angle a-vertex-c; kind says how it is turned
#: into the coach's convention: "flex" = 180 - inner, "inner" = inner, "dorsi" = inner - 90.
JOINT_ANGLES: dict[str, tuple[str, str, str, str]] = {
    "left_knee": ("left_hip", "left_knee", "left_ankle", "flex"),
    "right_knee": ("right_hip", "right_knee", "right_ankle", "flex"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee", "flex"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee", "flex"),
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist", "flex"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist", "flex"),
    "left_shoulder": ("left_hip", "left_shoulder", "left_elbow", "inner"),
    "right_shoulder": ("right_hip", "right_shoulder", "right_elbow", "inner"),
    "left_ankle": ("left_knee", "left_ankle", "left_foot_index", "dorsi"),
    "right_ankle": ("right_knee", "right_ankle", "right_foot_index", "dorsi"),
}

#: The eight limb angles (knees, hips, elbows, shoulders) compared against ground truth
#: and used by the 2D Pose Trainer baseline, as inner angles of :data:`JOINT_ANGLES`.
LIMB_ANGLES: tuple[str, ...] = ("left_knee", "right_knee", "left_hip", "right_hip",
                                "left_elbow", "right_elbow", "left_shoulder", "right_shoulder")

#: Angles that need the body frame (an "up" direction or the frontal plane).
BODY_ANGLES: tuple[str, ...] = ("trunk_lean", "left_hip_abduction", "right_hip_abduction", "neck")

#: Landmarks whose body-frame position (relative to mid-hip, in torso lengths) is a feature.
POSITION_KEYPOINTS: tuple[str, ...] = (
    "left_wrist", "right_wrist", "left_elbow", "right_elbow", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_shoulder", "right_shoulder", "nose",
)

#: How a per-joint difference reads in words: (more, less).
ANGLE_WORDS: dict[str, tuple[str, str]] = {
    "knee": ("bends {d:.0f} degrees more", "bends {d:.0f} degrees less"),
    "elbow": ("bends {d:.0f} degrees more", "bends {d:.0f} degrees less"),
    "hip": ("flexes {d:.0f} degrees more", "flexes {d:.0f} degrees less"),
    "shoulder": ("is raised {d:.0f} degrees higher", "is raised {d:.0f} degrees lower"),
    "ankle": ("flexes {d:.0f} degrees more", "flexes {d:.0f} degrees less"),
    "trunk_lean": ("leans {d:.0f} degrees more", "leans {d:.0f} degrees less"),
    "hip_abduction": ("opens {d:.0f} degrees wider", "opens {d:.0f} degrees less"),
    "neck": ("tilts {d:.0f} degrees more", "tilts {d:.0f} degrees less"),
}


@dataclasses.dataclass
class FeatureSet:
    """Features of one track on its own time base.

    Attributes
    ----------
    time_s : ndarray, shape (T,)
        Seconds.
    values : ndarray, shape (T, F)
        Angles in degrees, positions in torso lengths, velocities per second
        of those. NaN where not measurable.
    confidence : ndarray, shape (T, F)
        In [0, 1]; 0 where the value is NaN.
    names : tuple of str, length F
        ``<angle>`` for angles, ``pos:<landmark>:<x|y|z>`` for positions,
        ``vel:<angle>`` for angular velocities (degrees per second),
        ``travel:<left|up|front>`` for the mid-hip's velocity in the body's axes
        (torso lengths per second, :mod:`lab.features.travel`) and
        ``travel:sight_<left|up|front>`` for the camera's line of sight in them.
    torso_m : float
        Median mid-hip to mid-shoulder length used to normalise positions.
    """

    time_s: np.ndarray
    values: np.ndarray
    confidence: np.ndarray
    names: tuple[str, ...]
    torso_m: float = float("nan")

    def kind(self, name: str) -> str:
        if name.startswith("pos:"):
            return "position"
        if name.startswith("vel:"):
            return "velocity"
        if name.startswith("travel:"):
            return "travel"
        return "angle"

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def select(self, names: tuple[str, ...] | list[str]) -> "FeatureSet":
        idx = [self.names.index(n) for n in names]
        return dataclasses.replace(self, values=self.values[:, idx],
                                   confidence=self.confidence[:, idx], names=tuple(names))

    def to_dataframe(self):
        """Wide table: ``time_s`` then one column per feature (confidence in ``conf:<name>``)."""
        import pandas as pd
        df = pd.DataFrame(self.values, columns=list(self.names))
        df.insert(0, "time_s", self.time_s)
        conf = pd.DataFrame(self.confidence, columns=[f"conf:{n}" for n in self.names])
        return pd.concat([df, conf], axis=1)


# --------------------------------------------------------------------- helpers
def _kp(track: PoseTrack, arr: np.ndarray, name: str) -> np.ndarray:
    """(T, D) coordinates of landmark ``name`` (NaN if the track lacks it)."""
    if name not in track.keypoints:
        return np.full(arr.shape[:1] + arr.shape[2:], np.nan)
    return arr[:, track.index(name)]


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def _angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors (..., 3), degrees, NaN where undefined."""
    cu, cv = _unit(u), _unit(v)
    dot = np.clip(np.sum(cu * cv, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(dot))


def inner_angles_deg(track: PoseTrack, points: np.ndarray, *,
                     names: tuple[str, ...] = LIMB_ANGLES) -> np.ndarray:
    """Inner angles a-vertex-c of :data:`JOINT_ANGLES` (180 = straight), degrees, shape (T, len(names)).

    ``points`` is any (T, K, D) array over ``track.keypoints`` (``image_px``
    for 2D angles, ``world_m`` for 3D ones: these are rotation-invariant).
    NaN where a landmark is missing.
    """
    out = []
    for name in names:
        a, b, c, _kind = JOINT_ANGLES[name]
        pa, pb, pc = (_kp(track, points, k) for k in (a, b, c))
        out.append(_angle_deg(pa - pb, pc - pb))
    return np.stack(out, axis=1) if out else np.empty((points.shape[0], 0))


def _vis(track: PoseTrack, names: tuple[str, ...]) -> np.ndarray:
    """(T,) the least visibility of the landmarks ``names`` (0 if missing)."""
    out = np.ones(track.n_frames)
    for n in names:
        if n not in track.keypoints:
            return np.zeros(track.n_frames)
        v = track.visibility[:, track.index(n)]
        out = np.minimum(out, np.nan_to_num(v, nan=0.0))
    return out


def _foreshortening(vecs_cam: list[np.ndarray]) -> np.ndarray:
    """(T,) how much of the limbs lies across the image: min over limbs of
    sqrt(1 - (limb . camera_axis)^2), 1 = all limbs in the image plane,
    0 = a limb points straight at (or away from) the camera."""
    out = None
    for v in vecs_cam:
        dz = _unit(v)[..., 2]
        f = np.sqrt(np.clip(1.0 - dz ** 2, 0.0, 1.0))
        out = f if out is None else np.fmin(out, f)
    return out


def _view_weight(foreshortening: np.ndarray, *, floor: float) -> np.ndarray:
    return floor + (1.0 - floor) * np.nan_to_num(foreshortening, nan=0.0)


# ------------------------------------------------------------------ body frame
def body_frame_basic(track: PoseTrack) -> PoseTrack:
    """A simple canonical body frame, without any learned lifting.

    Origin mid-hip; y = up (camera frame: -y of the camera, assuming a level
    camera; ``lab`` frame: +y); x = the subject's left (right hip to left hip,
    made horizontal); z = x cross y = the subject's front. Per frame.
    This is the fallback when :mod:`lab.lift` is not available.
    """
    if track.world_m is None:
        raise ValueError("body_frame_basic needs world_m (3D landmarks)")
    if track.frame == "body":
        return track
    W = track.world_m
    up_world = np.array([0.0, -1.0, 0.0]) if track.frame == "camera" else np.array([0.0, 1.0, 0.0])
    lh, rh = _kp(track, W, "left_hip"), _kp(track, W, "right_hip")
    mid = (lh + rh) / 2
    x = lh - rh
    x = x - np.sum(x * up_world, axis=-1, keepdims=True) * up_world
    x = _unit(x)
    y = np.broadcast_to(up_world, x.shape)
    z = np.cross(x, y)
    R = np.stack([x, y, z], axis=1)  # rows = body axes in world coords, (T, 3, 3)
    body = np.einsum("tij,tkj->tki", R, W - mid[:, None, :])
    meta = dict(track.meta)
    meta["body_frame"] = "basic (level-camera up, hip heading)"
    return track.replace(world_m=body, frame="body", meta=meta)


def lift_or_basic(track: PoseTrack, *, lift: bool = True) -> tuple[PoseTrack, str]:
    """Body-frame version of ``track``: :func:`lab.lift.lift_track` when asked and
    available, else :func:`body_frame_basic`. Returns (track, method)."""
    if track.frame == "body":
        return track, "given"
    if lift:
        from lab.lift import lift_track  # lazy: scipy.signal is slow to import and cached runs skip it

        try:
            return lift_track(track), "lift"
        except Exception as exc:  # a failing lift must not stop a comparison
            warnings.warn(f"lift failed ({exc.__class__.__name__}: {exc}); using the basic body frame")
    return body_frame_basic(track), "basic"


# -------------------------------------------------------------------- features
def compute_angles(body: PoseTrack, *, camera: PoseTrack | None = None,
                   view_floor: float = 0.2) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Joint angles of a body-frame track and their confidence.

    Parameters
    ----------
    body : PoseTrack
        Frame ``body`` (see :func:`lift_or_basic`).
    camera : PoseTrack, optional
        The same frames in frame ``camera`` (MediaPipe world landmarks): limb
        directions against the camera axis (0, 0, 1) give the view term of the
        confidence. Without it (mocap), the view term is 1.
    view_floor : float
        Confidence kept for a limb pointing straight at the camera, in [0, 1].

    Returns
    -------
    angles_deg : ndarray, shape (T, A)
    confidence : ndarray, shape (T, A)
    names : tuple of str, length A
    """
    W = body.world_m
    T = body.n_frames
    cams = camera.world_m if (camera is not None and camera.world_m is not None
                              and camera.frame == "camera") else None
    names, vals, confs = [], [], []

    def add(name, value, vis, limbs_cam):
        view = (np.ones(T) if limbs_cam is None
                else _view_weight(_foreshortening(limbs_cam), floor=view_floor))
        conf = vis * view
        conf = np.where(np.isfinite(value), conf, 0.0)
        names.append(name)
        vals.append(value)
        confs.append(conf)

    for name, (a, b, c, kind) in JOINT_ANGLES.items():
        pa, pb, pc = _kp(body, W, a), _kp(body, W, b), _kp(body, W, c)
        inner = _angle_deg(pa - pb, pc - pb)
        value = {"flex": 180.0 - inner, "inner": inner, "dorsi": inner - 90.0}[kind]
        limbs = None if cams is None else [_kp(camera, cams, a) - _kp(camera, cams, b),
                                            _kp(camera, cams, c) - _kp(camera, cams, b)]
        add(name, value, _vis(body, (a, b, c)), limbs)

    up = np.array([0.0, 1.0, 0.0])
    lh, rh = _kp(body, W, "left_hip"), _kp(body, W, "right_hip")
    ls, rs = _kp(body, W, "left_shoulder"), _kp(body, W, "right_shoulder")
    hip_mid, sh_mid = (lh + rh) / 2, (ls + rs) / 2
    trunk = sh_mid - hip_mid
    c_trunk = None
    if cams is not None:
        c_trunk = ((_kp(camera, cams, "left_shoulder") + _kp(camera, cams, "right_shoulder")) / 2
                   - (_kp(camera, cams, "left_hip") + _kp(camera, cams, "right_hip")) / 2)
    add("trunk_lean", _angle_deg(trunk, np.broadcast_to(up, trunk.shape)),
        _vis(body, ("left_hip", "right_hip", "left_shoulder", "right_shoulder")),
        None if c_trunk is None else [c_trunk])
    for side in ("left", "right"):
        hip, knee = _kp(body, W, f"{side}_hip"), _kp(body, W, f"{side}_knee")
        thigh = knee - hip
        frontal = thigh.copy()
        frontal[..., 2] = 0.0  # project onto the frontal (x-y) plane
        ang = _angle_deg(frontal, np.broadcast_to(-up, frontal.shape))
        sign = 1.0 if side == "left" else -1.0  # outward = +x for left, -x for right
        ang = np.where(sign * frontal[..., 0] >= 0, ang, -ang)
        limbs = None
        if cams is not None:
            limbs = [_kp(camera, cams, f"{side}_knee") - _kp(camera, cams, f"{side}_hip")]
        add(f"{side}_hip_abduction", ang, _vis(body, (f"{side}_hip", f"{side}_knee")), limbs)
    le, re_ = _kp(body, W, "left_ear"), _kp(body, W, "right_ear")
    head = _kp(body, W, "nose")
    ear_mid = (le + re_) / 2
    head_vec = np.where(np.isfinite(ear_mid), ear_mid, head) - sh_mid
    limbs = None
    if cams is not None:
        c_head = (_kp(camera, cams, "left_ear") + _kp(camera, cams, "right_ear")) / 2
        c_head = np.where(np.isfinite(c_head), c_head, _kp(camera, cams, "nose"))
        c_sh = (_kp(camera, cams, "left_shoulder") + _kp(camera, cams, "right_shoulder")) / 2
        limbs = [c_head - c_sh]
    add("neck", _angle_deg(head_vec, trunk), _vis(body, ("left_shoulder", "right_shoulder", "nose")),
        limbs)
    return np.stack(vals, 1), np.stack(confs, 1), tuple(names)


def body_axes_in_camera(body: PoseTrack, camera: PoseTrack | None) -> np.ndarray | None:
    """(T, 3, 3) rows = the body frame's x, y, z axes in camera coordinates, or None.

    From ``body.meta["lift"]["rotation"]`` (one rotation per clip, :mod:`lab.lift`)
    when present, else rebuilt per frame as in :func:`body_frame_basic`.
    """
    if camera is None or camera.frame != "camera":
        return None
    lift = body.meta.get("lift") or {}
    if lift.get("rotation") is not None and lift.get("source_frame", "camera") == "camera":
        R = np.asarray(lift["rotation"], dtype=float)
        if lift.get("heading", "clip") == "clip" and R.shape == (3, 3):
            return np.broadcast_to(R, (body.n_frames, 3, 3))
    W = camera.world_m
    up = np.array([0.0, -1.0, 0.0])
    x = _kp(camera, W, "left_hip") - _kp(camera, W, "right_hip")
    x = _unit(x - np.sum(x * up, -1, keepdims=True) * up)
    y = np.broadcast_to(up, x.shape)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def measure_torso_m(body: PoseTrack) -> float:
    """Median mid-hip to mid-shoulder distance of a track, in its units (NaN if unknown)."""
    W = body.world_m
    hip_mid = (_kp(body, W, "left_hip") + _kp(body, W, "right_hip")) / 2
    sh_mid = (_kp(body, W, "left_shoulder") + _kp(body, W, "right_shoulder")) / 2
    torso = np.linalg.norm(sh_mid - hip_mid, axis=-1)
    return float(np.nanmedian(torso)) if np.isfinite(torso).any() else float("nan")


def compute_positions(body: PoseTrack, *, keypoints: tuple[str, ...] = POSITION_KEYPOINTS,
                      camera: PoseTrack | None = None, view_floor: float = 0.2
                      ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], float]:
    """Body-frame positions relative to mid-hip in torso lengths.

    With ``camera`` (the same frames in frame ``camera``), each coordinate's
    confidence also holds how much of that body axis lies across the image:
    a body axis along the camera's line of sight is measured from MediaPipe's
    depth guess, so it gets ``view_floor``; one across the image gets 1.

    Returns
    -------
    values : ndarray, shape (T, 3 * len(keypoints))
    confidence : ndarray, same shape
    names : tuple of str (``pos:<landmark>:<axis>``)
    torso_m : float
        Median mid-hip to mid-shoulder distance, metres (NaN if unknown).
    """
    W = body.world_m
    T = body.n_frames
    torso_m = measure_torso_m(body)
    hip_mid = (_kp(body, W, "left_hip") + _kp(body, W, "right_hip")) / 2
    scale = torso_m if np.isfinite(torso_m) and torso_m > 0 else 1.0
    axes = body_axes_in_camera(body, camera)
    if axes is None:
        across = np.ones((T, 3))
    else:
        across = _view_weight(np.sqrt(np.clip(1.0 - axes[..., 2] ** 2, 0.0, 1.0)), floor=view_floor)
    vals, confs, names = [], [], []
    for k in keypoints:
        p = (_kp(body, W, k) - hip_mid) / scale
        vis = _vis(body, (k, "left_hip", "right_hip"))
        for ax, axis in enumerate("xyz"):
            v = p[:, ax] if p.ndim == 2 else np.full(T, np.nan)
            vals.append(v)
            confs.append(np.where(np.isfinite(v), vis * across[:, ax], 0.0))
            names.append(f"pos:{k}:{axis}")
    return np.stack(vals, 1), np.stack(confs, 1), tuple(names), torso_m


def compute_features(track: PoseTrack, *, lift: bool = True, body: PoseTrack | None = None,
                     positions: bool = True, velocities: bool = True, travel: bool = False,
                     cutoff_hz: float | None = 6.0, view_floor: float = 0.2) -> FeatureSet:
    """All features of one track, on the track's own frame times.

    Parameters
    ----------
    track : PoseTrack
        Frame ``camera`` (from a video), ``lab`` (mocap) or ``body``.
    lift : bool
        Use :func:`lab.lift.lift_track` for the body frame when available.
    body : PoseTrack, optional
        ``track`` already in frame ``body`` (same frames), e.g. from a cache:
        then nothing is lifted here and ``lift`` is ignored.
    positions, velocities : bool
        Include body-frame positions (torso lengths) / angular velocities (deg/s).
    travel : bool
        Include the travel (:func:`lab.features.travel.compute_travel`, NaN where
        it cannot be measured); the comparison's distance leaves it out
        (:data:`lab.features.scale.KIND_WEIGHTS`).
    cutoff_hz : float or None
        Low-pass (zero-phase Butterworth, order 2) applied to angles and
        positions before differentiation; None for none.
    view_floor : float
        Confidence kept for a limb pointing at the camera.

    Returns
    -------
    FeatureSet
    """
    if track.world_m is None:
        raise ValueError("features need 3D landmarks (world_m); this track has image points only")
    if body is None:
        body, _ = lift_or_basic(track, lift=lift)
    elif body.frame != "body" or body.n_frames != track.n_frames:
        raise ValueError("body must be the same frames as track, in frame 'body'")
    camera = track if track.frame == "camera" else None
    vals, conf, names = compute_angles(body, camera=camera, view_floor=view_floor)
    torso_m = float("nan")
    if positions:
        pv, pc, pn, torso_m = compute_positions(body, camera=camera, view_floor=view_floor)
        vals, conf, names = np.hstack([vals, pv]), np.hstack([conf, pc]), names + pn
    t = track.time_s
    if cutoff_hz is not None and len(t) > 12:
        vals = lowpass_nan(vals, time_s=t, cutoff_hz=cutoff_hz)
    if velocities and len(t) > 2:
        n_ang = len([n for n in names if not n.startswith("pos:")])
        vel = np.gradient(vals[:, :n_ang], t, axis=0)
        vconf = np.minimum(conf[:, :n_ang], np.roll(conf[:, :n_ang], 1, axis=0))
        vals = np.hstack([vals, vel])
        conf = np.hstack([conf, np.where(np.isfinite(vel), vconf, 0.0)])
        names = names + tuple(f"vel:{n}" for n in names[:n_ang])
    if travel:
        tv, tc = compute_travel(track, body, torso_m=torso_m if positions else measure_torso_m(body))
        vals, conf, names = np.hstack([vals, tv]), np.hstack([conf, tc]), names + TRAVEL_NAMES + SIGHT_NAMES
    conf = np.where(np.isfinite(vals), conf, 0.0)
    return FeatureSet(time_s=t.copy(), values=vals, confidence=conf, names=names, torso_m=torso_m)


def lowpass_nan(values: np.ndarray, *, time_s: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of each column of ``values`` (T, F) over its finite runs.

    NaN gaps are kept; runs shorter than 13 samples are left as they are.
    """
    from scipy.signal import butter, filtfilt

    fs = 1.0 / float(np.median(np.diff(time_s)))
    if cutoff_hz >= fs / 2:
        return values.copy()
    b, a = butter(2, cutoff_hz / (fs / 2))
    out = values.copy()
    for f in range(values.shape[1]):
        col = values[:, f]
        ok = np.isfinite(col)
        if not ok.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
        for s, e in zip(edges[::2], edges[1::2]):
            if e - s >= 13:
                out[s:e, f] = filtfilt(b, a, col[s:e])
    return out


# ------------------------------------------------------------------ mirroring
def mirror_features(fs: FeatureSet) -> FeatureSet:
    """Left/right mirror image of ``fs``: left and right features swap; body-frame
    x positions, the sideways travel and line of sight change sign (x is the subject's left). Angles are unchanged by a
    mirror, only their side."""
    idx = [fs.names.index(swap_side(n)) if swap_side(n) in fs.names else i
           for i, n in enumerate(fs.names)]
    vals = fs.values[:, idx].copy()
    conf = fs.confidence[:, idx].copy()
    for i, n in enumerate(fs.names):
        if (n.startswith("pos:") and n.endswith(":x")) or n in ("travel:left", "travel:sight_left"):
            vals[:, i] = -vals[:, i]
    return dataclasses.replace(fs, values=vals, confidence=conf)


# ------------------------------------------------------------------ resampling
def resample_features(fs: FeatureSet, *, rate_hz: float, max_gap_s: float = 0.25) -> FeatureSet:
    """``fs`` on a uniform time base at ``rate_hz``, from its first to its last
    frame with any confident value (leading/trailing frames without a person are
    dropped). Linear interpolation per feature; samples inside a gap of missing
    values longer than ``max_gap_s`` keep NaN and confidence 0.

    Returns
    -------
    FeatureSet
        ``time_s`` starts at the first kept frame's time (not reset to 0).
    """
    any_ok = (fs.confidence > 0).any(axis=1)
    if not any_ok.any():
        raise ValueError("no frame has a usable feature")
    first, last = np.flatnonzero(any_ok)[[0, -1]]
    t0, t1 = fs.time_s[first], fs.time_s[last]
    n = int(np.floor((t1 - t0) * rate_hz + 1e-9)) + 1
    t = t0 + np.arange(n) / rate_hz
    F = fs.values.shape[1]
    vals = np.full((n, F), np.nan)
    conf = np.zeros((n, F))
    for f in range(F):
        ok = np.isfinite(fs.values[:, f]) & (fs.confidence[:, f] > 0)
        if ok.sum() < 2:
            continue
        ts = fs.time_s[ok]
        v = np.interp(t, ts, fs.values[ok, f], left=np.nan, right=np.nan)
        c = np.interp(t, ts, fs.confidence[ok, f], left=0.0, right=0.0)
        # distance to the nearest real sample on each side: inside a long gap -> missing
        k = np.searchsorted(ts, t).clip(1, len(ts) - 1)
        gap = ts[k] - ts[k - 1]
        inside = (t > ts[0]) & (t < ts[-1]) & (gap > max_gap_s + 1e-9)
        v[inside] = np.nan
        c[inside | ~np.isfinite(v)] = 0.0
        vals[:, f], conf[:, f] = v, c
    return dataclasses.replace(fs, time_s=t, values=vals, confidence=conf)
