"""Feed a live comparison from a camera or a video file, then analyse what was recorded.

A camera delivers frames at its own pace whether or not they are used;
:class:`VideoStream` with ``realtime=True`` plays a file the same way (each
frame becomes available at its own time, measured from the first, and a frame
not taken before the next one arrives is dropped), so a file shows what a
phone would. Without ``realtime`` every frame is processed in turn (the
answer then does not depend on the machine's speed). :func:`run_live` runs
MediaPipe's landmarker (VIDEO mode, following one person as ``lab extract`` does) on each frame taken, feeds
:class:`lab.live.LiveComparison`, and when the stream ends analyses the
recorded poses against the coach as ``lab compare`` would
(:func:`lab.pipeline.analyze`).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lab.io import LabError, quiet_stderr
from lab.live.compare import (
    LiveComparison,
    LiveRepetition,
    LiveUpdate,
    prepare_live_ghost,
    prepare_live_reference,
)
from lab.pipeline import Analysis, analyze, load_clip_features
from lab.pose.track import PoseTrack, check_track, track_from_landmarks
from lab.pose.validate import MAX_DURATION_S
from lab.score.uncertainty import ClipErrorSource


@dataclasses.dataclass(frozen=True)
class SourceFrame:
    """One frame as the stream delivered it.

    Attributes
    ----------
    index : int
        Frame number in the source (a gap means frames were dropped).
    time_s : float
        Seconds on the stream's clock (the video's presentation time, or since the camera started).
    arrived_s : float
        ``time.perf_counter()`` when the frame became available.
    rgb : ndarray (H, W, 3) uint8
    """

    index: int
    time_s: float
    arrived_s: float
    rgb: np.ndarray


class _LatestFrame:
    """A one-frame mailbox: the producer overwrites, the consumer takes the newest; overwritten = dropped."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.frame: SourceFrame | None = None
        self.finished = False
        self.error: BaseException | None = None
        self.dropped = 0
        self.stop = threading.Event()

    def put(self, frame: SourceFrame) -> None:
        with self.cond:
            if self.frame is not None:
                self.dropped += 1
            self.frame = frame
            self.cond.notify()

    def finish(self, error: BaseException | None = None) -> None:
        with self.cond:
            self.finished, self.error = True, error
            self.cond.notify()

    def take(self) -> SourceFrame | None:
        with self.cond:
            while self.frame is None and not self.finished:
                self.cond.wait(timeout=0.5)
            if self.frame is None:
                if self.error is not None:
                    raise self.error
                return None
            frame, self.frame = self.frame, None
            return frame

    def run(self, produce: Callable[[], None], *, name: str) -> Iterator[SourceFrame]:
        """Run ``produce`` (which :meth:`put` s frames until the source or :attr:`stop` ends it) in a
        thread and yield the newest frame each time one is wanted; an error in it is raised here."""
        def target() -> None:
            try:
                produce()
            except BaseException as exc:  # surfaced to the consumer
                self.finish(exc)
                return
            self.finish()

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        try:
            while (frame := self.take()) is not None:
                yield frame
        finally:
            self.stop.set()
            thread.join(timeout=5)


class VideoStream:
    """A video file as a stream.

    Parameters
    ----------
    path : path
    realtime : bool
        Play at the file's own frame rate, dropping frames the consumer is not
        ready for (as a camera); else every frame in turn.
    max_side_px : int
        Frames are downscaled to this longer side before inference
        (landmarks stay in the original pixels).
    """

    def __init__(self, path: str | Path, *, realtime: bool, max_side_px: int = 1280):
        from lab.pose.video import probe_video

        self.path = Path(path)
        if not self.path.exists():
            raise LabError(f"no such file: {self.path}", exit_code=2)
        info = probe_video(self.path)
        self.width, self.height, self.fps = info.width, info.height, info.fps or 30.0
        self.realtime, self.max_side_px = realtime, max_side_px
        self.source = str(self.path)
        self._box: _LatestFrame | None = None
        #: (index, time_s) of every frame the file delivered, processed or dropped
        self.frame_times: list[tuple[int, float]] = []

    @property
    def dropped(self) -> int:
        return 0 if self._box is None else self._box.dropped

    def __iter__(self) -> Iterator[SourceFrame]:
        from lab.pose.video import iter_frames

        if not self.realtime:
            for index, t, rgb in iter_frames(self.path, max_side_px=self.max_side_px):
                self.frame_times.append((index, t))
                yield SourceFrame(index, t, time.perf_counter(), rgb)
            return
        box = self._box = _LatestFrame()

        def play() -> None:
            t0 = None
            for index, t, rgb in iter_frames(self.path, max_side_px=self.max_side_px, decode_threads=1):
                if box.stop.is_set():
                    break
                now = time.perf_counter()
                t0 = now - t if t0 is None else t0
                if t0 + t > now:
                    time.sleep(t0 + t - now)
                self.frame_times.append((index, t))
                box.put(SourceFrame(index, t, time.perf_counter(), rgb))

        yield from box.run(play, name="lab-live-video")


class CameraStream:
    """A camera (OpenCV device number) as a stream; frames are dropped when the consumer is busy."""

    def __init__(self, index: int, *, max_side_px: int = 1280):
        import cv2

        with quiet_stderr():  # OpenCV's backends log to fd 2 while probing devices
            self.cap = cv2.VideoCapture(int(index))
        if not self.cap.isOpened():
            raise LabError(f"camera {index} could not be opened (is one connected, and free?)", exit_code=3)
        ok, frame = self.cap.read()
        if not ok or frame is None:
            self.cap.release()
            raise LabError(f"camera {index} gives no frames", exit_code=3)
        self.height, self.width = frame.shape[:2]
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.max_side_px = max_side_px
        self.source = f"camera {index}"
        self._box = _LatestFrame()

    @property
    def dropped(self) -> int:
        return self._box.dropped

    def __iter__(self) -> Iterator[SourceFrame]:
        import cv2

        box = self._box
        scale = min(1.0, self.max_side_px / max(self.width, self.height))

        def grab() -> None:
            t0, index = time.perf_counter(), 0
            while not box.stop.is_set():
                ok, bgr = self.cap.read()
                if not ok:
                    break
                now = time.perf_counter()
                if scale < 1.0:
                    bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                box.put(SourceFrame(index, now - t0, now, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
                index += 1

        try:
            yield from box.run(grab, name="lab-live-camera")
        finally:
            self.cap.release()


class StreamRecorder:
    """The frames a live run processed, written as a video at the stream's nominal frame rate.

    A camera or a browser page has no file; this makes one, so that a live attempt can go into the
    library and its report can draw the frames. The video starts at the first frame added; each
    processed frame takes the video frame of its time since then (``round((time_s - t0) * fps)``,
    later than the previous one's); frames in between, which were
    not processed, repeat the previous one, and :attr:`frame_times` lists every video frame, so
    :func:`record_track` gives the track one row per video frame, NaN where nothing was processed
    (as for a file played in real time). Frames are resized to ``width`` x ``height`` (the
    landmarks' pixels) and encoded (MPEG-4 part 2) in a thread, off the live path.
    """

    def __init__(self, path: str | Path, *, fps: float, width: int, height: int):
        import queue

        import cv2

        self.path = Path(path)
        self.fps, self.size = float(fps), (int(width), int(height))
        self.frame_times: list[tuple[int, float]] = []
        self._last = -1
        # written beside under a temporary name; :meth:`commit` gives it its name once the run succeeded
        self._part = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        self._writer = cv2.VideoWriter(str(self._part), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
        if not self._writer.isOpened():
            self._part.unlink(missing_ok=True)
            raise LabError(f"cannot write the recording {self.path}", exit_code=3)
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._encode, name="lab-live-record", daemon=True)
        self._thread.start()

    def _encode(self) -> None:
        import cv2

        while (item := self._queue.get()) is not None:
            rgb, repeat = item
            if self._error is not None:
                continue
            try:
                if (rgb.shape[1], rgb.shape[0]) != self.size:
                    rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                for _ in range(repeat):
                    self._writer.write(bgr)
            except BaseException as exc:  # surfaced by close()
                self._error = exc

    def add(self, time_s: float, rgb: np.ndarray) -> int:
        """Queue the frame processed at ``time_s`` (stream seconds); returns its index in the video.

        The video starts with the first frame added: video frame k is at ``t0 + k / fps``.
        """
        if self._last < 0:
            self._t0, index = float(time_s), 0
        else:
            index = max(int(round((time_s - self._t0) * self.fps)), self._last + 1)
            for k in range(self._last + 1, index):  # not processed: the previous frame again
                self.frame_times.append((k, self._t0 + k / self.fps))
            if index - self._last > 1:
                self._queue.put((self._previous, index - self._last - 1))
        self.frame_times.append((index, float(time_s)))
        self._queue.put((rgb, 1))
        self._previous, self._last = rgb, index
        return index

    def _stop_writing(self) -> None:
        """Let the encoder write what is queued, then release the file (again: nothing)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
            self._writer.release()

    def close(self) -> None:
        """Finish writing (under the temporary name)."""
        self._stop_writing()
        if self._error is not None:
            self.discard()
            raise LabError(f"cannot write the recording {self.path}: {self._error}", exit_code=3)

    def commit(self) -> Path:
        """Close, and give the recording its name; returns it."""
        self.close()
        os.replace(self._part, self.path)
        return self.path

    def discard(self) -> None:
        """Close, and remove the unfinished recording (the run failed)."""
        self._stop_writing()
        self._part.unlink(missing_ok=True)


@dataclasses.dataclass
class LiveResult:
    """What a live run measured and concluded.

    Attributes
    ----------
    track : PoseTrack
        The poses recorded (frame ``camera``): from a video, one row per frame of the file, NaN where
        a frame was dropped (:func:`record_track`).
    analysis : Analysis or None
        The recorded poses analysed against the coach (:func:`lab.pipeline.analyze`).
    last : LiveUpdate or None
        The live comparison's state at the last frame.
    repetitions : list of LiveRepetition
        Completed while streaming.
    latency_ms : ndarray (n,)
        Per processed frame, from its arrival to its update, milliseconds.
    time_s : ndarray (n,)
        Per processed frame, its time on the stream's clock, seconds.
    processed, dropped : int
        Frames processed, and frames the stream delivered that were never processed.
    """

    track: PoseTrack
    analysis: Analysis | None
    last: LiveUpdate | None
    repetitions: list[LiveRepetition]
    latency_ms: np.ndarray
    time_s: np.ndarray
    processed: int
    dropped: int

    def summary(self) -> dict[str, Any]:
        """The run's figures and the final analysis's verdict, JSON-ready."""
        lat = self.latency_ms
        out: dict[str, Any] = {
            "final": True, "processed": self.processed, "dropped": self.dropped,
            "dropped_fraction": round(self.dropped / max(self.processed + self.dropped, 1), 4),
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if len(lat) else None,
            "live_score": None if self.last is None or self.last.score is None else round(self.last.score, 1),
            "live_rep_count": sum(not r.partial for r in self.repetitions),
            "live_reps": [r.to_dict() for r in self.repetitions]}
        if self.analysis is not None:
            c = self.analysis.comparison
            out.update(verdict=c.verdict, score=round(float(c.score), 1),
                       p_same=None if c.p_same is None else round(float(c.p_same), 3), summary=c.summary,
                       feedback=list(c.feedback))
            reps = self.analysis.repetitions
            if reps is not None:  # the final analysis's count, how sure it is, and its summary sentence
                out.update(rep_count=sum(not r.repetition.partial for r in reps.results), count_sure=reps.count_sure,
                           other_count=reps.other_count, repetitions_summary=reps.summary)
        return out


def record_track(frames: list[tuple[int, float]], poses: list[tuple | None], *, width: int, height: int,
                 fps: float, source: str, model: str, dropped: int,
                 all_frames: list[tuple[int, float]] | None = None) -> PoseTrack:
    """The poses of the frames processed as one :class:`PoseTrack`, validated.

    ``frames`` are the processed frames' (index, time_s), ``poses`` their poses (None: nobody found).
    With ``all_frames`` (every frame a video delivered), the track has a row for each of them, NaN
    where a frame was dropped or nobody was found: row k is then the video's frame k, so a report
    draws the right frames. A stream longer than a pose track may be
    (:data:`lab.pose.validate.MAX_DURATION_S`) keeps its last part; ``meta["live"]["trimmed_s"]``
    says how many seconds were left out at the start (``processed`` then counts the frames kept, and
    ``stream_processed`` and ``dropped`` the whole stream's); with ``all_frames``, row k is then the
    video's frame ``meta["first_video_frame"] + k`` (:attr:`lab.pose.track.PoseTrack.first_video_frame`).
    """
    n_processed = len(frames)
    rows = sorted(set(all_frames or []) | set(frames)) if all_frames is not None else list(frames)
    trimmed = 0.0
    if rows and rows[-1][1] - rows[0][1] > MAX_DURATION_S:  # a pose track holds at most MAX_DURATION_S
        first = rows[-1][1] - MAX_DURATION_S + 1.0
        trimmed = first - rows[0][1]
        rows = [r for r in rows if r[1] >= first]
        keep = [k for k, (_, t) in enumerate(frames) if t >= first]
        frames, poses = [frames[k] for k in keep], [poses[k] for k in keep]
    where = {idx: k for k, (idx, _) in enumerate(rows)}
    T = len(rows)
    per_row: list = [None] * T  # one row per video frame: None where dropped or nobody was seen
    for (idx, _), pose in zip(frames, poses):
        per_row[where[idx]] = pose
    meta = {"source": source, "width": int(width), "height": int(height), "fps": float(fps), "model": model,
            "frame_count": T, "live": {"processed": len(frames), "dropped": int(dropped)}}
    if trimmed:  # processed: the frames of this track looked at; stream_processed: all of the stream's
        meta["live"].update(trimmed_s=round(trimmed, 3), stream_processed=n_processed)
        if all_frames is not None:
            meta["first_video_frame"] = int(rows[0][0])
    track = track_from_landmarks([t for _, t in rows], per_row, meta=meta)
    check_track(track)
    return track


def run_live(reference: str | Path | PoseTrack, stream: VideoStream | CameraStream, *, model: str = "lite",
             reference_model: str = "full", reference_body: PoseTrack | None = None,
             reference_video: str | Path | None = None, max_people: int = 2, mirror: str = "auto",
             reps: bool = False, analyze_at_end: bool = True, record_video: str | Path | None = None,
             on_update: Callable[[LiveUpdate, float, SourceFrame, np.ndarray | None], None] | None = None,
             stop: threading.Event | None = None) -> LiveResult:
    """Compare a stream with the coach's clip as it plays, then analyse the recording.

    Parameters
    ----------
    reference : path or PoseTrack
        The coach's clip (video, pose file or track); its features come from the pipeline's caches.
    stream : VideoStream or CameraStream
    model : {"lite", "full", "heavy"}
        Pose model for the stream.
    reference_model : str
        Pose model for the coach's video (extracted once, cached).
    reference_body : PoseTrack, optional
        With a track as ``reference``: its body-frame model already made (a library drill's stored
        model), used as it is.
    reference_video : path, optional
        The video a reference track came from (for the final analysis's drawings).
    max_people : int
        People looked for in each frame; the one followed is chosen as ``lab extract`` does
        (:func:`lab.pose.extract.choose_person`). With 1, MediaPipe tracks instead of detecting on
        every frame: faster, but its poses are worse (see the README).
    mirror : {"auto", "no", "yes"}
    reps : bool
        The coach's clip may hold several repetitions: follow one typical repetition
        (:func:`lab.reps.typical_repetition`), count them, and judge each one in the final analysis.
    analyze_at_end : bool
        Analyse the recorded poses when the stream ends (``LiveResult.analysis``).
    record_video : path, optional
        For a camera or a browser stream: write the frames processed to this video
        (:class:`StreamRecorder`); the track then has a row per frame of it and the final analysis
        draws from it. A file played as a stream is its own recording.
    on_update : callable, optional
        Called after each processed frame with the update, its latency (ms), the frame and the
        player's image landmarks ((33, 2) pixels of the source, or None).
    stop : threading.Event, optional
        Ends the stream early when set (e.g. a window closed). Ctrl-C (KeyboardInterrupt) while
        streaming ends it too, and what was seen is still analysed; during the analysis it interrupts.
    """
    import mediapipe as mp

    from lab.features import compute_features
    from lab.pose.extract import choose_person, make_landmarker, read_candidates
    from lab.pose.models import ensure_model
    from lab.reps import MatchNoise, typical_repetition

    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    if record_video is not None and isinstance(stream, VideoStream):
        raise LabError("a video file played as a stream is its own recording", exit_code=2)
    if reference_body is not None and isinstance(reference, PoseTrack):
        ref_track, ref_body, ref_video = reference, reference_body, reference_video
        ref_features = compute_features(ref_track, body=ref_body) if reps else None
    else:
        ref_track, ref_body, ref_features, ref_video = load_clip_features(reference, model=reference_model)
    ref_source = ClipErrorSource.from_clip(ref_track.frame, None, pose_model=ref_track.meta.get("model"))
    noise = MatchNoise.for_sources(reference_mocap=ref_source.mocap, attempt_mocap=ref_source.mocap)
    span = (typical_repetition(ref_features, noise=noise)[0].time_s[[0, -1]] if reps
            else ref_track.time_s[[0, -1]])
    query = prepare_live_reference(ref_track, ref_body, start_s=float(span[0]), end_s=float(span[1]))
    ghost = prepare_live_ghost(ref_track, ref_body, start_s=float(span[0]), end_s=float(span[1]))
    live = LiveComparison(query, reference_source=ref_source,
                          attempt_source=ClipErrorSource(pose_model=f"pose_landmarker_{model}"),
                          width=stream.width, height=stream.height, mirror=mirror, reference_body=ghost)
    landmarker = make_landmarker(ensure_model(model, masks=False), max_people=max_people, min_confidence=0.5)
    with quiet_stderr():  # the first inference sets the model up (hundreds of ms): before the stream's clock starts
        blank = np.zeros((min(stream.height, 256), min(stream.width, 256), 3), np.uint8)
        landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=blank), 0)
    recorder = (None if record_video is None
                else StreamRecorder(record_video, fps=stream.fps, width=stream.width, height=stream.height))
    previous, last_seen_t = None, -np.inf
    frames: list[tuple[int, float]] = []
    poses: list[tuple | None] = []
    latency: list[float] = []
    last, last_ms = None, 0
    stopped = False
    frames_in = iter(stream)
    with quiet_stderr():
        try:
            for frame in frames_in:
                if stop is not None and stop.is_set():
                    break
                ts_ms = max(int(round(frame.time_s * 1000)), last_ms + 1)
                last_ms = ts_ms
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.rgb))
                found = read_candidates(landmarker.detect_for_video(image, ts_ms), stream.width, stream.height)
                t = ts_ms / 1000.0
                pick = choose_person(found, previous, stream.width, stream.height, gap_s=t - last_seen_t)
                pose = None if pick is None else found[pick]
                if pose is not None:
                    previous, last_seen_t = pose[0], t
                last = live.push(t, None if pose is None else pose[2], image_px=None if pose is None else pose[0],
                                 visibility=None if pose is None else pose[3])
                lat = 1000.0 * (time.perf_counter() - frame.arrived_s)
                index = frame.index if recorder is None else recorder.add(frame.time_s, frame.rgb)
                frames.append((index, frame.time_s))
                poses.append(pose)
                latency.append(lat)
                if on_update is not None:
                    on_update(last, lat, frame, None if pose is None else pose[0])
        except KeyboardInterrupt:  # Ctrl-C is how a camera stream ends: what was seen is analysed
            stopped = True
        except BaseException:
            if recorder is not None:
                recorder.discard()
            raise
        finally:
            frames_in.close()
            landmarker.close()
            if recorder is not None:
                recorder.close()
    live.finish()
    if not any(p is not None for p in poses):
        if recorder is not None:
            recorder.discard()
        raise LabError(f"nobody was seen in {stream.source}", exit_code=4)
    if recorder is not None:
        recorder.commit()
    track = record_track(frames, poses, width=stream.width, height=stream.height, fps=stream.fps,
                         source=stream.source, model=f"pose_landmarker_{model}", dropped=stream.dropped,
                         all_frames=(stream.frame_times if isinstance(stream, VideoStream)
                                     else None if recorder is None else recorder.frame_times))
    track.meta["live"]["stopped_by_user"] = stopped
    analysis = None
    if analyze_at_end:
        # row k is the video's frame k
        video = stream.path if isinstance(stream, VideoStream) else None if recorder is None else recorder.path
        analysis = analyze(reference if not isinstance(reference, PoseTrack) else ref_track, track,
                           model=reference_model, mirror=mirror, reps=reps, reference_video=ref_video,
                           attempt_video=video, reference_body=reference_body)
    return LiveResult(track=track, analysis=analysis, last=last, repetitions=list(live.repetitions),
                      latency_ms=np.asarray(latency), time_s=np.array([t for _, t in frames]),
                      processed=len(frames), dropped=stream.dropped)
