"""Motion capture in and out: TRC (and BVH) files as :class:`~lab.pose.track.PoseTrack`.

Mocap tracks use the BlazePose keypoint names; joints the file has that map
onto a BlazePose landmark are filled, the others are NaN. Their 3D is in frame
``lab`` (metres, Y up, the capture's own origin and heading).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lab.io import LabError
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.pose.validate import MAX_KEYPOINTS

#: Marker/joint names seen in TRC files (OpenPose BODY_25B, Pose2Sim, common
#: mocap spellings) -> BlazePose landmark.
TRC_TO_BLAZEPOSE: dict[str, str] = {
    "Nose": "nose", "LEye": "left_eye", "REye": "right_eye", "LEar": "left_ear", "REar": "right_ear",
    "LShoulder": "left_shoulder", "RShoulder": "right_shoulder",
    "LElbow": "left_elbow", "RElbow": "right_elbow", "LWrist": "left_wrist", "RWrist": "right_wrist",
    "LHip": "left_hip", "RHip": "right_hip", "LKnee": "left_knee", "RKnee": "right_knee",
    "LAnkle": "left_ankle", "RAnkle": "right_ankle", "LHeel": "left_heel", "RHeel": "right_heel",
    "LBigToe": "left_foot_index", "RBigToe": "right_foot_index",
}

_UNITS_TO_M = {"m": 1.0, "mm": 0.001, "cm": 0.01}


def read_trc(path: str | Path) -> PoseTrack:
    """Read a TRC marker file into a pose track (frame ``lab``, metres).

    The full marker table is kept in ``meta['trc_markers']`` (names) so that a
    caller can reach unmapped markers through :func:`read_trc_markers`.
    """
    names, time_s, xyz, rate, units = read_trc_markers(path)
    mapping = {n: TRC_TO_BLAZEPOSE.get(n, n if n in BLAZEPOSE_KEYPOINTS else None) for n in names}
    return _mocap_track(path, names, time_s, xyz, rate, {n: bp for n, bp in mapping.items() if bp},
                        kind="marker", meta={"model": "mocap:trc", "trc_markers": names,
                                             "units_in_file": units})


def _mocap_track(path, names: list[str], time_s: np.ndarray, xyz: np.ndarray, rate: float,
                 mapping: dict[str, str], *, kind: str, meta: dict) -> PoseTrack:
    """A frame ``lab`` track from mocap positions ``xyz`` (T, J, 3) metres of joints ``names``.

    ``mapping`` (file name -> BlazePose landmark) says which columns fill
    which landmark; the others stay NaN. Raises :class:`LabError` if nothing maps.
    """
    from lab.pose.track import PoseFormatError, check_track

    world = np.full((len(time_s), len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    for n, bp in mapping.items():
        world[:, BLAZEPOSE_KEYPOINTS.index(bp)] = xyz[:, names.index(n)]
    if not mapping:
        raise LabError(f"{path}: none of its {kind}s ({', '.join(names[:6])}...) map onto body landmarks",
                       exit_code=2)
    try:
        track = PoseTrack(time_s=time_s, keypoints=BLAZEPOSE_KEYPOINTS, world_m=world, frame="lab",
                          meta={"source": str(path), "fps": rate, "frame_count": len(time_s),
                                **meta, "mapped": dict(mapping)})
        check_track(track)  # the one validation layer: limits, finite values, units, which way is up
    except PoseFormatError as exc:
        raise LabError(f"{path}: {exc}", exit_code=2) from None
    return track


def _check_mocap_file(p: Path, what: str) -> None:
    from lab.pose.validate import PoseFormatError, check_file

    try:
        check_file(p, what=what)
    except PoseFormatError as exc:
        raise LabError(f"{p}: {exc}", exit_code=2) from None


def _check_mocap_counts(p: Path, what: str, n_frames: int, n_items: int) -> None:
    from lab.pose.validate import PoseFormatError, check_counts

    try:
        check_counts(n_frames, n_items, what=what)
    except PoseFormatError as exc:
        raise LabError(f"{p}: {exc}", exit_code=2) from None


def read_trc_markers(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, float, str]:
    """Raw TRC content: marker names, times (T,) s, positions (T, M, 3) m, rate (Hz), file units.

    The file's size, then its number of frames and markers, are checked
    (:mod:`lab.pose.validate`) before the table is allocated; rows are parsed
    one at a time into it.
    """
    p = Path(path)
    _check_mocap_file(p, "TRC file")
    try:
        lines = p.read_text(errors="replace").splitlines()
        if len(lines) < 5:
            raise LabError(f"{p} is not a readable TRC file (its header is cut short: {len(lines)} of 5 lines)",
                           exit_code=2)
        header_keys = lines[1].split("\t")
        header_vals = lines[2].split("\t")
        info = dict(zip(header_keys, header_vals))
        names = [n.strip() for n in lines[3].split("\t")[2:] if n.strip()]
        body = [i for i in range(5, len(lines)) if lines[i].strip()]
        _check_mocap_counts(p, "TRC file", len(body), len(names))
        width = 2 + 3 * len(names)
        data = np.full((len(body), width), np.nan)
        for r, i in enumerate(body):
            vals = lines[i].split("\t", width)[:width]
            data[r, :len(vals)] = [float(v) if v.strip() else np.nan for v in vals]
        rate = float(info.get("DataRate") or info.get("CameraRate") or 0) or float("nan")
    except (OSError, IndexError, ValueError) as exc:
        raise LabError(f"{p} is not a readable TRC file ({exc.__class__.__name__})", exit_code=2) from None
    units = info.get("Units", "m").strip()
    scale = _UNITS_TO_M.get(units.lower(), 1.0)
    time_s = data[:, 1]
    xyz = data[:, 2:].reshape(len(data), len(names), 3) * scale
    return names, time_s, xyz, rate, units


# ------------------------------------------------------------------------ BVH
#: BVH joint names -> BlazePose landmark, in order of preference (the first
#: joint present wins). Covers the CMU/cgspeed naming (LeftUpLeg, LeftLeg,
#: LeftFoot, LeftToeBase, LeftArm, LeftForeArm, LeftHand) and the CMU-ASF
#: naming kept by bvh11 (LeftHip, LeftKnee, LeftAnkle, LeftToe, LeftShoulder
#: under LeftCollar, LeftElbow, LeftWrist). ``<joint>/end`` is the joint's End Site.
BVH_TO_BLAZEPOSE: dict[str, tuple[str, ...]] = {
    "left_hip": ("LeftUpLeg", "LeftHip", "LHip"),
    "right_hip": ("RightUpLeg", "RightHip", "RHip"),
    "left_knee": ("LeftLeg", "LeftKnee", "LKnee"),
    "right_knee": ("RightLeg", "RightKnee", "RKnee"),
    "left_ankle": ("LeftFoot", "LeftAnkle", "LAnkle"),
    "right_ankle": ("RightFoot", "RightAnkle", "RAnkle"),
    "left_foot_index": ("LeftToeBase/end", "LeftToe/end", "LeftToeBase", "LeftToe"),
    "right_foot_index": ("RightToeBase/end", "RightToe/end", "RightToeBase", "RightToe"),
    "left_shoulder": ("LeftArm", "LeftShoulder", "LShoulder"),
    "right_shoulder": ("RightArm", "RightShoulder", "RShoulder"),
    "left_elbow": ("LeftForeArm", "LeftElbow", "LElbow"),
    "right_elbow": ("RightForeArm", "RightElbow", "RElbow"),
    "left_wrist": ("LeftHand", "LeftWrist", "LWrist"),
    "right_wrist": ("RightHand", "RightWrist", "RWrist"),
    "left_index": ("LeftHandIndex1", "LFingers", "LeftFingerBase"),
    "right_index": ("RightHandIndex1", "RFingers", "RightFingerBase"),
    "left_thumb": ("LeftHandThumb", "LThumb"),
    "right_thumb": ("RightHandThumb", "RThumb"),
}

#: Plausible hip-to-ankle leg length (metres) used to recognise a BVH file's units.
_LEG_M = 0.8
_BVH_UNITS_TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254,
                   "cmu (1/0.45 inch)": 0.0254 / 0.45}


def read_bvh(path: str | Path, *, scale_m: float | None = None) -> PoseTrack:
    """Read a BVH motion file into a pose track (frame ``lab``, metres, Y up) by forward kinematics.

    Each joint's local rotation is built from its rotation channels in the
    order the file lists them (intrinsic, e.g. ``Zrotation Yrotation
    Xrotation`` -> Rz @ Ry @ Rx, scipy ``Rotation.from_euler("ZYX")``);
    a joint sits at ``parent + R_parent @ offset`` (plus the root's
    translation channels). Joints that map onto BlazePose landmarks
    (:data:`BVH_TO_BLAZEPOSE`) are filled; the rest are NaN. All joint
    positions are kept in ``meta["bvh_joints"]`` (names) and can be had from
    :func:`read_bvh_joints`.

    Parameters
    ----------
    path : BVH file
    scale_m : float, optional
        Metres per file unit. Default: recognised from the leg length (metres,
        centimetres, millimetres, inches, or the CMU ASF unit of 1/0.45 inch),
        recorded in ``meta["units_in_file"]``.
    """
    names, time_s, pos, rate = read_bvh_joints(path)
    units = "given"
    if scale_m is None:
        scale_m, units = _guess_bvh_scale(names, pos)
    mapping = {}
    for bp, cands in BVH_TO_BLAZEPOSE.items():
        found = next((c for c in cands if c in names), None)
        if found is not None:
            mapping[found] = bp
    return _mocap_track(path, names, time_s, pos * scale_m, rate, mapping, kind="joint",
                        meta={"model": "mocap:bvh", "bvh_joints": names, "units_in_file": units,
                              "scale_m": scale_m})


def read_bvh_joints(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """Raw BVH forward kinematics: joint names (End Sites as ``<parent>/end``), times (T,) s,
    positions (T, J, 3) in file units, frame rate (Hz)."""
    from scipy.spatial.transform import Rotation

    p = Path(path)
    _check_mocap_file(p, "BVH file")
    try:
        lines = p.read_text(errors="replace").splitlines()
        joints: list[dict] = []   # name, parent index, offset, channels
        stack: list[int] = []
        li = 0
        pending = None
        while li < len(lines):
            tok = lines[li].split()
            li += 1
            if not tok:
                continue
            key = tok[0].upper()
            if key in ("ROOT", "JOINT"):
                pending = {"name": tok[1], "parent": stack[-1] if stack else -1, "offset": np.zeros(3),
                           "channels": []}
            elif key == "END":
                parent = stack[-1]
                pending = {"name": joints[parent]["name"] + "/end", "parent": parent,
                           "offset": np.zeros(3), "channels": []}
            elif key == "{":
                joints.append(pending)
                stack.append(len(joints) - 1)
            elif key == "}":
                stack.pop()
            elif key == "OFFSET":
                joints[stack[-1]]["offset"] = np.array([float(v) for v in tok[1:4]])
            elif key == "CHANNELS":
                joints[stack[-1]]["channels"] = tok[2:2 + int(tok[1])]
            elif key == "MOTION":
                break
            if len(joints) > MAX_KEYPOINTS:
                raise LabError(f"{p}: its hierarchy has more than {MAX_KEYPOINTS} joints; at most "
                               f"{MAX_KEYPOINTS} are accepted", exit_code=2)
        n_frames = int(lines[li].split()[1])
        frame_time = float(lines[li + 1].split()[2])
        _check_mocap_counts(p, "BVH file", n_frames, len(joints))
        if not (np.isfinite(frame_time) and frame_time > 0):
            raise LabError(f"{p}: Frame Time is {frame_time:g}; it must be a positive number of seconds",
                           exit_code=2)
        n_ch = sum(len(j["channels"]) for j in joints)
        data = np.full((n_frames, n_ch), np.nan)
        row = 0
        for line in lines[li + 2:]:
            if row == n_frames:
                break
            vals = line.split()
            if not vals:
                continue
            if len(vals) != n_ch:
                raise LabError(f"{p}: motion rows have {len(vals)} values, the hierarchy declares {n_ch} "
                               "channels", exit_code=2)
            data[row] = [float(v) for v in vals]
            row += 1
        data = data[:row]
        _check_mocap_counts(p, "BVH file", row, len(joints))
    except (OSError, IndexError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LabError(f"{p} is not a readable BVH file ({exc.__class__.__name__})", exit_code=2) from None
    T, J = len(data), len(joints)
    pos = np.zeros((T, J, 3))
    rot = np.zeros((T, J, 3, 3))
    col = 0
    for j, jt in enumerate(joints):
        ch = jt["channels"]
        vals = data[:, col:col + len(ch)]
        col += len(ch)
        trans = np.zeros((T, 3))
        rot_axes, rot_cols = "", []
        for c, name in enumerate(ch):
            axis = name[0].upper()
            if name.lower().endswith("position"):
                trans[:, "XYZ".index(axis)] = vals[:, c]
            elif name.lower().endswith("rotation"):
                rot_axes += axis
                rot_cols.append(c)
        try:
            local = (Rotation.from_euler(rot_axes, vals[:, rot_cols], degrees=True).as_matrix()
                     if rot_axes else np.tile(np.eye(3), (T, 1, 1)))
        except ValueError as exc:  # e.g. "XXYZ": not an Euler sequence
            raise LabError(f"{p}: joint {jt['name']} has rotation channels {rot_axes!r} ({exc})",
                           exit_code=2) from None
        if jt["parent"] < 0:
            pos[:, j] = jt["offset"] + trans
            rot[:, j] = local
        else:
            pr = rot[:, jt["parent"]]
            pos[:, j] = pos[:, jt["parent"]] + np.einsum("tij,tj->ti", pr, jt["offset"] + trans)
            rot[:, j] = pr @ local
    names = [jt["name"] for jt in joints]
    return names, np.arange(T) * frame_time, pos, 1.0 / frame_time


def _guess_bvh_scale(names: list[str], pos: np.ndarray) -> tuple[float, str]:
    legs = []
    for side in ("Left", "Right"):
        hip = next((n for n in (f"{side}UpLeg", f"{side}Hip") if n in names), None)
        knee = next((n for n in (f"{side}Leg", f"{side}Knee") if n in names), None)
        ank = next((n for n in (f"{side}Foot", f"{side}Ankle") if n in names), None)
        if hip and knee and ank:
            a, b, c = (pos[0, names.index(n)] for n in (hip, knee, ank))
            legs.append(np.linalg.norm(b - a) + np.linalg.norm(c - b))
    if not legs:
        return 1.0, "m (assumed: no leg joints to check)"
    leg = float(np.mean(legs))
    unit = min(_BVH_UNITS_TO_M, key=lambda u: abs(np.log(leg * _BVH_UNITS_TO_M[u] / _LEG_M)))
    return _BVH_UNITS_TO_M[unit], unit


def read_mocap(path: str | Path) -> PoseTrack:
    """A motion capture file (``.trc`` or ``.bvh``) as a pose track in frame ``lab``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".trc":
        return read_trc(path)
    if suffix == ".bvh":
        return read_bvh(path)
    raise LabError(f"{path}: unknown motion capture format {suffix!r} (expected .trc or .bvh)", exit_code=2)


# ------------------------------------------------------------------ TRC out
_BLAZEPOSE_TO_TRC = {v: k for k, v in TRC_TO_BLAZEPOSE.items()}


def write_trc(track: PoseTrack, path: str | Path) -> Path:
    """Write the 3D landmarks of ``track`` as a TRC marker file (metres), atomically.

    Landmarks that have a usual TRC name (:data:`TRC_TO_BLAZEPOSE`) are written
    under it (``LHip``...), others under their BlazePose name; landmarks never
    seen are left out; missing samples are empty fields. Frames ``lab`` and
    ``body`` are written as they are (Y up); a ``camera`` track (Y down) is
    turned 180 degrees about X so Y is up. For Blender/OpenSim.
    """
    from lab.io import atomic_path

    if track.world_m is None:
        raise LabError("this pose track has no 3D landmarks to write as TRC", exit_code=4)
    x = np.asarray(track.world_m, dtype=np.float64)
    if track.frame == "camera":
        x = x * np.array([1.0, -1.0, -1.0])
    keep = [j for j in range(len(track.keypoints)) if np.isfinite(x[:, j]).all(-1).any()]
    names = [_BLAZEPOSE_TO_TRC.get(track.keypoints[j], track.keypoints[j]) for j in keep]
    rate = track.fps if np.isfinite(track.fps) else 0.0
    T = track.n_frames
    path = Path(path)
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate:g}\t{rate:g}\t{T}\t{len(keep)}\tm\t{rate:g}\t1\t{T}",
             "Frame#\tTime\t" + "\t".join(f"{n}\t\t" for n in names).rstrip("\t"),
             "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, len(keep) + 1)),
             ""]
    for f in range(T):
        vals = [repr(float(v)) if np.isfinite(v) else "" for v in x[f, keep].ravel()]
        lines.append(f"{f + 1}\t{float(track.time_s[f])!r}\t" + "\t".join(vals))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path
