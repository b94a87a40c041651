"""Calibration files: Qualisys ``.qca.txt`` cameras, and the TRC to calibration axes.

The camera model itself (:class:`lab.pose.camera.Camera`) lives in
:mod:`lab.pose.camera`, below every stage; it is re-exported here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lab.io import LabError
from lab.pose.camera import DEFAULT_FOV_DEG, Camera, intrinsics_from_fov

__all__ = ["DEFAULT_FOV_DEG", "Camera", "intrinsics_from_fov", "read_qca", "y_up_to_z_up"]

def read_qca(path: str | Path) -> dict[str, Camera]:
    """Read a Qualisys ``.qca.txt`` calibration (as shipped with Pose2Sim) into cameras.

    World frame of the result: the calibration's own (metres, Z up). Conventions
    (from Pose2Sim's converter): M = r11..r33, T = (x, y, z) / 1000,
    R = diag(1, -1, -1) @ M, t = -R @ T; intrinsics divided by 64 with the
    principal point shifted by the ``fov_video`` left/top offsets.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise LabError(f"cannot read calibration {path}: {exc}", exit_code=2) from None
    cams: dict[str, Camera] = {}
    for cam in root.iter("camera"):
        name = cam.get("serial") or f"cam{len(cams) + 1:02d}"
        fov = cam.find("fov_video").attrib
        tr = cam.find("transform").attrib
        intr = cam.find("intrinsic").attrib
        M = np.array([[float(tr[f"r{i}{j}"]) for j in (1, 2, 3)] for i in (1, 2, 3)])
        T = np.array([float(tr[k]) for k in "xyz"]) / 1000.0
        R = np.diag([1.0, -1.0, -1.0]) @ M
        t = -R @ T
        left, top = float(fov["left"]), float(fov["top"])
        w = int(float(fov["right"]) - left + 1)
        h = int(float(fov["bottom"]) - top + 1)
        fu, fv = float(intr["focalLengthU"]) / 64, float(intr["focalLengthV"]) / 64
        cu, cv = float(intr["centerPointU"]) / 64 - left, float(intr["centerPointV"]) / 64 - top
        K = np.array([[fu, 0, cu], [0, fv, cv], [0, 0, 1.0]])
        dist = np.array([float(intr["radialDistortion1"]), float(intr["radialDistortion2"]),
                         float(intr["tangentalDistortion1"]), float(intr["tangentalDistortion2"]),
                         float(intr["radialDistortion3"])])
        cams[name] = Camera(K=K, dist=dist, R=R, t=t, width=w, height=h, name=name)
    if not cams:
        raise LabError(f"{path} holds no cameras", exit_code=2)
    return cams


def y_up_to_z_up(points: np.ndarray) -> np.ndarray:
    """Reorder TRC-style (X, Y up, Z) coordinates to the calibration's (Z, X, Y) Z-up frame."""
    return np.asarray(points)[..., [2, 0, 1]]
