"""Pinhole cameras: intrinsics, extrinsics, projection, and calibration files.

A :class:`Camera` maps world points (metres) to image pixels:
``x_cam = R @ X + t``, then the pinhole ``K`` with OpenCV's distortion model.
Camera axes follow OpenCV: x right, y down, z forward (viewing direction).
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lab.io import LabError

#: Default horizontal-or-vertical field of view assumed for the longer image
#: side when a video has no calibration (a typical phone main camera in video
#: mode spans about 60-70 degrees on its long side).
DEFAULT_FOV_DEG = 65.0


@dataclasses.dataclass
class Camera:
    """A calibrated pinhole camera.

    Attributes
    ----------
    K : ndarray (3, 3)
        Intrinsic matrix, pixels.
    dist : ndarray (5,)
        OpenCV distortion (k1, k2, p1, p2, k3).
    R : ndarray (3, 3)
        World-to-camera rotation.
    t : ndarray (3,)
        World-to-camera translation, metres.
    width, height : int
        Image size, pixels.
    name : str
    """

    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int
    name: str = ""

    @property
    def centre_m(self) -> np.ndarray:
        """Camera centre in world coordinates, metres (3,)."""
        return -self.R.T @ self.t

    def project(self, points_m: np.ndarray) -> np.ndarray:
        """Project world points (..., 3) metres to pixels (..., 2); NaN stays NaN."""
        import cv2

        pts = np.asarray(points_m, dtype=np.float64)
        flat = pts.reshape(-1, 3)
        out = np.full((len(flat), 2), np.nan)
        ok = np.isfinite(flat).all(1)
        if ok.any():
            rvec, _ = cv2.Rodrigues(self.R)
            img, _ = cv2.projectPoints(flat[ok], rvec, self.t.astype(np.float64), self.K, self.dist)
            out[ok] = img.reshape(-1, 2)
        return out.reshape(*pts.shape[:-1], 2)


def intrinsics_from_fov(width: int, height: int, *, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """Pinhole K for an image whose longer side spans ``fov_deg`` degrees, principal point at the centre."""
    f = (max(width, height) / 2) / np.tan(np.radians(fov_deg) / 2)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])


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
