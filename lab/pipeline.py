"""One analysis of a coach's clip and a player's attempt: every stage once, each stage cached.

:func:`analyze` runs the pipeline on two clips (videos, pose files, motion
capture, or :class:`lab.pose.PoseTrack` objects) and returns an
:class:`Analysis`, a frozen record of everything a comparison knows: both pose
tracks, both body-frame models, both camera viewpoints, the comparison (score,
verdict, DTW path, per-step table, feedback), the coach's ghost in the
player's camera and the per-landmark deviations. Every front end (``lab
compare``, ``lab report``, the library and its app, ``lab batch``) calls it and
only presents what it returns.

Stages and their caches (``$LAB_CACHE_DIR``; each keyed by the content hash of
its input and its parameters, and by a digest of the stage's own source code,
so a change of code never reuses a stale result):

====================  ==========================================  ======================
stage                 function                                    cached in
====================  ==========================================  ======================
pose                  :func:`lab.pose.extract.load_track`          ``tracks/`` (video)
lift                  :func:`lab.features.lift_or_basic`           ``stages/lift/``
view                  :func:`lab.score.estimate_clip_view`         ``stages/view/``
features              :func:`lab.features.compute_features`        ``stages/features/``
compare               :func:`lab.score.compare_features`           (not cached: fast)
ghost, deviations     :mod:`lab.align.ghost`, :mod:`lab.score.deviation`  (not cached)
====================  ==========================================  ======================

An analysis is saved as one folder (:meth:`Analysis.save`, :meth:`Analysis.load`;
layout in :data:`ANALYSIS_FILES` and the README): JSON and Parquet inside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lab.io import LabError, cache_dir, source_digest
from lab.pose.track import PoseTrack, read_track, write_track

#: Name and version of the saved analysis folder's format (``analysis.json``).
ANALYSIS_FORMAT = "lab.analysis"
ANALYSIS_VERSION = 1
#: Files of a saved analysis folder and what each holds.
ANALYSIS_FILES = {
    "analysis.json": "format, version, settings, sources, the comparison (score, verdict, joints, feedback, "
                     "evidence, warnings), both viewpoints' summaries, camera positions, notes, provenance",
    "reference.parquet": "the coach's pose track as given (lab.pose format; frame camera, lab or body)",
    "attempt.parquet": "the player's pose track as given",
    "reference_body.parquet": "the coach's model in the body frame (lab.lift)",
    "attempt_body.parquet": "the player's model in the body frame",
    "reference_view.parquet": "per-frame camera pose of the coach's clip (absent without a camera view)",
    "attempt_view.parquet": "per-frame camera pose of the player's clip (absent without a camera view)",
    "path.parquet": "the DTW path: step, reference/attempt time (s from each clip's start) and frame",
    "per_step.parquet": "per DTW step and joint angle: reference, attempt and difference (degrees), confidence, phase, "
                        "each clip's standard error (degrees)",
    "attempt_frames.parquet": "per player frame: deviation from the coach at each landmark (deg) and the "
                              "coach's ghost in the player's pixels",
    "repetitions.json": "with repetitions (lab compare --reps): the coach's repetitions, the player's, each "
                        "one's times, partial flag, score, p_same, verdict, feedback and summary",
}

#: Stages run by :func:`analyze`, in order (the keys of :data:`STAGE_LOG` entries).
STAGES = ("pose", "lift", "view", "features", "compare", "ghost", "reps")

#: One entry per stage run (``{"stage", "clip", "status": "computed" | "cached", "seconds"}``); tests
#: and benchmarks read it to check that every stage runs once. Cleared by nobody: callers slice it.
STAGE_LOG: list[dict[str, Any]] = []

#: Environment variable that forbids computing any stage in this process (set while a report
#: notebook runs: a notebook only draws an analysis it is given).
NO_COMPUTE_ENV = "LAB_NO_COMPUTE"


# --------------------------------------------------------------------------- stage cache
def hashable_bytes(a) -> bytes:
    """``a`` as float64 bytes, every NaN the same: a NaN's sign and payload are not kept by every
    Parquet round trip (pandas 3 writes NaN as null), and missing is missing, whatever made it."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return np.where(np.isnan(a), np.nan, a).tobytes()


def track_digest(track: PoseTrack) -> str:
    """Content hash of a pose track: its frame, landmarks, times, coordinates, confidences and image size."""
    h = hashlib.sha256()
    h.update(json.dumps([track.frame, list(track.keypoints), track.meta.get("width"),
                         track.meta.get("height")]).encode())
    for a in (track.time_s, track.image_px, track.world_m, track.visibility, track.presence, track.image_z):
        h.update(b"-" if a is None else hashable_bytes(a))
    return h.hexdigest()[:32]


def stages_cache_dir() -> Path:
    """``$LAB_CACHE_DIR/stages``: the lifted tracks, viewpoints and features of earlier analyses."""
    d = cache_dir() / "stages"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _check_may_compute(stage: str) -> None:
    if os.environ.get(NO_COMPUTE_ENV):
        raise LabError(f"stage {stage!r} would be computed where only drawing is allowed ({NO_COMPUTE_ENV} is set)",
                       exit_code=1)


def _write_table(df, path: Path, meta: dict[str, Any]) -> None:
    """A DataFrame to Parquet (atomic), ``meta`` as JSON in the schema metadata key ``lab``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lab.io import atomic_path

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"lab": json.dumps(meta, default=_json_default).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _read_table(path: Path):
    """(DataFrame, meta dict) written by :func:`_write_table`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"lab", b"{}"))
    return table.to_pandas(), meta


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _log(stage: str, clip: str, status: str, t0: float) -> None:
    STAGE_LOG.append({"stage": stage, "clip": clip, "status": status,
                      "seconds": round(time.perf_counter() - t0, 4)})


def _cached(stage: str, clip: str, key: str, *, read: Callable[[Path], Any], write: Callable[[Any, Path], None],
            compute: Callable[[], Any]) -> Any:
    """The stage result stored under ``key``, else ``compute()`` stored there; logged in :data:`STAGE_LOG`."""
    t0 = time.perf_counter()
    path = stages_cache_dir() / stage / f"{key}.parquet"
    if path.exists():
        try:
            out = read(path)
            _log(stage, clip, "cached", t0)
            return out
        except Exception:  # a damaged entry is recomputed, never trusted
            with contextlib.suppress(OSError):
                path.unlink()
    _check_may_compute(stage)
    out = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write(out, path)
    except OSError as exc:  # a read-only cache costs speed, not the result
        warnings.warn(f"could not cache the {stage} stage: {exc}", stacklevel=2)
    _log(stage, clip, "computed", t0)
    return out


# ------------------------------------------------------------------- stage I/O
def _write_body(result, path: Path) -> None:
    body, method, notes = result
    write_track(body.replace(meta={**body.meta, "lab_stage": {"method": method, "notes": notes}}), path)


def _read_body(path: Path):
    body = read_track(path)
    info = body.meta.pop("lab_stage")
    return body, info["method"], list(info["notes"])


_VIEW_SCALARS = ("azimuth_deg", "elevation_deg", "distance_m", "spread_deg", "elevation_spread_deg", "width",
                 "height", "mirrored", "ambiguous", "reason", "method", "flipped_fraction")


def view_to_table(view):
    """A :class:`lab.align.ViewEstimate` as (per-frame DataFrame, dict of clip values)."""
    import pandas as pd

    T = len(view.azimuth_deg_per_frame)
    df = pd.DataFrame({"azimuth_deg": view.azimuth_deg_per_frame, "elevation_deg": view.elevation_deg_per_frame,
                       "distance_m": view.distance_m_per_frame, "reprojection_px": view.reprojection_px})
    for i in range(3):
        for j in range(3):
            df[f"r{i}{j}"] = np.asarray(view.rotation, float).reshape(T, 3, 3)[:, i, j]
        df[f"t{i}"] = np.asarray(view.translation_m, float).reshape(T, 3)[:, i]
    meta = {k: getattr(view, k) for k in _VIEW_SCALARS}
    meta.update(K=np.asarray(view.K).tolist(), dist=np.asarray(view.dist).tolist(),
                clip_rotation=None if view.clip_rotation is None else np.asarray(view.clip_rotation).tolist())
    return df, meta


def view_from_table(df, meta: dict[str, Any]):
    """Inverse of :func:`view_to_table`."""
    from lab.align import ViewEstimate

    T = len(df)
    R = np.stack([df[f"r{i}{j}"].to_numpy(float) for i in range(3) for j in range(3)], 1).reshape(T, 3, 3)
    t = np.stack([df[f"t{i}"].to_numpy(float) for i in range(3)], 1)
    return ViewEstimate(azimuth_deg_per_frame=df["azimuth_deg"].to_numpy(float),
                        elevation_deg_per_frame=df["elevation_deg"].to_numpy(float),
                        distance_m_per_frame=df["distance_m"].to_numpy(float), rotation=R, translation_m=t,
                        reprojection_px=df["reprojection_px"].to_numpy(float), K=np.array(meta["K"], float),
                        dist=np.array(meta["dist"], float),
                        clip_rotation=None if meta["clip_rotation"] is None else np.array(meta["clip_rotation"]),
                        **{k: meta[k] for k in _VIEW_SCALARS})


def _write_view(view, path: Path) -> None:
    import pandas as pd

    if view is None or isinstance(view, str):
        _write_table(pd.DataFrame({"none": []}), path, {"none": True, "error": view})
        return
    df, meta = view_to_table(view)
    _write_table(df, path, meta)


def _read_view(path: Path):
    df, meta = _read_table(path)
    if meta.get("none"):
        return meta.get("error")
    return view_from_table(df, meta)


def _write_features(fs, path: Path) -> None:
    _write_table(fs.to_dataframe(), path, {"names": list(fs.names), "torso_m": fs.torso_m})


def _read_features(path: Path):
    from lab.features import FeatureSet

    df, meta = _read_table(path)
    names = tuple(meta["names"])
    return FeatureSet(time_s=df["time_s"].to_numpy(float), values=df[list(names)].to_numpy(float),
                      confidence=df[[f"conf:{n}" for n in names]].to_numpy(float), names=names,
                      torso_m=float(meta["torso_m"]) if meta["torso_m"] is not None else float("nan"))


def _features_digest(fs) -> str:
    h = hashlib.sha256(json.dumps([list(fs.names), fs.torso_m], default=str).encode())
    for a in (fs.time_s, fs.values, fs.confidence):
        h.update(hashable_bytes(a))
    return h.hexdigest()[:32]


def _write_comparison(c, path: Path) -> None:
    _write_table(c.per_step, path, {"record": comparison_record(c),
                                    "path_time_s": np.asarray(c.path_time_s, float).tolist()})


def _read_comparison(path: Path):
    per_step, meta = _read_table(path)
    return comparison_from_record(meta["record"], path_time_s=np.array(meta["path_time_s"], float).reshape(-1, 2),
                                  per_step=per_step)


def _write_drawn(result, path: Path) -> None:
    import pandas as pd

    path_frames, deviation, ghost, positions, notes = result
    T, K = deviation.shape
    cols = {f"d{k}": deviation[:, k] for k in range(K)}
    if ghost is not None:
        cols.update({f"gx{k}": ghost[:, k, 0] for k in range(K)})
        cols.update({f"gy{k}": ghost[:, k, 1] for k in range(K)})
    _write_table(pd.DataFrame(cols), path, {"K": K, "ghost": ghost is not None, "path_frames": path_frames.tolist(),
                                            "positions": {k: np.asarray(v).tolist() for k, v in positions.items()},
                                            "notes": notes})


def _read_drawn(path: Path):
    df, meta = _read_table(path)
    K = meta["K"]
    deviation = df[[f"d{k}" for k in range(K)]].to_numpy(float)
    ghost = None
    if meta["ghost"]:
        ghost = np.stack([df[[f"gx{k}" for k in range(K)]].to_numpy(float),
                          df[[f"gy{k}" for k in range(K)]].to_numpy(float)], axis=-1)
    return (np.array(meta["path_frames"], int).reshape(-1, 2), deviation, ghost,
            {k: np.asarray(v, float) for k, v in meta["positions"].items()}, list(meta["notes"]))


# ------------------------------------------------------------------- the stages
def lift_stage(track: PoseTrack, *, lift: bool = True, clip: str = "", digest: str | None = None):
    """``track`` in the body frame, cached: (body track, method "lift"/"basic"/"given", warnings)."""
    from lab.features import lift_or_basic

    def compute():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            body, method = lift_or_basic(track, lift=lift)
        return body, method, [str(w.message) for w in caught]

    if track.frame == "body":
        return track, "given", []
    key = _key("lift", source_digest("lift", "features", "pose/sides", "pose/camera"), digest or track_digest(track),
               lift)
    return _cached("lift", clip, key, read=_read_body, write=_write_body, compute=compute)


def view_stage(track: PoseTrack, body: PoseTrack | None, *, clip: str = "", digest: str | None = None):
    """The camera viewpoint of a video clip (a :class:`lab.align.ViewEstimate`), cached; a str saying
    why it could not be estimated; None for clips without a camera (mocap, body-frame files).

    ``body`` is ``track`` lifted by :func:`lab.lift.lift_track` with its defaults when the caller has it
    (else it is lifted here): a viewpoint always rests on that model."""
    from lab.score import estimate_clip_view

    if track.frame != "camera" or track.world_m is None or track.image_px is None:
        return None
    key = _key("view", source_digest("align", "lift", "pose/sides", "pose/camera"), digest or track_digest(track))
    return _cached("view", clip, key, read=_read_view, write=_write_view,
                   compute=lambda: estimate_clip_view(track, body=body))


def features_stage(track: PoseTrack, body: PoseTrack, *, method: str, clip: str = "", digest: str | None = None):
    """The features of ``track`` (:class:`lab.features.FeatureSet`), from its body-frame model, cached."""
    from lab.features import compute_features

    key = _key("features", source_digest("features", "pose/sides", "pose/camera"), digest or track_digest(track),
               track_digest(body) if method == "given" else method)
    return _cached("features", clip, key, read=_read_features, write=_write_features,
                   compute=lambda: compute_features(track, body=body, travel=True))


# ---------------------------------------------------------------------- the analysis
@dataclasses.dataclass(frozen=True)
class Analysis:
    """Everything one comparison knows, computed once by :func:`analyze`.

    Attributes
    ----------
    reference, attempt : PoseTrack
        The coach's and the player's tracks as given (frame ``camera`` for videos).
    reference_body, attempt_body : PoseTrack
        The same in the body frame (:func:`lab.features.lift_or_basic`).
    reference_view, attempt_view : ViewEstimate or None
        Each camera's viewpoint (None for mocap or when it could not be estimated; see ``notes``).
    comparison : lab.score.Comparison
        Score, verdict, DTW path (seconds), per-step table, joints, feedback, evidence.
    path_frames : ndarray (L, 2) of int
        The DTW path as frame indices (reference frame, attempt frame).
    deviation_deg : ndarray (T_attempt, K)
        Per player frame and landmark, the largest absolute angle difference there (degrees); NaN where
        no angle sits.
    ghost_px : ndarray (T_attempt, K, 2) or None
        The coach's matched pose in the player's pixels.
    camera_positions_m : dict
        ``"coach camera"`` / ``"player camera"`` -> camera centre (3,) in the body frame, metres.
    reference_source, attempt_source : str
        The inputs as given (paths, or a description of an in-memory track).
    reference_video, attempt_video : str or None
        The videos the tracks came from (frames are drawn from them).
    notes : tuple of str
        What could not be computed and why.
    settings : dict
        The parameters of :func:`analyze`.
    provenance : dict
        lab version, creation time, and each stage's cache key.
    repetitions : lab.reps.RepetitionReport or None
        Each repetition of the coach's movement in the player's clip and its verdict
        (``analyze(..., reps=True)``); None otherwise.
    """

    reference: PoseTrack
    attempt: PoseTrack
    reference_body: PoseTrack
    attempt_body: PoseTrack
    reference_view: Any
    attempt_view: Any
    comparison: Any
    path_frames: np.ndarray
    deviation_deg: np.ndarray
    ghost_px: np.ndarray | None
    camera_positions_m: dict[str, np.ndarray]
    reference_source: str
    attempt_source: str
    reference_video: str | None
    attempt_video: str | None
    notes: tuple[str, ...]
    settings: dict[str, Any]
    provenance: dict[str, Any]
    repetitions: Any = None

    # ------------------------------------------------------------ summaries
    def to_dict(self) -> dict[str, Any]:
        """What ``lab compare --json`` prints (:meth:`lab.score.Comparison.to_dict`; with repetitions,
        also ``rep_count``, ``reps`` and ``repetitions``: :meth:`lab.reps.RepetitionReport.to_dict`)."""
        out = self.comparison.to_dict()
        if self.repetitions is not None:
            reps = self.repetitions.to_dict()
            out["rep_count"] = reps["rep_count"]
            out["reps"] = reps["reps"]
            out["repetitions"] = {k: v for k, v in reps.items() if k not in ("rep_count", "reps")}
        return out

    def summary(self) -> dict[str, Any]:
        """Small JSON-able summary (index pages, batch tables)."""
        c = self.comparison
        return {"reference": self.reference_source, "attempt": self.attempt_source, "verdict": c.verdict,
                "score": round(float(c.score), 1), "distance": round(float(c.distance), 2),
                "threshold": round(float(c.threshold), 2), "mirrored": bool(c.mirrored),
                "feedback": list(c.feedback)}

    # ------------------------------------------------------------------ save / load
    def save(self, folder: str | Path) -> Path:
        """Write the analysis as one folder (:data:`ANALYSIS_FILES`), atomically; return its path.

        The folder is built under a temporary name beside ``folder`` and
        renamed into place; an existing analysis folder there is replaced
        only once the new one is complete. A folder that is not an analysis
        is never replaced.
        """
        import pandas as pd

        folder = check_save_target(folder)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
        try:
            write_track(self.reference, tmp / "reference.parquet")
            write_track(self.attempt, tmp / "attempt.parquet")
            write_track(self.reference_body, tmp / "reference_body.parquet")
            write_track(self.attempt_body, tmp / "attempt_body.parquet")
            views = {}
            for name, v in (("reference", self.reference_view), ("attempt", self.attempt_view)):
                if v is not None:
                    df, meta = view_to_table(v)
                    _write_table(df, tmp / f"{name}_view.parquet", meta)
                    views[name] = v.summary()
            c = self.comparison
            p = np.asarray(c.path_time_s, float)
            _write_table(pd.DataFrame({"step": np.arange(len(p)), "reference_time_s": p[:, 0],
                                       "attempt_time_s": p[:, 1], "reference_frame": self.path_frames[:, 0],
                                       "attempt_frame": self.path_frames[:, 1]}), tmp / "path.parquet", {})
            _write_table(c.per_step, tmp / "per_step.parquet", {})
            kp = self.attempt.keypoints
            frames = pd.DataFrame({"frame": np.arange(self.attempt.n_frames), "time_s": self.attempt.time_s})
            cols = {f"deviation_deg:{k}": self.deviation_deg[:, i] for i, k in enumerate(kp)}
            if self.ghost_px is not None:
                for i, k in enumerate(kp):
                    cols[f"ghost_x_px:{k}"] = self.ghost_px[:, i, 0]
                    cols[f"ghost_y_px:{k}"] = self.ghost_px[:, i, 1]
            frames = pd.concat([frames, pd.DataFrame(cols)], axis=1)
            _write_table(frames, tmp / "attempt_frames.parquet", {"keypoints": list(kp),
                                                                   "ghost": self.ghost_px is not None})
            doc = {"format": ANALYSIS_FORMAT, "version": ANALYSIS_VERSION, "settings": self.settings,
                   "reference": {"source": self.reference_source, "video": self.reference_video},
                   "attempt": {"source": self.attempt_source, "video": self.attempt_video},
                   "comparison": comparison_record(c), "views": views,
                   "camera_positions_m": {k: np.asarray(v).tolist() for k, v in self.camera_positions_m.items()},
                   "notes": list(self.notes), "provenance": self.provenance}
            if self.repetitions is not None:
                (tmp / "repetitions.json").write_text(json.dumps(self.repetitions.to_dict(), indent=1,
                                                                 default=_json_default))
            (tmp / "analysis.json").write_text(json.dumps(doc, indent=1, default=_json_default))
            _make_shareable(tmp)
            old = None
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
                os.replace(folder, old)
            os.replace(tmp, folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "Analysis":
        """Read an analysis saved by :meth:`save`.

        Raises
        ------
        LabError
            If the folder is not a readable analysis of a version this lab knows (exit 2).
        """
        folder = Path(folder)
        doc_path = folder / "analysis.json"
        try:
            doc = json.loads(doc_path.read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"{folder} is not a saved analysis ({exc.__class__.__name__}: {exc})",
                           exit_code=2) from None
        if not isinstance(doc, dict) or doc.get("format") != ANALYSIS_FORMAT:
            fmt = doc.get("format") if isinstance(doc, dict) else None
            raise LabError(f"{folder} is not a saved analysis (format {fmt!r})", exit_code=2)
        if doc.get("version") != ANALYSIS_VERSION:
            raise LabError(f"{folder}: analysis version {doc.get('version')!r}; this lab reads {ANALYSIS_VERSION}",
                           exit_code=2)
        try:
            tracks = {n: read_track(folder / f"{n}.parquet")
                      for n in ("reference", "attempt", "reference_body", "attempt_body")}
            views = {}
            for n in ("reference", "attempt"):
                p = folder / f"{n}_view.parquet"
                views[n] = view_from_table(*_read_table(p)) if p.exists() else None
            path_df, _ = _read_table(folder / "path.parquet")
            per_step, _ = _read_table(folder / "per_step.parquet")
            frames, fmeta = _read_table(folder / "attempt_frames.parquet")
            reps_path = folder / "repetitions.json"
            repetitions = None
            if reps_path.exists():
                from lab.reps import RepetitionReport

                repetitions = RepetitionReport.from_dict(json.loads(reps_path.read_text()))
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise LabError(f"{folder}: damaged analysis ({exc.__class__.__name__}: {exc})", exit_code=2) from None
        kp = fmeta["keypoints"]
        deviation = frames[[f"deviation_deg:{k}" for k in kp]].to_numpy(float)
        ghost = None
        if fmeta.get("ghost"):
            ghost = np.stack([frames[[f"ghost_x_px:{k}" for k in kp]].to_numpy(float),
                              frames[[f"ghost_y_px:{k}" for k in kp]].to_numpy(float)], axis=-1)
        path_time = path_df[["reference_time_s", "attempt_time_s"]].to_numpy(float)
        comparison = comparison_from_record(doc["comparison"], path_time_s=path_time, per_step=per_step)
        return cls(reference=tracks["reference"], attempt=tracks["attempt"],
                   reference_body=tracks["reference_body"], attempt_body=tracks["attempt_body"],
                   reference_view=views["reference"], attempt_view=views["attempt"], comparison=comparison,
                   path_frames=path_df[["reference_frame", "attempt_frame"]].to_numpy(int),
                   deviation_deg=deviation, ghost_px=ghost,
                   camera_positions_m={k: np.asarray(v, float) for k, v in doc["camera_positions_m"].items()},
                   reference_source=doc["reference"]["source"], attempt_source=doc["attempt"]["source"],
                   reference_video=doc["reference"]["video"], attempt_video=doc["attempt"]["video"],
                   notes=tuple(doc["notes"]), settings=doc["settings"], provenance=doc["provenance"],
                   repetitions=repetitions)


def check_save_target(folder: str | Path) -> Path:
    """``folder`` if an analysis may be saved there (absent, empty, or a saved analysis, which is then
    replaced); else :class:`LabError` (exit 2). Front ends call it before computing anything."""
    folder = Path(folder)
    if folder.exists() and not (folder / "analysis.json").exists():
        if not (folder.is_dir() and not any(folder.iterdir())):
            raise LabError(f"{folder} exists and is not a saved analysis; choose another path", exit_code=2)
    return folder


def _make_shareable(folder: Path) -> None:
    """Give a finished output folder and its files the usual permissions (temporary ones are 0700/0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        os.chmod(f, 0o666 & ~umask)


def comparison_record(c) -> dict[str, Any]:
    """A :class:`lab.score.Comparison` as JSON-able values at full precision (without its arrays)."""
    return {"score": c.score, "distance": c.distance, "threshold": c.threshold,
            "threshold_provenance": c.threshold_provenance, "verdict": c.verdict, "mirrored": bool(c.mirrored),
            "mirror_costs": dict(c.mirror_costs), "slope": c.slope, "relative_azimuth_deg": c.relative_azimuth_deg,
            "reference": c.reference.to_dict(), "attempt": c.attempt.to_dict(),
            "joints": [j.to_dict() for j in c.joints], "feedback": list(c.feedback), "warnings": list(c.warnings),
            "evidence": c.evidence.to_dict(), "settings": c.settings, "cannot_judge": list(c.cannot_judge),
            "summary": c.summary, "p_same": c.p_same, "verdict_terms": dict(c.verdict_terms)}


def comparison_from_record(d: dict[str, Any], *, path_time_s: np.ndarray, per_step) -> Any:
    """Inverse of :func:`comparison_record` (with the arrays read beside it)."""
    from lab.score import ClipInfo, Comparison, Evidence, JointResult, ViewInfo

    def clip(x):
        return ClipInfo(**{**x, "view": ViewInfo(**x["view"])})
    return Comparison(score=d["score"], distance=d["distance"], threshold=d["threshold"],
                      threshold_provenance=d["threshold_provenance"], verdict=d["verdict"], mirrored=d["mirrored"],
                      mirror_costs=d["mirror_costs"], path_time_s=path_time_s, slope=d["slope"],
                      reference=clip(d["reference"]), attempt=clip(d["attempt"]),
                      relative_azimuth_deg=d["relative_azimuth_deg"],
                      joints=[JointResult(**j) for j in d["joints"]], feedback=d["feedback"], warnings=d["warnings"],
                      evidence=Evidence(**d["evidence"]), per_step=per_step, settings=d["settings"],
                      cannot_judge=list(d.get("cannot_judge", [])), summary=d.get("summary", ""),
                      p_same=d.get("p_same"), verdict_terms=dict(d.get("verdict_terms", {})))


# ------------------------------------------------------------------------------ analyze
def _is_video(path: str | Path) -> bool:
    from lab.pose.video import VIDEO_SUFFIXES

    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _load(source: str | Path | PoseTrack, *, model: str, clip: str,
          workers: int | None = None) -> tuple[PoseTrack, str, str | None]:
    """(track, source description, video path or None), the pose stage."""
    from lab.pose.extract import load_track

    t0 = time.perf_counter()
    if isinstance(source, PoseTrack):
        _log("pose", clip, "given", t0)
        return source, str(source.meta.get("source") or f"{clip} track"), None
    p = Path(source)
    if not p.exists():
        raise LabError(f"no such file: {p}", exit_code=2)
    if _is_video(p):
        if os.environ.get(NO_COMPUTE_ENV):
            _check_may_compute("pose")
        track = load_track(p, model=model, progress=False, workers=workers)
        video = str(p)
    else:
        track = load_track(p)
        video = None
    if track.world_m is None:
        raise LabError(f"{p.name} has no 3D landmarks; a comparison needs a video or a pose file with 3D",
                       exit_code=4)
    _log("pose", clip, "loaded", t0)
    return track, str(p), video


def load_clip_features(source: str | Path | PoseTrack, *, model: str = "full", lift: bool = True,
                       clip: str = "reference") -> tuple[PoseTrack, PoseTrack, Any, str | None]:
    """One clip's pose track, body-frame model and features, each stage cached as in :func:`analyze`.

    Returns ``(track, body, features, video)``: the pose track, its body-frame
    track, its :class:`lab.features.FeatureSet` and the video's path (None for
    a pose file or a track).
    """
    track, _, video = _load(source, model=model, clip=clip)
    digest = track_digest(track)
    body, method, _ = lift_stage(track, lift=lift, clip=clip, digest=digest)
    return track, body, features_stage(track, body, method=method, clip=clip, digest=digest), video


def _draw_stage(comp, ref: PoseTrack, att: PoseTrack, ref_body: PoseTrack, att_body: PoseTrack,
                views: dict[str, Any]):
    """The DTW path in frames, per-frame deviations, the ghost and the camera positions (with notes)."""
    from lab.align.ghost import camera_position_body_m, ghost_in_view
    from lab.score.deviation import deviation_per_frame, path_to_frames

    notes: list[str] = []
    path_frames = path_to_frames(comp.path_time_s, ref.time_s, att.time_s)
    deviation = deviation_per_frame(comp.per_step, att.time_s, att.keypoints, mirrored=comp.mirrored)
    ghost = None
    att_view = views["attempt"]
    if att.frame != "camera" or att.image_px is None:
        notes.append("no ghost: the attempt is not a video track (needs 2D and camera-frame 3D)")
    elif isinstance(att_view, str) or att_view is None:
        notes.append(f"no ghost: {att_view or 'no camera view'}")
    else:
        try:
            ghost = ghost_in_view(ref_body, att_body, att_view, path_frames, mirrored=comp.mirrored)
        except LabError as exc:  # no camera pose for the attempt: the analysis stands without the ghost
            notes.append(f"no ghost: {exc}")
    positions = {}
    for clip, label in (("reference", "coach camera"), ("attempt", "player camera")):
        v = views[clip]
        if isinstance(v, str):
            notes.append(f"{label}: viewpoint not estimated ({v})")
        elif v is not None:
            try:
                positions[label] = camera_position_body_m(v)
            except (LabError, ValueError) as exc:
                notes.append(f"{label}: viewpoint not estimated ({exc})")
    return path_frames, deviation, ghost, positions, notes


def analyze(reference: str | Path | PoseTrack, attempt: str | Path | PoseTrack, *, mirror: str = "auto",
            threshold: float | None = None, model: str = "full", window_s: float | None = 0.3,
            rate_hz: float = 30.0, lift: bool = True, n_phases: int = 4,
            reference_body: PoseTrack | None = None, attempt_body: PoseTrack | None = None,
            reference_video: str | Path | None = None, attempt_video: str | Path | None = None,
            extract_workers: int | None = None, reps: bool = False,
            echo: Callable[[str], None] | None = None) -> Analysis:
    """Analyse a player's attempt against a coach's reference: every stage once, each cached.

    Parameters
    ----------
    reference, attempt : path or PoseTrack
        A video (its pose extracted with ``model``, cached), a pose file
        (``.parquet``, ``.trc``, ``.bvh``) or a track in memory.
    mirror : {"auto", "no", "yes"}
        Also compare the attempt's left/right mirror image ("auto": keep the
        better, reported as ``comparison.mirrored``); "no" for sided drills.
    threshold : float, optional
        Same/different distance; default the shipped calibration.
    model : {"lite", "full", "heavy"}
        Pose model for videos.
    window_s, rate_hz, n_phases
        See :func:`lab.score.compare_features`.
    lift : bool
        Lift with :mod:`lab.lift` (else the basic body frame).
    reference_body, attempt_body : PoseTrack, optional
        The clip's body-frame model already made (e.g. the library's stored
        model of a drill): used as it is, never recomputed.
    reference_video, attempt_video : path, optional
        The video a track given in memory or as a pose file came from (for
        drawing frames).
    extract_workers : int, optional
        Landmarker threads for a video's extraction (default: one per core on long clips).
    reps : bool
        Also find each repetition of the coach's movement in the player's clip and judge
        each one (:func:`lab.reps.judge_repetitions`; ``Analysis.repetitions``).
    echo : callable, optional
        Called with one line per stage and its elapsed time.

    Returns
    -------
    Analysis

    Raises
    ------
    LabError
        Bad input (exit 2), nothing comparable in the clips (exit 4).
    """
    from lab.score import compare_features, default_threshold, describe_clip

    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    if threshold is not None and not (np.isfinite(threshold) and threshold > 0):
        raise LabError("--threshold must be a positive distance", exit_code=2)
    say = echo or (lambda s: None)
    t_start = time.perf_counter()
    first = len(STAGE_LOG)

    def done(what: str) -> None:
        say(f"  {what} ({time.perf_counter() - t_start:.1f} s)")

    ref, ref_src, ref_vid = _load(reference, model=model, clip="reference", workers=extract_workers)
    att, att_src, att_vid = _load(attempt, model=model, clip="attempt", workers=extract_workers)
    ref_vid = str(reference_video) if reference_video is not None else ref_vid
    att_vid = str(attempt_video) if attempt_video is not None else att_vid
    done("pose tracks")
    notes: list[str] = []
    stage_notes: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for clip, track, given_body in (("reference", ref, reference_body), ("attempt", att, attempt_body)):
        digest = track_digest(track)
        if given_body is not None:
            if given_body.frame != "body" or given_body.n_frames != track.n_frames:
                raise LabError(f"the {clip}'s stored model does not match its track", exit_code=2)
            body, method, lift_notes = given_body, "given", []
            _log("lift", clip, "given", time.perf_counter())
        else:
            body, method, lift_notes = lift_stage(track, lift=lift, clip=clip, digest=digest)
        stage_notes += lift_notes
        view = view_stage(track, body if method in ("lift", "given") else None, clip=clip, digest=digest)
        feats = features_stage(track, body, method=method, clip=clip, digest=digest)
        out[clip] = {"track": track, "body": body, "method": method, "view": view, "features": feats}
    if "basic" in (out["reference"]["method"], out["attempt"]["method"]):
        notes.append(f"3D body frame: reference {out['reference']['method']}, attempt {out['attempt']['method']}")
    done("body-frame models, viewpoints and features")
    infos = {c: describe_clip(out[c]["track"], path=src, view=out[c]["view"])
             for c, src in (("reference", ref_src), ("attempt", att_src))}
    threshold_used = threshold if threshold is not None else default_threshold()

    def compare():
        try:
            return compare_features(out["reference"]["features"], out["attempt"]["features"],
                                    reference_info=infos["reference"], attempt_info=infos["attempt"],
                                    mirror=mirror, rate_hz=rate_hz, window_s=window_s, threshold=threshold,
                                    n_phases=n_phases, lift=lift, notes=stage_notes)
        except ValueError as exc:
            raise LabError(f"cannot compare these clips: {exc}", exit_code=4) from None

    cmp_key = _key("compare", source_digest("score", "dtw", "features", "pose/sides"),
                   _features_digest(out["reference"]["features"]), _features_digest(out["attempt"]["features"]),
                   infos["reference"].to_dict(), infos["attempt"].to_dict(), mirror, rate_hz, window_s, n_phases,
                   lift, threshold_used, stage_notes)
    comp = _cached("compare", "pair", cmp_key, read=_read_comparison, write=_write_comparison, compute=compare)
    done(f"comparison: {comp.verdict}, score {comp.score:.0f}/100")

    views = {c: out[c]["view"] for c in ("reference", "attempt")}
    drawn_key = _key("ghost", source_digest("align", "score", "lift", "pose/sides", "pose/camera"), cmp_key,
                     track_digest(ref), track_digest(att), track_digest(out["reference"]["body"]),
                     track_digest(out["attempt"]["body"]))
    path_frames, deviation, ghost, positions, drawn_notes = _cached(
        "ghost", "pair", drawn_key, read=_read_drawn, write=_write_drawn,
        compute=lambda: _draw_stage(comp, ref, att, out["reference"]["body"], out["attempt"]["body"], views))
    notes += drawn_notes
    att_view = views["attempt"]
    done("ghost and deviations")

    repetitions = None
    if reps:
        from lab.reps import judge_repetitions

        t0 = time.perf_counter()
        _check_may_compute("reps")
        repetitions = judge_repetitions(out["reference"]["features"], out["attempt"]["features"],
                                        reference_info=infos["reference"], attempt_info=infos["attempt"],
                                        mirror=mirror, rate_hz=rate_hz, window_s=window_s, n_phases=n_phases,
                                        lift=lift, threshold=threshold)
        _log("reps", "pair", "computed", t0)
        done(f"repetitions: {repetitions.rep_count} found")
    settings = {"mirror": mirror, "threshold": threshold, "model": model, "window_s": window_s,
                "rate_hz": rate_hz, "lift": lift, "n_phases": n_phases, "reps": reps}
    provenance = {"lab_version": _lab_version(),
                  "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "stages": STAGE_LOG[first:]}
    return Analysis(reference=ref, attempt=att, reference_body=out["reference"]["body"],
                    attempt_body=out["attempt"]["body"],
                    reference_view=None if isinstance(views["reference"], str) else views["reference"],
                    attempt_view=None if isinstance(att_view, str) else att_view, comparison=comp,
                    path_frames=path_frames, deviation_deg=deviation, ghost_px=ghost,
                    camera_positions_m=positions, reference_source=ref_src, attempt_source=att_src,
                    reference_video=ref_vid, attempt_video=att_vid, notes=tuple(notes), settings=settings,
                    provenance=provenance, repetitions=repetitions)


def _lab_version() -> str:
    from lab import __version__

    return __version__
