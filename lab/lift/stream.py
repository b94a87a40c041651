"""Lifting one frame at a time, from past frames only: the body frame of a live stream.

:func:`lab.lift.lift_track` sees the whole clip: its flip repair is a
Viterbi pass over every frame, its low-pass is zero-phase, its vertical,
heading and bone lengths are clip medians. A live comparison has no future
frames, so :class:`StreamLifter` does each step causally:

1. **Flips**: the forward half of :func:`lab.lift.body.detect_flips`'s
   two-state dynamic programme (same costs), deciding each frame from the
   frames before it; a flipped frame is repaired by
   :func:`lab.lift.body.flip_repaired` before filtering, as offline.
2. **Low-pass**: two cascaded first-order filters whose combined -3 dB point
   is ``cutoff_hz``, with the time step taken from the frames' own times (a
   stream drops frames when it falls behind); reset after a gap of more than
   ``max_gap_s``.
3. **Vertical, heading, bone lengths**: medians over the last ``history_s``
   seconds, refitted every ``refit_every_s``.
4. **Body frame**: the hip-centred pose rotated into the body axes
   (:func:`lab.lift.body.canonical_rotation`) and its bones held at their
   running lengths (:func:`lab.lift.clean.enforce_bone_lengths`).
"""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from lab.lift.body import (
    _mid,
    canonical_rotation,
    estimate_up_axis,
    flip_repaired,
    heading_deg,
    horizontal_basis,
    viewing_rays,
)
from lab.lift.circular import circular_median_deg, wrap_deg
from lab.lift.clean import enforce_bone_lengths, measure_bone_lengths
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack

#: A first-order stage's cut-off over the cascade's: two identical stages are 3 dB down where
#: each alone is sqrt(2) - 1 = 0.414 in power, i.e. at sqrt(sqrt(2) - 1) = 0.644 of a stage's cut-off.
_CASCADE = math.sqrt(math.sqrt(2.0) - 1.0)


class CausalLowpass:
    """Two cascaded first-order low-pass filters, -3 dB at ``cutoff_hz`` together, for samples at any times.

    Each stage is ``y += a (x - y)`` with ``a = 1 - exp(-2 pi f dt)`` for the time ``dt`` since the
    last sample, so dropped frames are handled. NaN entries pass through and leave their state as it was;
    ``max_gap_s`` without samples restarts the filter at the next one.
    """

    def __init__(self, *, cutoff_hz: float, max_gap_s: float = 0.25):
        if cutoff_hz <= 0:
            raise ValueError("cutoff_hz must be positive")
        self.stage_hz = cutoff_hz / _CASCADE
        self.max_gap_s = max_gap_s
        self.reset()

    def reset(self) -> None:
        self._stages: list[np.ndarray] | None = None
        self._last_t = -np.inf

    def push(self, time_s: float, x: np.ndarray) -> np.ndarray:
        """The filtered value of ``x`` (any shape) at ``time_s`` (increasing)."""
        x = np.asarray(x, dtype=np.float64)
        dt = time_s - self._last_t
        self._last_t = time_s
        ok = np.isfinite(x)
        if self._stages is None or dt > self.max_gap_s:
            self._stages = [np.where(ok, x, np.nan), np.where(ok, x, np.nan)]
            return x.copy()
        alpha = 1.0 - math.exp(-2.0 * math.pi * self.stage_hz * dt)
        y = x
        for stage in self._stages:
            fresh = ok & ~np.isfinite(stage)  # a value seen for the first time starts its own state
            stage[fresh] = y[fresh]
            upd = ok & np.isfinite(stage)
            stage[upd] += alpha * (y[upd] - stage[upd])
            y = stage
        return np.where(ok, y, np.nan)


#: While the history is shorter than ``warmup_s``, a vertical tilted further than this from the camera's up is
#: replaced by the camera's up (degrees).
MAX_WARMUP_TILT_DEG = 45.0


@dataclasses.dataclass(frozen=True)
class LiftedFrame:
    """One frame of a stream in the body frame.

    Attributes
    ----------
    time_s : float
        Seconds on the stream's clock.
    body_m : ndarray, shape (K, 3)
        Body frame (metres; origin mid-hip, x = the subject's left, y = up, z = front).
    camera_m : ndarray, shape (K, 3)
        The same landmarks filtered, in the camera's axes (metres, origin mid-hip).
    rotation : ndarray, shape (3, 3)
        Rows = the body axes in the camera's axes.
    visibility : ndarray, shape (K,)
        In [0, 1], lowered on a repaired flip, 0 where missing.
    flipped : bool
        This frame was a front/back flip and was repaired.
    """

    time_s: float
    body_m: np.ndarray
    camera_m: np.ndarray
    rotation: np.ndarray
    visibility: np.ndarray
    flipped: bool


class StreamLifter:
    """Causal body frame of a MediaPipe pose stream (see the module docstring).

    Parameters
    ----------
    keypoints : tuple of str
        Landmark names of every frame pushed.
    width, height : int, optional
        The image size (pixels): the viewing ray through the hips needs it to
        repair a flip exactly; without it the optical axis is used.
    cutoff_hz : float
        Low-pass cut-off, Hz.
    history_s : float
        Seconds of past frames the vertical, heading and bone lengths come from.
    refit_every_s : float
        How often those are refitted, seconds; every frame while the history spans less than
        ``warmup_s``, during which a vertical tilted more than :data:`MAX_WARMUP_TILT_DEG` from the
        camera's up is replaced by it (a vertical from the first few frames can point anywhere, and
        the flips are judged by the heading about it).
    max_gap_s : float
        A gap longer than this restarts the filter and the flip chain.
    margin_deg, repair_cost_deg_per_s : float
        The flip programme's costs (:func:`lab.lift.body.detect_flips`).
    flipped_confidence : float
        Factor on the visibility of a repaired frame.
    """

    def __init__(self, *, keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS, width: int | None = None,
                 height: int | None = None, cutoff_hz: float = 6.0, history_s: float = 3.0,
                 refit_every_s: float = 0.5, warmup_s: float = 1.0, max_gap_s: float = 0.2, margin_deg: float = 30.0,
                 repair_cost_deg_per_s: float = 60.0, flipped_confidence: float = 0.8):
        if cutoff_hz <= 0 or history_s <= 0 or refit_every_s <= 0:
            raise ValueError("cutoff_hz, history_s and refit_every_s must be positive")
        self.keypoints = tuple(keypoints)
        self.meta = {"width": width, "height": height} if width and height else {}
        self.lowpass = CausalLowpass(cutoff_hz=cutoff_hz, max_gap_s=max_gap_s)
        self.history_s, self.refit_every_s, self.max_gap_s = history_s, refit_every_s, max_gap_s
        self.warmup_s = warmup_s
        self.margin_deg, self.repair_cost_deg_per_s = margin_deg, repair_cost_deg_per_s
        self.flipped_confidence = flipped_confidence
        self.history: collections.deque = collections.deque()  # (time_s, filtered camera-frame pose)
        self.up = np.array([0.0, -1.0, 0.0])
        self.front: np.ndarray | None = None
        self.lengths: dict | None = None
        self._last_t = -np.inf
        self._last_refit = -np.inf
        self._costs = np.zeros(2)
        self._headings: np.ndarray | None = None

    # ------------------------------------------------------------------ pieces
    def _track(self, time_s: float, world_m: np.ndarray, image_px: np.ndarray | None,
               visibility: np.ndarray) -> PoseTrack:
        return PoseTrack(time_s=np.array([time_s]), keypoints=self.keypoints, world_m=world_m[None],
                         image_px=None if image_px is None else image_px[None],
                         visibility=visibility[None], frame="camera", meta=self.meta)

    def _flip_step(self, one: PoseTrack, dt_s: float) -> bool:
        """One step of the forward flip programme; True if this frame reads better repaired."""
        basis = horizontal_basis(self.up)
        th = float(heading_deg(one.world_m, self.keypoints, self.up, basis)[0])
        ray = viewing_rays(one)[0]
        ray_deg = math.degrees(math.atan2(ray @ basis[1], ray @ basis[0]))
        readings = np.array([th, float(wrap_deg(2 * ray_deg + 180.0 - th))])
        if not np.isfinite(readings).all():
            return False
        repair = self.repair_cost_deg_per_s * dt_s
        if self._headings is None:
            new = np.array([0.0, repair])
        else:
            new = np.empty(2)
            for s in range(2):
                new[s] = min(self._costs[p] + abs(float(wrap_deg(readings[s] - self._headings[p])))
                             + (self.margin_deg if p != s else 0.0) for p in range(2)) + (repair if s else 0.0)
        self._costs = new - new.min()
        self._headings = readings
        return bool(new[1] < new[0])

    def _refit(self, time_s: float) -> None:
        while self.history and self.history[0][0] < time_s - self.history_s:
            self.history.popleft()
        world = np.stack([w for _, w in self.history])
        # the body's vertical needs a median over enough frames (one frame's legs can point anywhere):
        # until then an estimate more than MAX_WARMUP_TILT_DEG from the camera's own up (MediaPipe's -y,
        # the displayed image's up) is not believed, and the camera's up stands in for it
        up = estimate_up_axis(world, self.keypoints)
        camera_up = np.array([0.0, -1.0, 0.0])
        warm = self.history[-1][0] - self.history[0][0] >= self.warmup_s
        self.up = up if warm or up @ camera_up >= math.cos(math.radians(MAX_WARMUP_TILT_DEG)) else camera_up
        basis = horizontal_basis(self.up)
        th = circular_median_deg(heading_deg(world, self.keypoints, self.up, basis))
        if np.isfinite(th):
            self.front = math.cos(math.radians(th)) * basis[0] + math.sin(math.radians(th)) * basis[1]
        self.lengths = measure_bone_lengths(world, self.keypoints)
        self._last_refit = time_s

    def reset(self) -> None:
        """Forget the filter and the flip chain (after a gap); the running body model is kept."""
        self.lowpass.reset()
        self._headings, self._costs = None, np.zeros(2)

    # ------------------------------------------------------------------ the step
    def push(self, time_s: float, world_m: np.ndarray, *, image_px: np.ndarray | None = None,
             visibility: np.ndarray | None = None) -> LiftedFrame | None:
        """Lift one frame.

        Parameters
        ----------
        time_s : float
            Seconds, increasing from frame to frame.
        world_m : ndarray, shape (K, 3)
            MediaPipe's world landmarks (frame ``camera``); NaN where nobody was found.
        image_px : ndarray, shape (K, 2), optional
            Image landmarks (pixels), for the viewing ray.
        visibility : ndarray, shape (K,), optional

        Returns
        -------
        LiftedFrame or None
            None while nobody is seen.
        """
        if time_s <= self._last_t:
            raise ValueError(f"frame times must increase ({time_s} after {self._last_t})")
        world_m = np.asarray(world_m, dtype=np.float64)
        vis = (np.isfinite(world_m).all(-1).astype(float) if visibility is None
               else np.asarray(visibility, dtype=np.float64).copy())
        hip = _mid(world_m, self.keypoints, "left_hip", "right_hip")
        if not np.isfinite(hip).all():
            return None
        dt = time_s - self._last_t
        if dt > self.max_gap_s:
            self.reset()
            dt = 0.0
        self._last_t = time_s
        one = self._track(time_s, world_m, image_px, vis)
        flipped = self._flip_step(one, dt)
        if flipped:
            one = flip_repaired(one, np.array([0]))
            vis = one.visibility[0] * self.flipped_confidence
        x = one.world_m[0]
        ok = np.isfinite(x).all(-1)
        filtered = self.lowpass.push(time_s, np.where(ok[:, None], x, np.nan))
        vis[~ok] = 0.0
        self.history.append((time_s, filtered))
        warming_up = self.history[-1][0] - self.history[0][0] < self.warmup_s
        if warming_up or time_s - self._last_refit >= self.refit_every_s or self.lengths is None:
            self._refit(time_s)
        front = self.front
        if front is None:
            basis = horizontal_basis(self.up)
            th = float(heading_deg(filtered[None], self.keypoints, self.up, basis)[0])
            th = th if np.isfinite(th) else 0.0
            front = math.cos(math.radians(th)) * basis[0] + math.sin(math.radians(th)) * basis[1]
        R = canonical_rotation(self.up, front)
        rel = filtered - _mid(filtered[None], self.keypoints, "left_hip", "right_hip")[0]
        body = rel @ R.T
        body = enforce_bone_lengths(body[None], self.keypoints, lengths_m=self.lengths)[0]
        vis[~np.isfinite(body).all(-1)] = 0.0
        return LiftedFrame(time_s=time_s, body_m=body, camera_m=rel, rotation=R, visibility=vis,
                           flipped=flipped)
