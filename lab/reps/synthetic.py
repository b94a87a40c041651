"""Clips with known repetitions: one motion-capture repetition repeated K times, at varying tempo,
with pauses, optionally one repetition altered and a partial one in front (for tests and measurement)."""

from __future__ import annotations

import dataclasses

import numpy as np

from lab.pose.track import PoseTrack
from lab.reps.segment import Repetition


@dataclasses.dataclass(frozen=True)
class RepeatedClip:
    """A repeated motion and its answers.

    Attributes
    ----------
    track : PoseTrack
        Frame ``lab`` (as the repetition given), times from 0.
    starts_s, ends_s : tuple of float
        Each full repetition's first and last time, seconds.
    partial : tuple of (float, float) or None
        The partial repetition in front (the second half of one), if any.
    altered : int or None
        0-based index (among the full repetitions) of the altered one.
    partial_back : tuple of (float, float) or None
        The partial repetition at the end (the first half of one), if any.
    pose_time_s : ndarray
        (T,) for each frame of ``track``, the time in the repetition given whose
        pose it shows (a pause holds the last one): what
        :func:`lab.score.uncertainty.film_like_mediapipe` locks a share of its
        noise to, so that a pose filmed again errs again.
    """

    track: PoseTrack
    starts_s: tuple[float, ...]
    ends_s: tuple[float, ...]
    partial: tuple[float, float] | None
    altered: int | None
    pose_time_s: np.ndarray
    partial_back: tuple[float, float] | None = None

    def repetitions(self) -> list[Repetition]:
        """The full repetitions as :class:`lab.reps.segment.Repetition` (the answers, as found ones are
        given; ``cost_fraction`` 0)."""
        return [Repetition(index=k + 1, start_s=a, end_s=b, partial=False, cost_fraction=0.0)
                for k, (a, b) in enumerate(zip(self.starts_s, self.ends_s))]


def warp(track: PoseTrack, *, tempo: float, rate_hz: float) -> PoseTrack:
    """``track`` played ``tempo`` times slower (1.3 = 30% longer), resampled at ``rate_hz``, times from 0."""
    t = track.time_s - track.time_s[0]
    n = int(np.floor(t[-1] * tempo * rate_hz)) + 1
    new_t = np.arange(n) / rate_hz
    src = new_t / tempo

    def resample(arr):
        if arr is None:
            return None
        flat = arr.reshape(len(t), -1)
        out = np.empty((n, flat.shape[1]))
        for k in range(flat.shape[1]):
            out[:, k] = np.interp(src, t, flat[:, k])
        return out.reshape((n,) + arr.shape[1:])

    return track.replace(time_s=new_t, world_m=resample(track.world_m), visibility=resample(track.visibility),
                         presence=resample(track.presence), image_px=None, image_z=None)


def repeat_motion(rep: PoseTrack, *, count: int, rng: np.random.Generator, rate_hz: float = 30.0,
                  tempo_range: tuple[float, float] = (0.7, 1.3), pause_range_s: tuple[float, float] = (0.0, 1.0),
                  alter=None, partial_front: bool = False, partial_back: bool = False) -> RepeatedClip:
    """``rep`` (frame ``lab``) repeated ``count`` times.

    Each repetition is played at a tempo drawn from ``tempo_range`` and
    followed by a pause drawn from ``pause_range_s`` (the last pose held).
    ``alter``: a function ``track -> track`` applied to one repetition drawn
    at random. ``partial_front``: the clip starts with the second half of a
    repetition; ``partial_back``: it ends with the first half of one, after
    a pause (the clip cut while the player began another). The draws for the
    end come after all the others, so a clip with it is the one without it
    followed by a pause and half a repetition.
    """
    pieces, vis, pose_t, starts, ends = [], [], [], [], []
    partial = None
    t0 = 0.0
    rep_s = float(rep.time_s[-1] - rep.time_s[0])

    def hold_last(pause_s: float) -> int:
        """Hold the last pose added for ``pause_s``; the frames added."""
        hold = int(round(pause_s * rate_hz))
        if hold:
            pieces.append(np.repeat(pieces[-1][-1:], hold, axis=0))
            vis.append(np.repeat(vis[-1][-1:], hold, axis=0))
            pose_t.append(np.repeat(pose_t[-1][-1:], hold))
        return hold

    def add(piece: PoseTrack, pause_s: float, tempo: float, first: int = 0) -> tuple[float, float]:
        nonlocal t0
        n = piece.n_frames
        times = t0 + np.arange(n) / rate_hz
        pieces.append(piece.world_m)
        vis.append(piece.visibility if piece.visibility is not None else np.ones(piece.world_m.shape[:2]))
        pose_t.append(np.minimum((first + np.arange(n)) / (rate_hz * tempo), rep_s))
        t0 = times[-1] + (hold_last(pause_s) + 1) / rate_hz
        return float(times[0]), float(times[-1])

    if partial_front:
        tempo = float(rng.uniform(*tempo_range))
        w = warp(rep, tempo=tempo, rate_hz=rate_hz)
        half = w.select_frames(np.arange(w.n_frames // 2, w.n_frames))
        partial = add(half, float(rng.uniform(*pause_range_s)), tempo, first=w.n_frames // 2)
    altered = int(rng.integers(count)) if alter is not None else None
    for k in range(count):
        tempo = float(rng.uniform(*tempo_range))
        w = warp(rep, tempo=tempo, rate_hz=rate_hz)
        if k == altered:
            w = alter(w)
        a, b = add(w, float(rng.uniform(*pause_range_s)) if k < count - 1 else 0.0, tempo)
        starts.append(a)
        ends.append(b)
    back = None
    if partial_back:
        t0 += hold_last(float(rng.uniform(*pause_range_s))) / rate_hz  # the last full repetition's pause
        tempo = float(rng.uniform(*tempo_range))
        w = warp(rep, tempo=tempo, rate_hz=rate_hz)
        back = add(w.select_frames(np.arange(0, w.n_frames // 2)), 0.0, tempo)
    world = np.concatenate(pieces)
    v = np.concatenate(vis)
    track = PoseTrack(time_s=np.arange(len(world)) / rate_hz, keypoints=rep.keypoints, world_m=world,
                      visibility=v, presence=v.copy(), frame=rep.frame, meta={**rep.meta, "fps": rate_hz})
    return RepeatedClip(track=track, starts_s=tuple(starts), ends_s=tuple(ends), partial=partial, altered=altered,
                        pose_time_s=np.concatenate(pose_t), partial_back=back)
