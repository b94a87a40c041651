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
    K = len(BLAZEPOSE_KEYPOINTS)
    world = np.full((len(time_s), K, 3), np.nan)
    mapped = {}
    for j, n in enumerate(names):
        bp = TRC_TO_BLAZEPOSE.get(n)
        if bp is not None:
            world[:, BLAZEPOSE_KEYPOINTS.index(bp)] = xyz[:, j]
            mapped[n] = bp
    if not mapped:
        raise LabError(f"{path}: none of its markers ({', '.join(names[:6])}...) map onto body landmarks",
                       exit_code=2)
    return PoseTrack(time_s=time_s, keypoints=BLAZEPOSE_KEYPOINTS, world_m=world, frame="lab",
                     meta={"source": str(path), "fps": rate, "frame_count": len(time_s),
                           "model": "mocap:trc", "trc_markers": names, "mapped": mapped,
                           "units_in_file": units})


def read_trc_markers(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, float, str]:
    """Raw TRC content: marker names, times (T,) s, positions (T, M, 3) m, rate (Hz), file units."""
    p = Path(path)
    try:
        lines = p.read_text(errors="replace").splitlines()
        header_keys = lines[1].split("\t")
        header_vals = lines[2].split("\t")
        info = dict(zip(header_keys, header_vals))
        names = [n for n in lines[3].split("\t")[2:] if n.strip()]
        rows = [l.split("\t") for l in lines[5:] if l.strip()]
        data = np.array([[float(v) if v.strip() else np.nan for v in r[:2 + 3 * len(names)]]
                         + [np.nan] * max(0, 2 + 3 * len(names) - len(r)) for r in rows])
    except (OSError, IndexError, ValueError) as exc:
        raise LabError(f"{p} is not a readable TRC file ({exc.__class__.__name__})", exit_code=2) from None
    rate = float(info.get("DataRate") or info.get("CameraRate") or 0) or float("nan")
    units = info.get("Units", "m").strip()
    scale = _UNITS_TO_M.get(units.lower(), 1.0)
    time_s = data[:, 1]
    xyz = data[:, 2:].reshape(len(data), len(names), 3) * scale
    return names, time_s, xyz, rate, units
