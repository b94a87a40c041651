"""Features of a pose stream, one frame at a time, from past frames only.

The same features as :func:`lab.features.compute_features` (joint angles,
body-frame positions, angular velocities; same names, same order), each frame
computed by :func:`compute_angles` and :func:`compute_positions` on that frame
alone. What the offline function does with the whole clip (a zero-phase
low-pass, then the derivative) is done over a short window of past frames,
centred on its middle (:class:`StreamFeatures`).
"""

from __future__ import annotations

import collections

import numpy as np

from lab.features.angles import compute_angles, compute_positions
from lab.lift.stream import LiftedFrame
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack


class StreamFeatures:
    """One row of features per lifted frame, for the moment half a window before it.

    Offline, angles and positions are low-passed at 6 Hz with zero phase and
    velocities are their derivative. Causally the same is had by a short delay:
    over the frames of the last ``window_s`` seconds, each angle and position is
    averaged and each angle's velocity is the least-squares slope, both centred
    on the window's middle (a box of 1/6 s has its first zero at 6 Hz). The
    row describes the pose ``window_s / 2`` before the frame just pushed.

    Parameters
    ----------
    keypoints : tuple of str
        Landmark names of the frames.
    window_s : float
        Seconds of frames each row averages.
    """

    def __init__(self, *, keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS, window_s: float = 1.0 / 6):
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.keypoints = tuple(keypoints)
        self.window_s = window_s
        self.names: tuple[str, ...] | None = None
        self._recent: collections.deque = collections.deque()  # (time_s, values (A + P,), confidence (A + P,))
        self._n_angles = 0

    def push(self, frame: LiftedFrame) -> tuple[float, np.ndarray, np.ndarray, tuple[str, ...]] | None:
        """Take one lifted frame; return the features centred ``window_s / 2`` before it.

        Returns
        -------
        (time_s, values (F,), confidence (F,) in [0, 1], names), or None until the window holds
        three frames.
        """
        t = np.array([frame.time_s])
        meta = {"lift": {"rotation": frame.rotation.tolist(), "heading": "clip", "source_frame": "camera"}}
        body = PoseTrack(time_s=t, keypoints=self.keypoints, world_m=frame.body_m[None],
                         visibility=frame.visibility[None], frame="body", meta=meta)
        camera = PoseTrack(time_s=t, keypoints=self.keypoints, world_m=frame.camera_m[None],
                           visibility=frame.visibility[None], frame="camera")
        ang, ang_conf, ang_names = compute_angles(body, camera=camera)
        pos, pos_conf, pos_names, _ = compute_positions(body, camera=camera)
        self._n_angles = A = len(ang_names)
        self.names = names = ang_names + pos_names + tuple(f"vel:{n}" for n in ang_names)
        self._recent.append((frame.time_s, np.concatenate([ang[0], pos[0]]), np.concatenate([ang_conf[0], pos_conf[0]])))
        while self._recent[0][0] < frame.time_s - self.window_s - 1e-6:
            self._recent.popleft()
        if len(self._recent) < 3:
            return None
        ts = np.array([r[0] for r in self._recent])
        X = np.array([r[1] for r in self._recent])
        C = np.array([r[2] for r in self._recent])
        ok = np.isfinite(X)
        n = ok.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n * 2 >= len(ts), np.nansum(X, axis=0) / n, np.nan)
            tw = np.where(ok, ts[:, None], np.nan)
            tbar = np.nansum(tw, axis=0) / n
            dt = np.where(ok, ts[:, None] - tbar, 0.0)
            slope = np.sum(dt * np.where(ok, X - mean, 0.0), axis=0) / np.sum(dt ** 2, axis=0)
        vel = np.where((n[:A] >= 3) & np.isfinite(mean[:A]), slope[:A], np.nan)
        conf = np.where(ok, C, 0.0).mean(axis=0)
        values = np.concatenate([mean, vel])
        conf = np.concatenate([conf, conf[:A]])
        return float(ts.mean()), values, np.where(np.isfinite(values), conf, 0.0), names

    def reset(self) -> None:
        """Forget the frames of the window (after a gap)."""
        self._recent.clear()
