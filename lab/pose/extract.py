"""Pose extraction: video -> :class:`~lab.pose.track.PoseTrack`, with MediaPipe in VIDEO mode."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import warnings
from pathlib import Path

import numpy as np

from lab.io import LabError, cache_dir, quiet_stderr, sha256_file, write_bytes_atomic
from lab.pose.models import DEFAULT_MODEL, ensure_model
from lab.pose.track import (
    PoseFormatError,
    PoseTrack,
    check_track,
    read_track,
    track_from_landmarks,
    write_track,
)
from lab.pose.video import iter_frames, keyframe_indices, probe_video

#: Bumped when extraction changes what it produces (invalidates the cache).
EXTRACTOR_VERSION = 4


#: Frames whose longer side exceeds this are downscaled before colour conversion and inference.
#: Up to 1920 px (1080p) they go through as decoded: resizing a 1080x1920 frame to 1280 px costs
#: 1.85 ms and the landmarker is no faster on the smaller frame (16.7 against 16.1 ms, one core);
#: a 4K frame is halved (3 ms, saving 3.5 ms of conversion and inference).
DEFAULT_MAX_SIDE_PX = 1920

#: Following one of several people, everyone is detected on every frame by default (0). With a
#: period in seconds, MediaPipe's tracker follows one person and everyone is looked for that often
#: instead: about 1.5x faster on long clips, 1-5 px further from the ground truth on the Pose2Sim
#: views (see :func:`extract_pose` and the README).
DEFAULT_CHECK_EVERY_S = 0.0


class LowDetectionWarning(UserWarning):
    """The extraction's evidence is weak: few frames with a person, or frames missing."""


def make_landmarker(model_path: Path, *, max_people: int, min_confidence: float, video: bool = True):
    """A MediaPipe pose landmarker in VIDEO mode (one per thread: it keeps tracking state).

    With ``video=False`` it runs in IMAGE mode: every call detects people afresh.
    """
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_poses=max_people,
        min_pose_detection_confidence=min_confidence,
        min_pose_presence_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    )
    with quiet_stderr():
        return vision.PoseLandmarker.create_from_options(opts)


def read_candidates(result, width: int, height: int):
    """Per person in a landmarker result: (image_px (K,2), z (K,), world (K,3), vis (K,), pres (K,))."""
    out = []
    for lms, wlms in zip(result.pose_landmarks, result.pose_world_landmarks):
        a = np.array([[l.x, l.y, l.z, l.visibility or 0.0, l.presence or 0.0] for l in lms])
        w = np.array([[l.x, l.y, l.z] for l in wlms])
        img = a[:, :2] * (width, height)
        out.append((img, a[:, 2], w, a[:, 3], a[:, 4]))
    return out


def _bbox(img: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = np.nanmin(img, axis=0), np.nanmax(img, axis=0)
    return (lo + hi) / 2, float(np.hypot(*(hi - lo)))


def choose_person(cands, previous: np.ndarray | None, width: int, height: int,
                  *, gap_s: float, reacquire_s: float = 1.0) -> int | None:
    """Index of the candidate that continues the tracked person, or None.

    At the start (``previous`` is None): the largest, most central person
    (bounding-box diagonal times a centrality weight). Afterwards: the nearest
    to the previous pose (mean landmark distance relative to its size); within
    ``reacquire_s`` of the last sighting a candidate further than one body size
    away is rejected, so the track never jumps to another person.
    """
    if not cands:
        return None
    if previous is None:
        centre = np.array([width, height]) / 2
        diag_frame = float(np.hypot(width, height))
        scores = []
        for img, *_ in cands:
            c, size = _bbox(img)
            centrality = 1.0 - min(1.0, float(np.linalg.norm(c - centre)) / (diag_frame / 2))
            scores.append(size * (0.5 + centrality))
        return int(np.argmax(scores))
    _, prev_size = _bbox(previous)
    dists = [float(np.nanmean(np.linalg.norm(img - previous, axis=1))) / max(prev_size, 1.0)
             for img, *_ in cands]
    best = int(np.argmin(dists))
    if gap_s <= reacquire_s and dists[best] > 1.0:
        return None
    return best


#: Torso landmarks (shoulders, hips): their mean is the same whichever way left and right are labelled.
_TORSO = [11, 12, 23, 24]


def _torso_centre(img: np.ndarray) -> np.ndarray:
    return np.nanmean(img[_TORSO], axis=0)


def _same_person(a: list, b: list, *, match_size: float = 0.3) -> bool:
    """Whether two one-person tracker outputs hold the same person (torso centres within ``match_size`` of its size)."""
    if len(a) != 1 or len(b) != 1:
        return False
    return bool(np.linalg.norm(_torso_centre(a[0][0]) - _torso_centre(b[0][0])) < match_size * _bbox(b[0][0])[1])


def find_tracker_mistakes(times: list[float], cands: list[list], checks: dict, *, width: int, height: int,
                          restarts: list[int] = (), match_size: float = 0.3) -> list[tuple[int, int]]:
    """Stretches where MediaPipe's one-person tracker may not be on the person that is followed.

    Following one of several people, the landmarker tracks one person (its
    detector runs only when it loses them), and on a few frames a detector
    pass looks for everyone (``checks``). At each check, the followed person
    is chosen among everyone found, and the tracker's person if the detector
    missed them, by the rule :func:`track_person` applies
    (:func:`choose_person`: at first the largest and most central, then the
    one nearest the followed person's last pose). The check passes if the
    tracker's person is that one (the nearest detection, torso centres within
    ``match_size`` of its size, whichever way left and right are labelled), or
    if nobody is there to follow and the tracker holds nobody. It fails if the
    tracker is on someone else, or lost a person the detector sees.

    Parameters
    ----------
    times : list of float, seconds
        Per frame, increasing.
    cands : list of lists
        Per frame, the tracker's candidates (0 or 1 person), as from :func:`detect_frames`.
    checks : dict
        ``{time_s: candidates}`` on the checked frames.
    restarts : list of int
        Positions where another tracker takes over (chunk seams): counted as
        finding someone afresh.

    Returns
    -------
    list of (first, last)
        Inclusive frame positions to redo by detecting everyone on every
        frame: every stretch between two checks where either check failed or
        the tracker found someone afresh twice or more (whoever it held in
        between was checked nowhere), and anything before the first or after
        a failed last check.
    """
    n = len(times)
    at = [p for p, t in enumerate(times) if t in checks]
    if not n:
        return []
    if not at:
        return [(0, n - 1)]
    passed = []
    followed, followed_t = None, -np.inf
    for p in at:
        # everyone the detector found, plus the tracker's person if the detector missed them
        # (it finds people afresh; the tracker keeps hold of small or half-hidden ones)
        people = list(checks[times[p]])
        mine = None
        if cands[p]:
            centre = _torso_centre(cands[p][0][0])
            dist = [float(np.linalg.norm(_torso_centre(c[0]) - centre)) for c in people]
            near = int(np.nanargmin(dist)) if dist else -1
            if near >= 0 and _same_person(cands[p], [people[near]], match_size=match_size):
                mine = near
            else:
                people.append(cands[p][0])
                mine = len(people) - 1
        target = choose_person(people, followed, width, height, gap_s=times[p] - followed_t) if people else None
        # Nobody found here continues the followed person: fine if the tracker holds nobody either
        # (the detector alone can miss someone the tracker would have kept, so a tracker holding
        # someone else here may have let go of the followed person for them).
        passed.append(mine == target)
        if target is not None:
            followed, followed_t = people[target][0], times[p]
    seen = np.array([len(c) > 0 for c in cands])
    regained = np.union1d(np.flatnonzero(seen[1:] & ~seen[:-1]) + 1,  # the tracker picked someone up again
                          np.asarray(restarts, dtype=int))
    ok_at = dict(zip(at, passed))
    edges = ([0] if at[0] > 0 else []) + at + ([n - 1] if at[-1] < n - 1 else [])
    if len(edges) == 1:  # a single frame
        return [] if passed[0] else [(0, 0)]
    spans: list[tuple[int, int]] = []
    for a, b in zip(edges[:-1], edges[1:]):
        # A stretch is trusted between two passed checks: the tracker holds one person from where it
        # found them to where it loses them, so what it held after a check is checked there and what
        # it held before the next is checked there. With two re-detections or more in between, the
        # person held between them is checked nowhere.
        if ok_at.get(a, False) and ok_at.get(b, True) and ((regained > a) & (regained <= b)).sum() <= 1:
            continue
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


class PeopleCheck:
    """Everyone on a few frames: one IMAGE-mode landmarker shared by the chunks' threads.

    Created at its first use; :meth:`look` detects up to ``max_people`` people
    afresh on a frame and keeps them in :attr:`found` (``{time_s:
    candidates}``, candidates as in :func:`detect_frames`).
    """

    def __init__(self, model_path: str | Path, *, max_people: int, min_confidence: float, width: int, height: int):
        self.model_path, self.max_people, self.min_confidence = Path(model_path), max_people, min_confidence
        self.width, self.height = width, height
        self.found: dict[float, list] = {}
        self.lock = threading.Lock()
        self.landmarker = None

    def look(self, time_s: float, image) -> None:
        with self.lock:
            if self.landmarker is None:
                self.landmarker = make_landmarker(self.model_path, max_people=self.max_people,
                                                  min_confidence=self.min_confidence, video=False)
            self.found[time_s] = read_candidates(self.landmarker.detect(image), self.width, self.height)

    def close(self) -> None:
        with self.lock, quiet_stderr():
            if self.landmarker is not None:
                self.landmarker.close()
                self.landmarker = None


class _ChunkRun:
    """One landmarker stepping through consecutive frames of a video, decoded in a thread ahead of it.

    Frames come out one at a time (:meth:`next`), so a run can stop at the end
    of its chunk and later go on past it (see :func:`_stitch`). Frames
    ``[start_index, stop_index)`` are decoded (all of them, if ``stop_index``
    is None); earlier ones are only grabbed, or skipped by a seek.
    """

    def __init__(self, video, model_path, *, max_people: int, min_confidence: float, max_side_px: int | None,
                 target_fps: float | None, start_index: int, stop_index: int | None, seek: bool,
                 width: int, height: int, cancel=None, decode_threads: int | None = None,
                 people_check: PeopleCheck | None = None, check_every_s: float = 0.0, check_from: int = 0):
        import mediapipe as mp

        self.srgb = mp.ImageFormat.SRGB
        self.image = mp.Image
        self.width, self.height, self.cancel = width, height, cancel
        self.frames: queue.Queue = queue.Queue(maxsize=8)
        self.stop = threading.Event()
        self.done = False
        self.last_ms = -1
        self.people_check = people_check if check_every_s > 0 else None
        self.check_every_s, self.check_from = check_every_s, check_from
        self.next_check_t = -np.inf

        def decode() -> None:
            try:
                for item in iter_frames(video, max_side_px=max_side_px, target_fps=target_fps,
                                        start_index=start_index, stop_index=stop_index, seek=seek,
                                        decode_threads=decode_threads):
                    if not self._put(item):
                        return
            except BaseException as exc:  # surfaced in the consumer
                self._put(exc)
                return
            self._put(None)

        self.reader = threading.Thread(target=decode, name="lab-decode", daemon=True)
        self.reader.start()  # decoding (and a seek) gets going while the landmarker is created
        try:
            self.landmarker = make_landmarker(Path(model_path), max_people=max_people,
                                               min_confidence=min_confidence)
        except BaseException:
            self.stop.set()
            self.reader.join(timeout=5)
            raise

    def _put(self, item) -> bool:
        """Queue ``item`` unless the consumer has stopped (then never block); False if it has."""
        while not self.stop.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self):
        """``(index, time_s, candidates)`` of the next frame; None at the end or once cancelled.

        ``index`` counts decoded frames from ``start_index`` (after a seek, the
        container's idea of it); ``candidates`` as in :func:`detect_frames`.
        """
        if self.done:
            return None
        item = self.frames.get()
        if item is None or (self.cancel is not None and self.cancel.is_set()):
            self.done = True
            return None
        if isinstance(item, BaseException):
            self.done = True
            raise item
        index, t, rgb = item
        ts_ms = max(int(round(t * 1000)), self.last_ms + 1)
        self.last_ms = ts_ms
        image = self.image(image_format=self.srgb, data=np.ascontiguousarray(rgb))
        result = self.landmarker.detect_for_video(image, ts_ms)
        if self.people_check is not None and index >= self.check_from and t >= self.next_check_t - 1e-6:
            # the run's first frame from check_from, then the first at or after each multiple of the period
            self.people_check.look(t, image)
            self.next_check_t = (np.floor(t / self.check_every_s + 1e-6) + 1) * self.check_every_s
        return index, t, read_candidates(result, self.width, self.height)

    def close(self) -> None:
        """Stop decoding and free the landmarker (again: nothing)."""
        self.done = True
        self.stop.set()
        if self.landmarker is not None:
            self.landmarker.close()
            self.landmarker = None
        self.reader.join(timeout=5)


def detect_frames(video: str | Path, model_path: str | Path, *, max_people: int, min_confidence: float,
                  max_side_px: int | None, target_fps: float | None, start_index: int = 0,
                  stop_index: int | None = None, warmup_frames: int = 0, width: int, height: int,
                  progress: bool = False, label: str = "", seek: bool = False,
                  cancel=None, keep_open: bool = False, decode_threads: int | None = None,
                  people_check: PeopleCheck | None = None, check_every_s: float = 0.0,
                  check_from: int | None = None):
    """Run the landmarker over frames ``[start_index, stop_index)`` of a video.

    The landmarker starts ``warmup_frames`` earlier so that its internal
    tracking has settled at ``start_index``; those frames are decoded and
    inferred but not returned. Frames before that are skipped with
    ``grab()`` (demuxed and decoded, no colour conversion, no inference).
    Decoding runs in a thread ahead of inference. With ``seek`` the decoder
    jumps to the first frame by the container's index (fast, but its frame
    numbering may be off by a frame or so; see :func:`_align_seeked`).
    ``cancel`` (a :class:`threading.Event`) stops it early, between frames.
    With ``keep_open`` the landmarker is not closed at ``stop_index``: the
    :class:`_ChunkRun` is returned as well, ready to go on past it (the
    caller closes it). ``decode_threads`` goes to :func:`~lab.pose.video.iter_frames`.
    With ``people_check`` and ``check_every_s`` > 0, it looks for everyone
    on its first frame from ``check_from`` (default ``start_index``) and
    then on the first frame at or after each multiple of ``check_every_s``
    seconds (see :class:`PeopleCheck`).

    Returns
    -------
    times : list of float, seconds
    indices : list of int, frame index in the video
    candidates : list (per frame) of lists of per-person tuples
        ``(image_px (K,2), z (K,), world_m (K,3), visibility (K,), presence (K,))``.
    run : _ChunkRun
        Only with ``keep_open``.
    """
    from tqdm.auto import tqdm

    first = max(0, start_index - warmup_frames)
    run = _ChunkRun(video, model_path, max_people=max_people, min_confidence=min_confidence,
                    max_side_px=max_side_px, target_fps=target_fps, start_index=first,
                    stop_index=None if keep_open else stop_index, seek=seek, width=width, height=height,
                    cancel=cancel, decode_threads=decode_threads, people_check=people_check,
                    check_every_s=check_every_s, check_from=start_index if check_from is None else check_from)
    times, indices, cands = [], [], []
    finished = False
    quiet = quiet_stderr()
    with quiet:
        total = (stop_index - first) if stop_index is not None else None
        bar = tqdm(total=total, unit="frame", desc=label, disable=not progress or None, leave=False,
                   file=quiet.stream)
        try:
            while stop_index is None or not indices or indices[-1] + 1 < stop_index:
                frame = run.next()
                if frame is None:
                    break
                index, t, found = frame
                if index >= start_index:
                    times.append(t)
                    indices.append(index)
                    cands.append(found)
                bar.update(1)
            finished = True
        finally:
            bar.close()
            if not (keep_open and finished):
                run.close()
    return (times, indices, cands, run) if keep_open else (times, indices, cands)


def _same_candidates(a: list, b: list) -> bool:
    """Whether two frames' landmarker outputs are bit-identical (every person, every array)."""
    return len(a) == len(b) and all(np.array_equal(x, y) for pa, pb in zip(a, b) for x, y in zip(pa, pb))


def _stitch(previous, run, part, *, seam: int, max_s: float, agree_frames: int = 3, same=_same_candidates):
    """Join two chunks at frame ``seam`` into what one pass over both would have given.

    The previous chunk's landmarker (``run``, stopped where ``previous``
    ends) goes on past the seam, frame by frame, until its output has been
    bit-identical to the later chunk's for ``agree_frames`` frames in a
    row. From there on the two are in the same state (following several
    people, MediaPipe behaves as if all it carried forward were its last
    output: at 18 seams tried on Sports2D, runs that agreed on three frames
    in a row agreed on every later one), so the later chunk's frames are
    those of a single pass. Gives up after ``max_s`` seconds of
    video past the seam, or at the end of ``part``, and keeps ``part`` from
    there.

    Following one person (MediaPipe's smoothed tracking never gives identical
    outputs), ``same=_same_person`` asks only that both trackers hold the
    same person: the later chunk's tracker starts afresh and may have picked
    someone else, while the earlier one still holds the person it followed.

    ``previous`` and ``part`` are ``(times, indices, candidates)`` with exact
    indices; ``previous`` may run past ``seam`` and ``part`` starts at it.
    Returns the frames from ``seam`` on (the previous chunk's until the two
    met, then the later chunk's) and a note: ``frame``, ``time_s``,
    ``single_pass`` (bool; None with ``_same_person``), ``met`` (bool),
    ``frames_run_on``, ``switch_frame`` (the first frame taken from ``part``, or None).
    """
    at = {index: k for k, index in enumerate(part[1])}

    def beyond(index: int) -> bool:
        """Whether frame ``index`` is not in ``part`` or lies more than ``max_s`` past the seam."""
        k = at.get(index)
        return k is None or part[0][k] - seam_t > max_s

    times, indices, cands = [], [], []
    past = [(i, t, c) for t, i, c in zip(*previous) if i >= seam]
    seam_t = part[0][0] if part[0] else float("nan")
    agree, agreed, ran_on = 0, False, 0
    last = previous[1][-1] if previous[1] else seam - 1
    with quiet_stderr():
        while True:
            if past:
                index, t, found = past.pop(0)
            else:
                if beyond(last + 1):
                    break
                frame = run.next()
                if frame is None:
                    break
                _, t, found = frame
                index = last + 1  # decoding is sequential: one more than the last exact index
                ran_on += 1
            last = index
            k = at.get(index)
            if k is None:  # the later chunk has no such frame (it ended): nothing to agree with
                break
            times.append(t)
            indices.append(index)
            cands.append(found)
            agree = agree + 1 if same(found, part[2][k]) else 0
            if agree >= agree_frames:
                agreed = True
                break
    rest = [k for k, i in enumerate(part[1]) if not indices or i > indices[-1]]
    times += [part[0][k] for k in rest]
    indices += [part[1][k] for k in rest]
    cands += [part[2][k] for k in rest]
    switch = int(part[1][rest[0]]) if rest else None
    note = {"frame": int(seam), "time_s": float(seam_t), "single_pass": agreed if same is _same_candidates else None,
            "met": agreed, "frames_run_on": ran_on, "switch_frame": switch}
    return (times, indices, cands), note


def _align_seeked(previous, part, *, start: int, stop: int | None, warmup_frames: int):
    """Give a seeked chunk's frames their exact indices, from the previous chunk's times.

    ``previous`` and ``part`` are :func:`detect_frames` results. The first
    frame of ``part`` is looked up by time among the previous chunk's frames
    (whose indices are exact); the overlapping frames must all agree. Returns
    the part restricted to frames ``[start, stop)`` with exact indices, or
    None if it cannot be aligned or saw fewer than ``warmup_frames`` frames
    before ``start``.
    """
    prev_t, prev_i = np.asarray(previous[0]), np.asarray(previous[1])
    t, cands = np.asarray(part[0]), part[2]
    if not len(t) or not len(prev_t):
        return None
    hit = np.flatnonzero(np.abs(prev_t - t[0]) < 1e-4)
    if len(hit) != 1:
        return None
    j = int(hit[0])
    n = min(len(prev_t) - j, len(t))
    if not np.allclose(prev_t[j:j + n], t[:n], atol=1e-4):
        return None
    actual = prev_i[j] + np.arange(len(t))
    if int((actual < start).sum()) < warmup_frames:
        return None
    keep = (actual >= start) & ((actual < stop) if stop is not None else True)
    idx = np.flatnonzero(keep)
    if not len(idx) or actual[idx[0]] != start:
        return None
    return [float(x) for x in t[idx]], [int(x) for x in actual[idx]], [cands[k] for k in idx]


def plan_chunks(n_frames: int, workers: int, *, warmup_frames: int = 0, keyframes=None,
                seek_frame_cost: float = 0.0) -> list[tuple[int, int]]:
    """Split frames ``[0, n_frames)`` into ``workers`` contiguous ``(start, stop)`` ranges.

    Every chunk but the first also runs ``warmup_frames`` before its start,
    and reaches that point by a seek, which decodes (without inference) from the
    key frame before it; the split gives each worker the same work, counted in
    processed frames, so that all finish together.

    Parameters
    ----------
    keyframes : sequence of int, optional
        Indices of the video's key frames (see :func:`lab.pose.video.keyframe_indices`).
        Without them a seek is taken to be free.
    seek_frame_cost : float
        Cost of a frame decoded during a seek, as a fraction of a processed frame.
    """
    if workers <= 1 or n_frames <= workers * (warmup_frames + 1):
        return [(0, n_frames)] if n_frames else []
    keys = np.asarray(sorted(keyframes) if keyframes is not None and len(keyframes) else [0])

    def seek_cost(first: int) -> float:
        # OpenCV lands on the key frame at or before first - 16, then decodes up to first
        k = keys[max(0, int(np.searchsorted(keys, first - 16, side="right")) - 1)]
        return seek_frame_cost * max(0, first - int(min(k, first)))

    # the smallest per-worker work W for which the chunks, each as long as W allows, reach the end
    work = int(np.ceil((n_frames + (workers - 1) * warmup_frames) / workers))
    while True:
        edges = [0, work]
        for _ in range(workers - 1):
            first = edges[-1] - warmup_frames
            edges.append(int(first + work - seek_cost(first)))
        if edges[-1] >= n_frames:
            break
        work += 1
    edges = [min(e, n_frames) for e in edges[:-1]] + [n_frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


#: For balancing chunks only (measured on this project's 2-core machine): decoding costs about
#: 1.3 ms per megapixel, inference (without the mask head) about this many ms per frame with
#: both cores busy.
DECODE_MS_PER_MPIX = 1.3
INFER_MS = {"lite": 7.5, "full": 13.0, "heavy": 50.0}


def estimate_seek_frame_cost(width: int, height: int, model: str) -> float:
    """A frame decoded during a seek, as a fraction of a fully processed frame (decode + inference)."""
    decode = DECODE_MS_PER_MPIX * width * height / 1e6
    return decode / (decode + INFER_MS.get(model, INFER_MS["full"]))


def auto_workers(n_frames: int, *, min_frames_per_worker: int = 240) -> int:
    """Landmarkers worth running side by side on a clip: one per core, if each gets enough frames."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n_frames // min_frames_per_worker))


def _detect_in_chunks(common: dict, checking: dict, *, video, info, model: str, workers: int, tracked: int,
                      overlap_s: float | None, run_on_max_s: float, progress: bool):
    """:func:`detect_frames` over ``workers`` time chunks side by side, joined (see :func:`extract_pose`).

    Returns ``times, indices, candidates, seams``.
    """
    import concurrent.futures as cf

    W, H = info.width, info.height
    seams: list[dict] = []
    if overlap_s is None:
        overlap_s = 1.0 if tracked == 1 else 0.0
    warm = int(round(overlap_s * (info.fps or 30.0)))
    margin = 4
    chunks = plan_chunks(info.frame_count, workers, warmup_frames=warm + margin,
                         keyframes=keyframe_indices(video), seek_frame_cost=estimate_seek_frame_cost(W, H, model))
    # The last chunk runs to the end of the file, whatever the header's count says.
    # Later chunks seek (by the container's index) a little before their warm-up
    # and keep every frame from where they land; the exact index of each frame is
    # then found by matching its time with the previous chunk's own frames. Where
    # that fails (the seek landed too late, or times do not match), the chunk is
    # redone by decoding from the start of the file, so indices are always exact.
    # Each chunk's landmarker then runs on past its end until it meets the next
    # chunk's output (see _stitch). Following several people, they meet bit for
    # bit and the result is the single pass's, frame for frame. Following one
    # person, MediaPipe's tracker carries a smoothed crop from frame to frame and
    # two passes that start at different frames never meet exactly: they meet when
    # both hold the same person (the later one, started afresh, may hold someone
    # else), and the later chunk's warm-up has let its smoothing settle.
    last = len(chunks) - 1
    jobs = [dict(common, **checking, start_index=max(0, a - warm - margin) if a > 0 else 0,
                 stop_index=None if i == last else (b + margin if a > 0 else b),
                 warmup_frames=0, progress=progress and i == 0, seek=a > 0, keep_open=i != last,
                 decode_threads=1,  # the chunks keep every core busy: frame threading would only cost CPU
                 check_from=a, label=f"pose {Path(video).name} [{i + 1}/{len(chunks)}]")
            for i, (a, b) in enumerate(chunks)]
    cancel = threading.Event()  # set on an error or Ctrl-C: every chunk stops at its next frame
    opened = []  # landmarkers kept open for the seams: closed whatever happens
    try:
        with cf.ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="lab-pose") as pool:
            futures = [pool.submit(detect_frames, **j, cancel=cancel) for j in jobs]
            try:
                results = [f.result() for f in futures]
            except BaseException:
                cancel.set()
                for f in futures:
                    if not f.cancelled() and f.exception() is None and len(f.result()) == 4:
                        opened.append(f.result()[3])
                raise
        runs = [r[3] if len(r) == 4 else None for r in results]
        opened += [r for r in runs if r is not None]
        parts = [r[:3] for r in results]
        for i in range(1, len(parts)):
            a, b = chunks[i]
            aligned = _align_seeked(parts[i - 1], parts[i], start=a, stop=None, warmup_frames=warm)
            if aligned is None:
                redo = detect_frames(**dict(jobs[i], start_index=a, stop_index=None if i == last else b,
                                            warmup_frames=warm, seek=False))
                if runs[i] is not None:
                    runs[i].close()
                    runs[i] = redo[3]
                    opened.append(redo[3])
                aligned = redo[:3]
            previous = parts[i - 1]
            parts[i], note = _stitch(previous, runs[i - 1], aligned, seam=a, max_s=run_on_max_s,
                                     same=_same_candidates if tracked > 1 else _same_person)
            runs[i - 1].close()
            parts[i - 1] = tuple([x for x, k in zip(lst, previous[1]) if k < a] for lst in previous)
            seams.append(note)
    except BaseException:
        cancel.set()
        raise
    finally:
        for run in opened:
            run.close()
    times = [t for p in parts for t in p[0]]
    indices = [i for p in parts for i in p[1]]
    cands = [c for p in parts for c in p[2]]
    return times, indices, cands, seams


def extract_pose(video: str | Path, *, model: str = DEFAULT_MODEL, max_people: int = 2,
                 min_confidence: float = 0.5, target_fps: float | None = None,
                 max_side_px: int | None = DEFAULT_MAX_SIDE_PX, workers: int | None = None, overlap_s: float | None = None,
                 run_on_max_s: float = 5.0, check_every_s: float = DEFAULT_CHECK_EVERY_S,
                 progress: bool = True, sha256: str | None = None) -> PoseTrack:
    """Run the pose landmarker over a video and return one person's track.

    Parameters
    ----------
    video : path
        Any video OpenCV/FFmpeg decodes; rotation metadata is applied.
    model : {"lite", "full", "heavy"}
        Pose landmarker variant.
    max_people : int
        People looked for, among whom one is followed (see
        :func:`choose_person`). 1 lets MediaPipe's own tracker decide.
    check_every_s : float
        With ``max_people`` > 1. 0 (the default): everyone is detected on
        every frame and the followed person chosen among them. A period in
        seconds: MediaPipe's tracker follows one person (its detector runs
        only when it loses them, which halves inference) and a detector pass
        looks for up to ``max_people`` people on one frame in each period and
        where each chunk starts. Wherever a check finds the tracker on someone
        other than the followed person, or missing a person the detector sees
        (:func:`find_tracker_mistakes`), those frames are done again detecting
        everyone on every frame, so the person followed is the one every-frame
        detection would follow. The tracker's crops lag the detector's a
        little: the landmarks are slightly less accurate (see the README).
        ``meta["follow"]`` records the checks and the frames redone.
    min_confidence : float
        Detection/presence/tracking confidence thresholds in [0, 1].
    target_fps : float, optional
        Process at most this many frames per second of video.
    max_side_px : int, optional
        Downscale frames whose longer side exceeds this before colour
        conversion and inference (the networks see 224-256 px inputs);
        coordinates stay in original pixels.
    workers : int, optional
        Landmarkers run side by side over consecutive time chunks, one thread
        each (default: one per core when the clip is long enough, see
        :func:`auto_workers`). MediaPipe releases the GIL while it decodes
        and infers, so threads use every core without the start-up of
        worker processes.
    overlap_s : float, optional
        Seconds each chunk after the first starts early, for the landmarker's
        tracking to settle before its frames are kept; the person is then
        followed across the stitched frames in one pass, as in a single run.
        Default: 1 s following one person; 0 following several, where the
        run-on below makes the seams exact (a warm-up rarely shortened it:
        sports2d, nine seams, 44 against 47 frames run on).
    run_on_max_s : float
        Each chunk's landmarker runs on past its end until it meets the next
        chunk's (see :func:`_stitch`), for at most this many seconds of video.
        Detecting everyone on every frame (``max_people`` > 1 with
        ``check_every_s=0``), they meet when their outputs are bit-identical:
        the track is then the single pass's, frame for frame. Following one
        person with MediaPipe's tracker, whose smoothing never gives identical
        outputs, they meet when both hold the same person. ``meta["seams"]``
        records each seam (``single_pass`` True/False, or None following one
        person; ``met``; ``switch_frame``, where the later chunk takes over).
    progress : bool
        Show a progress bar on stderr (when it is a terminal).
    sha256 : str, optional
        The video's SHA-256 when the caller has it already (recorded in
        ``meta``; computed otherwise).

    Returns
    -------
    PoseTrack
        ``image_px`` (T, 33, 2) pixels, ``image_z`` (T, 33), ``world_m``
        (T, 33, 3) metres in frame ``camera``, ``visibility``/``presence``
        (T, 33), ``time_s`` (T,). Frames without the person are NaN.
    """
    info = probe_video(video)
    model_path = ensure_model(model, masks=False)  # landmarks only: the mask head is not computed
    W, H = info.width, info.height
    n_est = info.frame_count
    if target_fps and info.fps:
        n_est = int(n_est * min(1.0, target_fps / info.fps))
    checked = max_people > 1 and check_every_s > 0
    check_every_s = check_every_s if checked else 0.0  # as recorded: 0 wherever nothing is checked
    tracked = 1 if checked else max_people  # people the per-frame landmarker looks for
    if workers is None:
        # following one person, a chunk costs only its 1 s warm-up; following several, the run-on
        # at each seam can be over a second and a half of video
        workers = auto_workers(n_est, min_frames_per_worker=int(2 * (info.fps or 30.0)) if tracked == 1 else 240)
    people_check = PeopleCheck(model_path, max_people=max_people, min_confidence=min_confidence,
                               width=W, height=H) if checked else None
    common = dict(video=str(video), model_path=str(model_path), max_people=tracked,
                  min_confidence=min_confidence, max_side_px=max_side_px, target_fps=target_fps,
                  width=W, height=H)
    checking = dict(people_check=people_check, check_every_s=check_every_s)
    seams: list[dict] = []
    try:
        if workers <= 1 or info.frame_count < 2 * workers or target_fps:
            times, indices, cands = detect_frames(**common, **checking, progress=progress,
                                                  label=f"pose {Path(video).name}")
        else:
            times, indices, cands, seams = _detect_in_chunks(
                common, checking, video=video, info=info, model=model, workers=workers, tracked=tracked,
                overlap_s=overlap_s, run_on_max_s=run_on_max_s, progress=progress)
        if not times:
            raise LabError(f"{video} has no decodable video frames", exit_code=2)
        follow = {"check_every_s": check_every_s, "checks": 0, "checks_failed_spans": 0,
                  "checks_with_several_people": 0, "frames_redone": 0}
        if checked:
            people_check.close()
            follow.update(_redo_tracker_mistakes(common, people_check.found, times=times, indices=indices,
                                                 cands=cands, seams=seams, max_people=max_people,
                                                 check_every_s=check_every_s, workers=workers,
                                                 exact=target_fps is not None))
    finally:
        if people_check is not None:
            people_check.close()
    track = track_person(times, cands, width=W, height=H)
    notes = []
    if info.frame_count and target_fps is None and len(times) < 0.9 * info.frame_count:
        notes.append(f"decoded only {len(times)} of the {info.frame_count} frames the header of "
                     f"{Path(video).name} announces: the file seems truncated")
    track.meta.update({
        "source": str(video), "width": W, "height": H, "fps": info.fps,
        "frame_count": len(times), "rotation_deg": info.rotation_deg,
        "sha256": sha256 or sha256_file(video), "model": f"pose_landmarker_{model}",
        "extractor_version": EXTRACTOR_VERSION,
        "params": {"max_people": max_people, "min_confidence": min_confidence,
                   "target_fps": target_fps, "max_side_px": max_side_px,
                   "check_every_s": check_every_s},
        "frame_index": indices if target_fps else None,
        "workers": workers,
        "seams": seams,
        "follow": follow,
    })
    rate = track.detection_rate()
    track.meta["detection_rate"] = rate
    if rate == 0.0:
        raise LabError(f"no person found in any of the {len(times)} frames of {video}", exit_code=4)
    if rate < 0.5:
        notes.append(f"a person was found on only {rate:.0%} of frames of {Path(video).name}")
    track.meta["warnings"] = notes
    _emit(notes)
    return track


def _redo_tracker_mistakes(common: dict, found: dict, *, times: list[float], indices: list[int], cands: list[list],
                           seams: list[dict], max_people: int, check_every_s: float, workers: int,
                           exact: bool) -> dict:
    """Redo, detecting everyone on every frame, where the checks ``found`` say the tracker may have gone astray.

    ``cands`` is updated in place; returns the counts for ``meta["follow"]``.
    """
    import concurrent.futures as cf

    W, H = common["width"], common["height"]
    # where a chunk's tracker took over from one that held someone else, it found someone afresh
    at = {index: k for k, index in enumerate(indices)}
    restarts = [at[note["switch_frame"]] for note in seams if not note["met"] and note["switch_frame"] in at]
    spans: list[tuple[int, int]] = []  # stretches a check period apart are redone as one: a landmarker and a seek fewer
    for a, b in find_tracker_mistakes(times, cands, found, width=W, height=H, restarts=restarts):
        if spans and times[a] - times[spans[-1][1]] <= check_every_s:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    if spans:
        with cf.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lab-redo") as pool:
            redone = list(pool.map(lambda span: _redo_detecting_everyone(
                common, max_people=max_people, times=times, indices=indices, first=span[0], last=span[1],
                exact=exact), spans))
        for (first, last), frames in zip(spans, redone):
            cands[first:last + 1] = frames
    return {"checks": len(found), "checks_failed_spans": len(spans),
            "checks_with_several_people": sum(len(c) > 1 for c in found.values()),
            "frames_redone": int(sum(b - a + 1 for a, b in spans))}


def _redo_detecting_everyone(common: dict, *, max_people: int, times: list[float], indices: list[int],
                             first: int, last: int, exact: bool) -> list[list]:
    """Candidates of frames ``first..last`` (positions) again, detecting up to ``max_people`` on every frame.

    The landmarker starts at frame ``first`` (with several people it needs no
    warm-up: its detector runs on every frame). It reaches it by a seek and
    finds each frame by its time; where a time is not found (or ``exact``), it
    decodes from the start of the file instead, so frames are never confused.
    """
    start, stop = indices[first], indices[last] + 1
    want = times[first:last + 1]
    if not exact and start > 0:
        got = detect_frames(**dict(common, max_people=max_people), start_index=max(0, start - 4),
                            stop_index=stop + 4, seek=True)
        by_time = {round(t, 4): c for t, c in zip(got[0], got[2])}
        found = [by_time.get(round(t, 4)) for t in want]
        if all(c is not None for c in found):
            return found
    got = detect_frames(**dict(common, max_people=max_people), start_index=start, stop_index=stop)
    by_time = {round(t, 4): c for t, c in zip(got[0], got[2])}
    return [by_time.get(round(t, 4), []) for t in want]


def track_person(times: list[float], cands: list[list], *, width: int, height: int) -> PoseTrack:
    """Follow one person through per-frame candidates (see :func:`choose_person`); NaN where absent."""
    picked: list = [None] * len(times)
    previous, last_seen_t, switches, chosen_at = None, -np.inf, 0, None
    n_multi = sum(len(c) > 1 for c in cands)
    n_any = sum(len(c) > 0 for c in cands)
    for f, (t, frame_cands) in enumerate(zip(times, cands)):
        pick = choose_person(frame_cands, previous, width, height, gap_s=t - last_seen_t)
        if pick is None:
            continue
        picked[f] = frame_cands[pick]
        if previous is None:
            chosen_at = {"frame": f, "time_s": t, "candidates": len(frame_cands)}
        elif pick != 0:
            switches += 1
        previous, last_seen_t = np.asarray(picked[f][0], dtype=np.float64), t
    meta = {"person": {"rule": "largest and most central at first sighting, then nearest to the previous pose",
                       "first": chosen_at, "frames_with_several_people": int(n_multi),
                       "candidate_order_changes": int(switches), "any_person_rate": n_any / max(len(times), 1)}}
    return track_from_landmarks(times, picked, meta=meta)


def _emit(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(note, LowDetectionWarning, stacklevel=3)


# ----------------------------------------------------------------------- cache
def _cache_key(sha: str, *, model: str, **params) -> str:
    from lab.io import sha256_bytes
    blob = json.dumps({"video": sha, "model": model, "v": EXTRACTOR_VERSION, **params}, sort_keys=True)
    return sha256_bytes(blob.encode())[:32]


def tracks_cache_dir() -> Path:
    d = cache_dir() / "tracks"
    d.mkdir(parents=True, exist_ok=True)
    return d


def extract_pose_cached(video: str | Path, *, model: str = DEFAULT_MODEL, max_people: int = 2,
                        min_confidence: float = 0.5, target_fps: float | None = None,
                        max_side_px: int | None = DEFAULT_MAX_SIDE_PX, workers: int | None = None,
                        check_every_s: float = DEFAULT_CHECK_EVERY_S, progress: bool = True) -> PoseTrack:
    """:func:`extract_pose`, cached by video content hash + model + parameters.

    A cache entry is a Parquet pose file plus a record of its SHA-256; an entry
    whose checksum does not match is discarded and rebuilt, never trusted.
    """
    from lab.pose.video import check_video_path

    check_video_path(video)
    params = dict(max_people=max_people, min_confidence=min_confidence, target_fps=target_fps,
                  max_side_px=max_side_px, check_every_s=check_every_s if max_people > 1 else 0.0)
    sha = sha256_file(video)
    key = _cache_key(sha, model=model, **params)
    path = tracks_cache_dir() / f"{key}.parquet"
    # One extraction per entry at a time: a second process asking for the same
    # video waits here, then reads what the first one stored.
    with entry_lock(path):
        track = _read_cache_entry(path)
        if track is not None:
            _emit(track.meta.get("warnings", []))  # a cached result keeps its caveats
        else:
            track = extract_pose(video, model=model, progress=progress, workers=workers, sha256=sha, **params)
            write_track(track, path)
            write_bytes_atomic(path.with_suffix(".sha256"), sha256_file(path).encode())
    track.meta["source"] = str(video)
    track.meta["cache"] = str(path)
    return track


def _read_cache_entry(path: Path) -> PoseTrack | None:
    """The cached track at ``path`` if its checksum record matches, else None (with a warning if damaged)."""
    record = path.with_suffix(".sha256")
    if not (path.exists() and record.exists()):
        return None
    if record.read_text().strip() == sha256_file(path):
        try:
            return read_track(path)
        except PoseFormatError:
            pass
    warnings.warn(f"cache entry {path.name} is damaged; extracting again", stacklevel=3)
    return None


@contextlib.contextmanager
def entry_lock(path: Path):
    """An exclusive advisory lock (``flock``) on ``<path>.lock`` for the duration of the block."""
    lock = path.with_suffix(path.suffix + ".lock")
    with open(lock, "a+") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no cross-process lock, atomic renames still hold
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def load_track(source: str | Path, **extract_kwargs) -> PoseTrack:
    """A pose track from a pose file (``.parquet``, ``.trc``, ``.bvh``) or a video (extracted, cached)."""
    p = Path(source)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        if not p.exists():
            raise LabError(f"no such file: {p}", exit_code=2)
        try:
            track = read_track(p)
            check_track(track)
            return track
        except PoseFormatError as exc:
            raise LabError(f"{p}: {exc}", exit_code=2) from None
    if suffix in (".trc", ".bvh"):
        from lab.pose.mocap import read_mocap
        return read_mocap(p)
    return extract_pose_cached(p, **extract_kwargs)
