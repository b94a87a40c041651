"""Pinhole camera model: intrinsics, extrinsics, projection.

A :class:`Camera` maps world points (metres) to image pixels:
``x_cam = R @ X + t``, then the pinhole ``K`` with OpenCV's distortion model.
Camera axes follow OpenCV: x right, y down, z forward (viewing direction).
It lives with the pose structure, below every stage that uses it
(:mod:`lab.lift` for viewing rays, :mod:`lab.align` for viewpoints).
"""

from __future__ import annotations

import dataclasses

import numpy as np

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
