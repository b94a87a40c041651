"""Pose extraction: video -> :class:`~lab.pose.track.PoseTrack`, with MediaPipe in VIDEO mode."""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from lab.io import LabError, cache_dir, sha256_file, write_bytes_atomic
from lab.pose.models import DEFAULT_MODEL, _quiet_stderr, ensure_model
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseFormatError, PoseTrack, check_track, read_track, write_track
from lab.pose.video import iter_frames, probe_video

#: Bumped when extraction changes what it produces (invalidates the cache).
EXTRACTOR_VERSION = 3

K = len(BLAZEPOSE_KEYPOINTS)


class LowDetectionWarning(UserWarning):
    """The extraction's evidence is weak: few frames with a person, or frames missing."""


def _make_landmarker(model_path: Path, *, max_people: int, min_confidence: float):
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=max_people,
        min_pose_detection_confidence=min_confidence,
        min_pose_presence_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    )
    with _quiet_stderr():
        return vision.PoseLandmarker.create_from_options(opts)


def _candidates(result, width: int, height: int):
    """Per detected person: (image_px (K,2), z (K,), world (K,3), vis (K,), pres (K,))."""
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


def extract_pose(video: str | Path, *, model: str = DEFAULT_MODEL, max_people: int = 2,
                 min_confidence: float = 0.5, target_fps: float | None = None,
                 max_side_px: int | None = 1280, progress: bool = True) -> PoseTrack:
    """Run the pose landmarker over a video and return one person's track.

    Parameters
    ----------
    video : path
        Any video OpenCV/FFmpeg decodes; rotation metadata is applied.
    model : {"lite", "full", "heavy"}
        Pose landmarker variant.
    max_people : int
        People detected per frame, among whom one is followed (see
        :func:`choose_person`). 1 is faster and lets MediaPipe's own tracker
        decide.
    min_confidence : float
        Detection/presence/tracking confidence thresholds in [0, 1].
    target_fps : float, optional
        Process at most this many frames per second of video.
    max_side_px : int, optional
        Downscale frames whose longer side exceeds this before inference
        (the networks see 224-256 px inputs); coordinates stay in original pixels.
    progress : bool
        Show a progress bar on stderr (when it is a terminal).

    Returns
    -------
    PoseTrack
        ``image_px`` (T, 33, 2) pixels, ``image_z`` (T, 33), ``world_m``
        (T, 33, 3) metres in frame ``camera``, ``visibility``/``presence``
        (T, 33), ``time_s`` (T,). Frames without the person are NaN.
    """
    from tqdm.auto import tqdm
    import mediapipe as mp

    info = probe_video(video)
    model_path = ensure_model(model)
    landmarker = _make_landmarker(model_path, max_people=max_people, min_confidence=min_confidence)
    W, H = info.width, info.height
    times, imgs, zs, worlds, viss, press = [], [], [], [], [], []
    previous, last_seen_t, switches = None, -np.inf, 0
    chosen_at = None
    n_multi = 0
    n_any = 0
    last_ms = -1
    quiet = _quiet_stderr()
    with quiet:
        bar = tqdm(total=info.frame_count or None, unit="frame", desc=f"pose {Path(video).name}",
                   disable=not progress or None, leave=False, file=quiet.stream)
        try:
            for index, t, rgb in iter_frames(video, max_side_px=max_side_px, target_fps=target_fps):
                ts_ms = max(int(round(t * 1000)), last_ms + 1)
                last_ms = ts_ms
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
                result = landmarker.detect_for_video(image, ts_ms)
                cands = _candidates(result, W, H)
                n_multi += len(cands) > 1
                n_any += len(cands) > 0
                pick = choose_person(cands, previous, W, H, gap_s=t - last_seen_t)
                times.append(t)
                if pick is None:
                    imgs.append(np.full((K, 2), np.nan)); zs.append(np.full(K, np.nan))
                    worlds.append(np.full((K, 3), np.nan)); viss.append(np.zeros(K)); press.append(np.zeros(K))
                else:
                    img, z, w, v, p = cands[pick]
                    if previous is None:
                        chosen_at = {"frame": len(times) - 1, "time_s": t, "candidates": len(cands)}
                    elif pick != 0:
                        switches += 1
                    previous, last_seen_t = img, t
                    imgs.append(img); zs.append(z); worlds.append(w); viss.append(v); press.append(p)
                bar.update(1)
        finally:
            bar.close()
            landmarker.close()
    if not times:
        raise LabError(f"{video} has no decodable video frames", exit_code=2)
    notes = []
    if info.frame_count and target_fps is None and len(times) < 0.9 * info.frame_count:
        notes.append(f"decoded only {len(times)} of the {info.frame_count} frames the header of "
                     f"{Path(video).name} announces: the file seems truncated")
    meta = {
        "source": str(video), "width": W, "height": H, "fps": info.fps,
        "frame_count": len(times), "rotation_deg": info.rotation_deg,
        "sha256": sha256_file(video), "model": f"pose_landmarker_{model}",
        "extractor_version": EXTRACTOR_VERSION,
        "params": {"max_people": max_people, "min_confidence": min_confidence,
                   "target_fps": target_fps, "max_side_px": max_side_px},
        "person": {"rule": "largest and most central at first sighting, then nearest to the previous pose",
                   "first": chosen_at, "frames_with_several_people": int(n_multi),
                   "candidate_order_changes": int(switches),
                   "any_person_rate": n_any / max(len(times), 1)},
    }
    track = PoseTrack(time_s=np.array(times), keypoints=BLAZEPOSE_KEYPOINTS,
                      image_px=np.array(imgs), image_z=np.array(zs), world_m=np.array(worlds),
                      visibility=np.array(viss), presence=np.array(press), frame="camera", meta=meta)
    rate = track.detection_rate()
    meta["detection_rate"] = rate
    if rate == 0.0:
        raise LabError(f"no person found in any of the {len(times)} frames of {video}", exit_code=4)
    if rate < 0.5:
        notes.append(f"a person was found on only {rate:.0%} of frames of {Path(video).name}")
    meta["warnings"] = notes
    _emit(notes)
    return track


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
                        max_side_px: int | None = 1280, progress: bool = True) -> PoseTrack:
    """:func:`extract_pose`, cached by video content hash + model + parameters.

    A cache entry is a Parquet pose file plus a record of its SHA-256; an entry
    whose checksum does not match is discarded and rebuilt, never trusted.
    """
    from lab.pose.video import check_video_path

    check_video_path(video)
    params = dict(max_people=max_people, min_confidence=min_confidence, target_fps=target_fps,
                  max_side_px=max_side_px)
    key = _cache_key(sha256_file(video), model=model, **params)
    path = tracks_cache_dir() / f"{key}.parquet"
    # One extraction per entry at a time: a second process asking for the same
    # video waits here, then reads what the first one stored.
    with entry_lock(path):
        track = _read_cache_entry(path)
        if track is not None:
            _emit(track.meta.get("warnings", []))  # a cached result keeps its caveats
        else:
            track = extract_pose(video, model=model, progress=progress, **params)
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
