"""Where did the camera stand relative to the subject? And the coach's model seen from there.

Viewpoint convention (all in the subject's body frame, see :mod:`lab.lift`):

``azimuth_deg``
    Around the vertical, from the subject's front: 0 = camera in front of the
    subject, +90 = on the subject's left, -90 = on the subject's right,
    +-180 = behind.
``elevation_deg``
    Angle of the camera above the horizontal plane through the hips.
``distance_m``
    Camera centre to mid-hip, metres (in MediaPipe's metric scale).

:func:`estimate_view` solves the camera pose per frame with OpenCV's
``solvePnP`` from the 2D image landmarks and the lifted 3D landmarks (body
frame), then summarises the clip robustly (circular median, spread).
:func:`project_to_view` puts a reference (coach) body-frame track into that
camera: the "ghost" in the user's pixels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lab.io import LabError
from lab.lift.circular import circular_median_deg, circular_spread_deg
from lab.pose.camera import DEFAULT_FOV_DEG, Camera, intrinsics_from_fov
from lab.pose.track import PoseTrack

#: Landmarks used for the camera pose: the torso and legs. Arms are left out
#: (they move relative to the torso and MediaPipe's depth for them is the
#: least reliable: adding them raised the worst Pose2Sim pair error from 10 to
#: 16 degrees), and so is the face (a tight cluster that adds little).
PNP_KEYPOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)


@dataclasses.dataclass
class ViewEstimate:
    """A camera's viewpoint relative to the subject.

    Attributes
    ----------
    azimuth_deg, elevation_deg, distance_m : float
        Clip summary (circular median / median) of the per-frame values.
    spread_deg : float
        Median absolute deviation of the per-frame azimuth from the clip value, degrees.
    elevation_spread_deg : float
    azimuth_deg_per_frame, elevation_deg_per_frame, distance_m_per_frame : ndarray (T,)
        NaN where the pose could not be solved.
    rotation : ndarray (T, 3, 3)
        Body-to-camera rotation per frame (``x_cam = R @ x_body + t``).
    translation_m : ndarray (T, 3)
    reprojection_px : ndarray (T,)
        Median reprojection error of the PnP fit per frame, pixels.
    K : ndarray (3, 3), dist : ndarray (5,)
        Intrinsics used.
    width, height : int
    mirrored : bool
        The 2D landmarks are mirrored relative to the 3D
        (:func:`lab.lift.detect_mirrored`); the angles describe the camera of
        the 3D (it was mirrored for the fit). A video filmed mirrored is not
        seen here (see :func:`lab.lift.detect_mirrored_against`).
    ambiguous : bool
    reason : str
        Why the view is ambiguous ("" when it is not).
    method : str
        ``"pnp"`` or ``"heading"`` (baseline: facing direction in the camera-
        aligned world landmarks, no perspective).
    flipped_fraction : float
        Share of frames facing the other way from the clip (repaired or not).
    clip_rotation : ndarray (3, 3) or None
        Body-to-camera rotation of the static-camera fit, when made.
    """

    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    spread_deg: float
    elevation_spread_deg: float
    azimuth_deg_per_frame: np.ndarray
    elevation_deg_per_frame: np.ndarray
    distance_m_per_frame: np.ndarray
    rotation: np.ndarray
    translation_m: np.ndarray
    reprojection_px: np.ndarray
    K: np.ndarray
    dist: np.ndarray
    width: int
    height: int
    mirrored: bool = False
    ambiguous: bool = False
    reason: str = ""
    method: str = "pnp"
    flipped_fraction: float = 0.0
    clip_rotation: np.ndarray | None = None

    def camera(self) -> Camera:
        """The clip's camera as a :class:`Camera` whose world is the body frame (hip at the origin).

        Rotation: the static-camera fit's (else the mean of the per-frame
        rotations); centre: at the clip's azimuth, elevation and distance.
        """
        from scipy.spatial.transform import Rotation  # lazy: scipy.spatial is slow to import

        ok = np.isfinite(self.rotation).all(axis=(1, 2))
        if not ok.any():
            raise LabError("no frame of this view has a camera pose", exit_code=4)
        R = (self.clip_rotation if self.clip_rotation is not None
             else Rotation.from_matrix(self.rotation[ok]).mean().as_matrix())
        C = view_direction(self.azimuth_deg, self.elevation_deg) * self.distance_m
        return Camera(K=self.K, dist=self.dist, R=R, t=-R @ C, width=self.width, height=self.height,
                      name=f"view az={self.azimuth_deg:.0f} el={self.elevation_deg:.0f}")

    def summary(self) -> dict[str, Any]:
        """Plain dict of the clip values (JSON-friendly)."""
        return {"azimuth_deg": self.azimuth_deg, "elevation_deg": self.elevation_deg,
                "distance_m": self.distance_m, "spread_deg": self.spread_deg,
                "mirrored": self.mirrored, "ambiguous": self.ambiguous, "reason": self.reason,
                "method": self.method}


def view_direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector (3,) from the subject to a camera, body frame (x left, y up, z front)."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])


def camera_looking_at_subject(*, azimuth_deg: float, elevation_deg: float, distance_m: float,
                              K: np.ndarray, width: int, height: int) -> Camera:
    """A level-horizon camera at the given viewpoint, aimed at the mid-hip (body-frame world)."""
    C = view_direction(azimuth_deg, elevation_deg) * distance_m
    z = -C / np.linalg.norm(C)
    x = np.cross(z, [0.0, 1.0, 0.0])
    if np.linalg.norm(x) < 1e-9:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return Camera(K=np.asarray(K, float), dist=np.zeros(5), R=R, t=-R @ C, width=width, height=height,
                  name="virtual")


def _angles_from_centre(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    az = np.degrees(np.arctan2(C[..., 0], C[..., 2]))
    el = np.degrees(np.arctan2(C[..., 1], np.hypot(C[..., 0], C[..., 2])))
    return az, el, np.linalg.norm(C, axis=-1)


def estimate_view(track: PoseTrack, *, camera: Camera | None = None, fov_deg: float = DEFAULT_FOV_DEG,
                  method: str = "pnp", static_camera: bool = True, min_visibility: float = 0.5,
                  max_spread_deg: float = 25.0, max_flipped_fraction: float = 0.4) -> ViewEstimate:
    """Estimate where the camera stood relative to the subject.

    Parameters
    ----------
    track : PoseTrack
        A MediaPipe track (frame ``camera``, lifted here with default
        settings) or an already lifted one (frame ``body``); needs ``image_px``.
    camera : Camera, optional
        Use its intrinsics (K, distortion). Its extrinsics are ignored.
    fov_deg : float
        Field of view of the longer image side when no ``camera`` is given.
    method : {"pnp", "heading"}
        ``pnp``: per-frame ``cv2.solvePnP`` of the body-frame 3D onto the 2D
        landmarks (perspective included). ``heading``: the baseline, the
        facing direction in MediaPipe's camera-aligned world landmarks with
        the camera assumed straight along the optical axis.
    static_camera : bool
        The camera did not move during the clip (``pnp`` only): the clip
        values come from one joint fit over all frames with a single
        body-to-camera rotation and a translation per frame (robust loss),
        which averages MediaPipe's per-frame shape errors far better than
        the median of per-frame poses (Pose2Sim: worst pair error 8 deg
        instead of 12). The per-frame arrays stay the independent per-frame
        PnP solutions; ``spread_deg`` is their spread about the clip value.
        Ignored for tracks lifted with ``heading="frame"``.
    min_visibility : float
        Landmarks below this visibility are left out of the fit.
    max_spread_deg, max_flipped_fraction : float
        Thresholds of the ``ambiguous`` flag.

    Returns
    -------
    ViewEstimate
    """
    import cv2

    if method not in ("pnp", "heading"):
        raise ValueError(f"method must be 'pnp' or 'heading', not {method!r}")
    if track.image_px is None:
        raise LabError("estimating a view needs the image landmarks (image_px) of the track", exit_code=4)
    if track.frame == "camera":
        from lab.lift import lift_track
        lifted = lift_track(track)
    elif track.frame == "body":
        lifted = track
    else:
        raise LabError(f"cannot estimate a camera view from a frame {track.frame!r} track (no image)",
                       exit_code=2)
    info = lifted.meta.get("lift", {})
    w = int(camera.width if camera is not None else lifted.meta.get("width") or 0)
    h = int(camera.height if camera is not None else lifted.meta.get("height") or 0)
    if camera is not None:
        K, dist = np.asarray(camera.K, float), np.asarray(camera.dist, float)
    else:
        if not (w and h):
            raise LabError("the track has no image size (meta width/height); pass camera=", exit_code=2)
        K, dist = intrinsics_from_fov(w, h, fov_deg=fov_deg), np.zeros(5)
    mirrored = bool(info.get("mirrored", False))
    T = lifted.n_frames
    Rs = np.full((T, 3, 3), np.nan)
    ts = np.full((T, 3), np.nan)
    err = np.full(T, np.nan)
    C = np.full((T, 3), np.nan)
    if method == "pnp":
        idx = [lifted.index(k) for k in PNP_KEYPOINTS if k in lifted.keypoints]
        sign = np.array([-1.0, 1.0, 1.0]) if mirrored else np.ones(3)
        prev = None
        for f in range(T):
            obj = lifted.world_m[f, idx] * sign
            img = lifted.image_px[f, idx]
            ok = (np.isfinite(obj).all(1) & np.isfinite(img).all(1)
                  & (lifted.visibility[f, idx] >= min_visibility))
            if ok.sum() < 6:
                continue
            o, im = obj[ok].astype(np.float64), img[ok].astype(np.float64)
            good, rvec, tvec = cv2.solvePnP(o, im, K, dist, flags=cv2.SOLVEPNP_SQPNP)
            if not good:
                continue
            if prev is not None:  # refine from the better of SQPnP and the previous frame's pose
                cands = [(rvec, tvec), (prev[0].copy(), prev[1].copy())]
                best = None
                for rv, tv in cands:
                    rv, tv = cv2.solvePnPRefineLM(o, im, K, dist, rv, tv)
                    e = np.median(np.linalg.norm(cv2.projectPoints(o, rv, tv, K, dist)[0].reshape(-1, 2) - im, axis=1))
                    if best is None or e < best[0]:
                        best = (e, rv, tv)
                _, rvec, tvec = best
            else:
                rvec, tvec = cv2.solvePnPRefineLM(o, im, K, dist, rvec, tvec)
            if tvec[2, 0] <= 0:
                continue
            R = cv2.Rodrigues(rvec)[0]
            proj = cv2.projectPoints(o, rvec, tvec, K, dist)[0].reshape(-1, 2)
            err[f] = float(np.median(np.linalg.norm(proj - im, axis=1)))
            Rs[f], ts[f] = R, tvec.ravel()
            C[f] = (-R.T @ tvec).ravel() * sign
            prev = (rvec, tvec)
    else:
        R_clip = np.asarray(info.get("rotation", np.eye(3)))
        head = np.array([np.nan if v is None else v for v in info.get("heading_deg", [0.0] * T)], float)
        for f in range(T):
            if not np.isfinite(head[f]):
                continue
            # camera sits along -z of the camera axes, seen from the hips
            d = R_clip @ np.array([0.0, 0.0, -1.0])
            a = np.radians(-head[f])  # undo the frame's own heading relative to the clip
            Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
            C[f] = Ry @ d
            Rs[f] = np.eye(3)
    az, el, dist_m = _angles_from_centre(C)
    if method == "heading":
        dist_m = np.full(T, np.nan)
    clip_R = None
    solved_frames = np.isfinite(az)
    if (method == "pnp" and static_camera and info.get("heading", "clip") == "clip"
            and solved_frames.sum() >= 3):
        clip_R, C_joint = _fit_static_camera(lifted, idx, sign, Rs, ts, K, dist, min_visibility)
        az_j, el_j, d_j = _angles_from_centre(C_joint)
        az_c = circular_median_deg(az_j)
        el_c = float(np.nanmedian(el_j))
        d_c = float(np.nanmedian(d_j))
    else:
        az_c = circular_median_deg(az)
        el_c = float(np.nanmedian(el)) if np.isfinite(el).any() else float("nan")
        d_c = float(np.nanmedian(dist_m)) if np.isfinite(dist_m).any() else float("nan")
    spread = circular_spread_deg(az, centre_deg=az_c) if np.isfinite(az_c) else float("nan")
    el_spread = float(np.nanmedian(np.abs(el - el_c))) if np.isfinite(el).any() else float("nan")
    flipped_frac = float(info.get("front_back_conflict", len(info.get("flipped_frames", [])) / max(T, 1)))
    reasons = []
    solved = np.isfinite(az).mean() if T else 0.0
    if solved < 0.5:
        reasons.append(f"camera pose solved on only {solved:.0%} of frames")
    if np.isfinite(spread) and spread > max_spread_deg:
        reasons.append(f"azimuth varies by {spread:.0f} deg across frames")
    if flipped_frac > max_flipped_fraction:
        reasons.append(f"front/back unclear: {flipped_frac:.0%} of frames face the other way from the rest")
    if mirrored:
        reasons.append("the 2D landmarks are mirrored relative to the 3D: left/right swapped")
    return ViewEstimate(azimuth_deg=float(az_c), elevation_deg=el_c, distance_m=d_c, spread_deg=spread,
                        elevation_spread_deg=el_spread, azimuth_deg_per_frame=az,
                        elevation_deg_per_frame=el, distance_m_per_frame=dist_m, rotation=Rs,
                        translation_m=ts, reprojection_px=err, K=K, dist=dist, width=w, height=h,
                        mirrored=mirrored, ambiguous=bool(reasons), reason="; ".join(reasons),
                        method=method, flipped_fraction=flipped_frac, clip_rotation=clip_R)


def _fit_static_camera(lifted: PoseTrack, idx: list[int], sign: np.ndarray, Rs: np.ndarray, ts: np.ndarray,
                       K: np.ndarray, dist: np.ndarray, min_visibility: float,
                       max_frames: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """One body-to-camera rotation for the clip, one translation per frame; robust (soft-L1, 15 px).

    Returns the rotation (3, 3) and the camera centre per fitted frame (F, 3), body frame.
    """
    import cv2
    from scipy.optimize import least_squares
    from scipy.sparse import lil_matrix

    ok_f = np.flatnonzero(np.isfinite(Rs).all(axis=(1, 2)))
    if len(ok_f) > max_frames:
        ok_f = ok_f[np.linspace(0, len(ok_f) - 1, max_frames).astype(int)]
    X = lifted.world_m[ok_f][:, idx] * sign
    uv = lifted.image_px[ok_f][:, idx]
    use = (np.isfinite(X).all(-1) & np.isfinite(uv).all(-1)
           & (lifted.visibility[ok_f][:, idx] >= min_visibility))
    F, J = use.shape
    norm = cv2.undistortPoints(np.nan_to_num(uv).reshape(-1, 1, 2), K, dist).reshape(F, J, 2)
    Xz = np.nan_to_num(X)
    f_px = float(K[0, 0])
    from scipy.spatial.transform import Rotation

    r0 = Rotation.from_matrix(Rs[ok_f]).mean().as_rotvec()
    p0 = np.concatenate([r0, ts[ok_f].ravel()])

    def residuals(p):
        R = Rotation.from_rotvec(p[:3]).as_matrix()
        Y = Xz @ R.T + p[3:].reshape(F, 1, 3)
        z = np.where(np.abs(Y[..., 2:3]) < 1e-6, 1e-6, Y[..., 2:3])
        r = (Y[..., :2] / z - norm) * f_px
        r[~use] = 0.0
        return r.ravel()

    sparsity = lil_matrix((F * J * 2, 3 + 3 * F), dtype=np.int8)
    for f in range(F):
        rows = slice(f * J * 2, (f + 1) * J * 2)
        sparsity[rows, :3] = 1
        sparsity[rows, 3 + 3 * f:6 + 3 * f] = 1
    sol = least_squares(residuals, p0, jac_sparsity=sparsity, loss="soft_l1", f_scale=15.0)
    R = Rotation.from_rotvec(sol.x[:3]).as_matrix()
    t = sol.x[3:].reshape(F, 3)
    return R, -(t @ R) * sign


def project_to_view(lifted_reference: PoseTrack, view: ViewEstimate, *, target: PoseTrack | None = None,
                    per_frame_pose: bool = False, match_size: bool = True,
                    target_frame_index: np.ndarray | None = None) -> np.ndarray:
    """The reference's 3D skeleton as seen by the ``view``'s camera, in that camera's pixels.

    Parameters
    ----------
    lifted_reference : PoseTrack
        The coach's track in frame ``body`` (:func:`lab.lift.lift_track`).
    view : ViewEstimate
        The user's camera (:func:`estimate_view` on the user's track).
    target : PoseTrack, optional
        The user's track (frame ``body`` lifted, or ``camera``). When given,
        the ghost is scaled to the user's body size (``match_size``: ratio of
        their median leg + trunk lengths) and each frame is translated so its
        mid-hip lands on the user's mid-hip pixel (frame i of the reference on
        frame i of the target; if lengths differ, on the target's median hip).
    per_frame_pose : bool
        Use the view's per-frame camera rotation (frame i of the reference
        with frame i of the view) instead of the clip's mean camera.
    match_size : bool
    target_frame_index : ndarray of int, shape (T_ref,), optional
        For each reference frame, the target frame it is drawn on (e.g. from
        a DTW path); its hips anchor the ghost. Default: frame i on frame i.

    Returns
    -------
    ndarray, shape (T_ref, K, 2)
        Pixels in the user's image; NaN where the reference joint is missing.
    """
    if lifted_reference.frame != "body":
        raise LabError("project_to_view needs a lifted reference (frame 'body'); call lift_track first",
                       exit_code=2)
    X = np.array(lifted_reference.world_m, dtype=np.float64, copy=True)
    kp = lifted_reference.keypoints
    if view.mirrored:
        X[..., 0] *= -1
    scale = 1.0
    tgt_body = None
    if target is not None:
        tgt_body = target if target.frame == "body" else None
        if tgt_body is None and target.world_m is not None and target.frame == "camera":
            from lab.lift import lift_track
            tgt_body = lift_track(target)
        if match_size and tgt_body is not None:
            s_ref, s_tgt = _body_size_m(lifted_reference), _body_size_m(tgt_body)
            if np.isfinite(s_ref) and np.isfinite(s_tgt) and s_ref > 0:
                scale = s_tgt / s_ref
    X *= scale
    T = len(X)
    cam = view.camera()
    out = np.full((*X.shape[:2], 2), np.nan)
    for f in range(T):
        R, t = cam.R, cam.t
        if per_frame_pose and f < len(view.rotation) and np.isfinite(view.rotation[f]).all():
            R, t = view.rotation[f], view.translation_m[f]
        out[f] = Camera(K=view.K, dist=view.dist, R=R, t=t, width=view.width, height=view.height).project(X[f])
    if target is not None and target.image_px is not None:
        hip_ref = (out[:, kp.index("left_hip")] + out[:, kp.index("right_hip")]) / 2
        ti = target.image_px
        hip_tgt = (ti[:, target.index("left_hip")] + ti[:, target.index("right_hip")]) / 2
        if target_frame_index is not None:
            ix = np.asarray(target_frame_index)
            if ix.shape != (T,):
                raise ValueError(f"target_frame_index must have shape ({T},), got {ix.shape}")
            anchor = np.full((T, 2), np.nan)
            ok = (ix >= 0) & (ix < len(hip_tgt))
            anchor[ok] = hip_tgt[ix[ok]]
            miss = ~np.isfinite(anchor).all(1)
            if miss.any():
                anchor[miss] = np.nanmedian(hip_tgt, axis=0)
        elif len(hip_tgt) == T:
            anchor = hip_tgt.copy()
            miss = ~np.isfinite(anchor).all(1)
            if miss.any() and (~miss).any():
                anchor[miss] = np.nanmedian(hip_tgt, axis=0)
        else:
            anchor = np.tile(np.nanmedian(hip_tgt, axis=0), (T, 1))
        out = out - hip_ref[:, None] + anchor[:, None]
    return out


def _body_size_m(track: PoseTrack) -> float:
    """Median over the clip of trunk + mean leg length (hip-knee-ankle), metres."""
    x = track.world_m
    k = track.index

    def seg(a, b):
        return np.linalg.norm(x[:, k(a)] - x[:, k(b)], axis=-1)
    hip = (x[:, k("left_hip")] + x[:, k("right_hip")]) / 2
    sho = (x[:, k("left_shoulder")] + x[:, k("right_shoulder")]) / 2
    legs = (seg("left_hip", "left_knee") + seg("left_knee", "left_ankle")
            + seg("right_hip", "right_knee") + seg("right_knee", "right_ankle")) / 2
    size = np.linalg.norm(sho - hip, axis=-1) + legs
    size = size[np.isfinite(size)]
    return float(np.median(size)) if size.size else float("nan")
