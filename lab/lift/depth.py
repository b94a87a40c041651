"""Depth refinement: make the lifted 3D agree with the picture, limb by limb.

MediaPipe's world landmarks get the in-picture geometry roughly right but the
depth of a limb (how far a knee bends towards or away from the camera) is
their weak axis. Given the camera intrinsics, each joint must lie on the ray
through its 2D landmark; with the bone lengths known (the clip medians from
:func:`lab.lift.lift_track`), the depth offset of each bone follows from how
foreshortened it looks, and MediaPipe's relative depth only has to say which
way and settle the near-frontal cases. Per frame this is a small
least-squares problem over the joints' depths along their rays.
"""

from __future__ import annotations

import numpy as np

from lab.lift import clean
from lab.pose.camera import DEFAULT_FOV_DEG, Camera, intrinsics_from_fov
from lab.pose.track import PoseTrack

#: Joints whose depth is solved; the others (face, hands, feet) follow their parent.
REFINED_KEYPOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "nose",
)

#: Segments held at their length (the tree's bones plus two torso diagonals for rigidity).
_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"),
    ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"),
    ("left_hip", "right_shoulder"), ("right_hip", "left_shoulder"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "nose"), ("right_shoulder", "nose"),
)

_FOLLOWERS: dict[str, str] = {
    "left_heel": "left_ankle", "left_foot_index": "left_ankle",
    "right_heel": "right_ankle", "right_foot_index": "right_ankle",
    "left_pinky": "left_wrist", "left_index": "left_wrist", "left_thumb": "left_wrist",
    "right_pinky": "right_wrist", "right_index": "right_wrist", "right_thumb": "right_wrist",
    **{k: "nose" for k in ("left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                           "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")},
}


def refine_depth(lifted: PoseTrack, *, camera: Camera | None = None, fov_deg: float = DEFAULT_FOV_DEG,
                 depth_sigma_m: float = 0.1, bone_sigma_m: float = 0.02) -> PoseTrack:
    """Re-place each joint along its image ray so bone lengths and the picture agree.

    Parameters
    ----------
    lifted : PoseTrack
        Output of :func:`lab.lift.lift_track` on a MediaPipe track (frame
        ``body``, ``heading="clip"``, with ``image_px``).
    camera : Camera, optional
        Intrinsics (K, distortion); default from the image size and ``fov_deg``.
    fov_deg : float
    depth_sigma_m : float
        How far (m) a joint's depth relative to the hips may move from
        MediaPipe's, one standard deviation.
    bone_sigma_m : float
        Tolerance on each segment's length, m.

    Returns
    -------
    PoseTrack
        Same frame, rotation and metadata (``meta["lift"]["depth_refined"] = True``);
        bone lengths re-enforced. Frames missing a refined joint are left as they were.

    Notes
    -----
    Not used by the comparison: the README ("Depth refinement") gives its
    joint-angle errors against the Pose2Sim TRC and why the feedback does not
    read its angles. Do not feed a
    refined track to :func:`lab.align.estimate_view`: its camera rotation then
    is MediaPipe's own and the viewpoint is less accurate than with the
    unrefined track (PnP corrects MediaPipe's rotation only if the 3D shape is
    MediaPipe's).
    """
    import cv2
    from scipy import sparse
    from scipy.optimize import least_squares

    info = lifted.meta.get("lift", {})
    if lifted.frame != "body" or info.get("source_frame") != "camera" or lifted.image_px is None:
        raise ValueError("refine_depth needs a track lifted from MediaPipe (frame 'camera') with image_px")
    if info.get("heading") != "clip":
        raise ValueError("refine_depth needs a track lifted with heading='clip'")
    kp = lifted.keypoints
    R = np.asarray(info["rotation"])          # rows: body axes in camera axes
    if camera is not None:
        K, dist = np.asarray(camera.K, float), np.asarray(camera.dist, float)
    else:
        K = intrinsics_from_fov(int(lifted.meta["width"]), int(lifted.meta["height"]), fov_deg=fov_deg)
        dist = np.zeros(5)
    ji = [kp.index(k) for k in REFINED_KEYPOINTS]
    seg = np.array([(REFINED_KEYPOINTS.index(a), REFINED_KEYPOINTS.index(b)) for a, b in _SEGMENTS])
    cam_axes = lifted.world_m @ R              # hip-centred, camera axes
    X = cam_axes[:, ji]
    lengths = np.array([np.nanmedian(np.linalg.norm(X[:, a] - X[:, b], axis=-1)) for a, b in seg])
    T = lifted.n_frames
    uv = lifted.image_px[:, ji]
    norm = cv2.undistortPoints(np.nan_to_num(uv).reshape(-1, 1, 2), K, dist).reshape(T, len(ji), 2)
    rays = np.concatenate([norm, np.ones((T, len(ji), 1))], axis=-1)
    out = np.array(lifted.world_m, copy=True)
    lh, rh = REFINED_KEYPOINTS.index("left_hip"), REFINED_KEYPOINTS.index("right_hip")
    ls, rs = REFINED_KEYPOINTS.index("left_shoulder"), REFINED_KEYPOINTS.index("right_shoulder")
    refined = np.zeros(T, dtype=bool)
    if np.isfinite(lengths).all():
        valid = np.isfinite(X).all(axis=(1, 2)) & np.isfinite(uv).all(axis=(1, 2))
        trunk_px = np.linalg.norm((norm[:, ls] + norm[:, rs]) / 2 - (norm[:, lh] + norm[:, rh]) / 2, axis=-1)
        trunk_m = np.linalg.norm((X[:, ls] + X[:, rs]) / 2 - (X[:, lh] + X[:, rh]) / 2, axis=-1)
        valid &= trunk_px > 1e-6
        refined = valid.copy()
    frames = np.flatnonzero(refined)
    if len(frames):
        F, J, S = len(frames), len(ji), len(seg)
        r = rays[frames]                                   # (F, J, 3)
        z_mp = X[frames, :, 2]
        z_mp_rel = z_mp - ((z_mp[:, lh] + z_mp[:, rh]) / 2)[:, None]
        z0 = (trunk_m[frames] / trunk_px[frames])[:, None] + z_mp_rel

        def residuals(zf):
            z = zf.reshape(F, J)
            P = z[..., None] * r
            d = np.linalg.norm(P[:, seg[:, 0]] - P[:, seg[:, 1]], axis=-1)
            z_rel = z - ((z[:, lh] + z[:, rh]) / 2)[:, None]
            return np.concatenate([(d - lengths) / bone_sigma_m, (z_rel - z_mp_rel) / depth_sigma_m],
                                  axis=1).ravel()

        # one solve for the clip: every frame is its own block of the Jacobian
        block = np.zeros((S + J, J), dtype=np.int8)
        block[np.arange(S), seg[:, 0]] = 1
        block[np.arange(S), seg[:, 1]] = 1
        block[S + np.arange(J), np.arange(J)] = 1
        block[S:, [lh, rh]] = 1
        sparsity = sparse.block_diag([sparse.csr_matrix(block)] * F, format="csr")
        sol = least_squares(residuals, z0.ravel(), jac_sparsity=sparsity, method="trf")
        P = sol.x.reshape(F, J)[..., None] * r
        P = P - ((P[:, lh] + P[:, rh]) / 2)[:, None]
        ok = np.isfinite(P).all(axis=(1, 2))
        refined[frames[~ok]] = False
        new_body = P @ R.T
        shift = new_body - out[frames][:, ji]
        for name, parent in _FOLLOWERS.items():
            if name in kp:
                out[frames[ok], kp.index(name)] += shift[ok, REFINED_KEYPOINTS.index(parent)]
        sub = out[frames[ok]]
        sub[:, ji] = new_body[ok]
        out[frames[ok]] = sub
    lengths_tree = {tuple(k.split("->")): v for k, v in info.get("bone_lengths_m", {}).items()}
    out = clean.enforce_bone_lengths(out, kp, lengths_m=lengths_tree or None)
    meta = dict(lifted.meta)
    meta["lift"] = dict(info, depth_refined=True, depth_refined_frames=int(refined.sum()),
                        depth_sigma_m=depth_sigma_m, bone_sigma_m=bone_sigma_m)
    return lifted.replace(world_m=out, meta=meta)
