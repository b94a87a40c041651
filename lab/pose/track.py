"""The one pose structure that crosses every module boundary.

A :class:`PoseTrack` holds one person's landmarks over time. Arrays inside
(NumPy, ``float64``), Parquet at the edges (:func:`write_track` /
:func:`read_track`). Missing is NaN, never 0: a frame where nobody was found
keeps its row, with NaN coordinates and zero visibility/presence.

Coordinate frames (recorded in ``PoseTrack.frame`` and in the file):

``image``
    ``image_px``: pixels, origin at the top-left corner of the *displayed*
    frame (rotation metadata applied), x to the right, y down.
``camera``
    ``world_m`` as MediaPipe gives it: metres, origin at the mid-hip, axes
    parallel to the camera's (x right, y down, z away from the camera).
``body``
    ``world_m`` after :mod:`lab.lift`: metres, origin at the mid-hip,
    x = subject's left, y = up, z = subject's front (right-handed).
``lab``
    ``world_m`` from motion capture: metres, y up, arbitrary origin/heading.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.pose.validate import PoseFormatError  # noqa: F401  (defined with the checks; re-exported here)

#: The 33 BlazePose landmark names, in MediaPipe's order.
BLAZEPOSE_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
    "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky",
    "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

#: Bones drawn for a skeleton, as pairs of BlazePose names.
SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_wrist", "left_index"),
    ("right_wrist", "right_index"),
)

FRAMES = ("image", "camera", "body", "lab")
FORMAT_NAME = "lab.pose"
FORMAT_VERSION = 1
_META_KEY = b"lab.pose"

#: Columns of the Parquet pose file (long format: one row per frame x keypoint).
COLUMNS: dict[str, str] = {
    "frame": "int64, frame index from 0 in decoding order",
    "time_s": "float64, presentation time of the frame, seconds from the first frame",
    "keypoint": "string, landmark name (BlazePose names; see BLAZEPOSE_KEYPOINTS)",
    "x_px": "float64, image x, pixels, origin top-left, right",
    "y_px": "float64, image y, pixels, origin top-left, down",
    "x_norm": "float64, x_px / width",
    "y_norm": "float64, y_px / height",
    "z_norm": "float64, MediaPipe relative depth, same scale as x_norm, smaller is nearer",
    "x_m": "float64, 3D x in metres, in the file's world frame",
    "y_m": "float64, 3D y in metres",
    "z_m": "float64, 3D z in metres",
    "visibility": "float64 in [0, 1], likelihood the landmark is visible (not occluded)",
    "presence": "float64 in [0, 1], likelihood the landmark is in the frame",
}


def _nan(shape: tuple[int, ...]) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float64)


@dataclasses.dataclass
class PoseTrack:
    """One person's pose over time.

    Parameters
    ----------
    time_s : ndarray, shape (T,)
        Frame times in seconds, strictly increasing.
    keypoints : tuple of str, length K
        Landmark names.
    image_px : ndarray, shape (T, K, 2), optional
        Image coordinates in pixels (frame ``image``). NaN where missing.
    world_m : ndarray, shape (T, K, 3), optional
        3D coordinates in metres, in frame ``frame``. NaN where missing.
    visibility, presence : ndarray, shape (T, K)
        Confidence in [0, 1]; 0 where the person was not found.
    image_z : ndarray, shape (T, K), optional
        MediaPipe's relative depth (``z_norm``), unitless.
    frame : str
        Frame of ``world_m``: one of ``camera``, ``body``, ``lab``.
    meta : dict
        JSON-serialisable metadata: ``source`` (path), ``width``, ``height``
        (pixels), ``fps``, ``frame_count``, ``sha256``, ``model``,
        ``person`` (how the tracked person was chosen), ``first_video_frame``
        (the video frame row 0 shows, when the track starts later than its
        video: :attr:`first_video_frame`), and anything later stages add
        (``lift``, ``view``...).
    """

    time_s: np.ndarray
    keypoints: tuple[str, ...]
    image_px: np.ndarray | None = None
    world_m: np.ndarray | None = None
    visibility: np.ndarray | None = None
    presence: np.ndarray | None = None
    image_z: np.ndarray | None = None
    frame: str = "camera"
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.time_s = np.asarray(self.time_s, dtype=np.float64)
        self.keypoints = tuple(str(k) for k in self.keypoints)
        T, K = len(self.time_s), len(self.keypoints)
        for name, tail in (("image_px", (2,)), ("world_m", (3,)), ("image_z", ())):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.asarray(arr, dtype=np.float64)
                if arr.shape != (T, K, *tail):
                    raise PoseFormatError(
                        f"{name} has shape {arr.shape}, expected {(T, K, *tail)}")
                setattr(self, name, arr)
        for name in ("visibility", "presence"):
            arr = getattr(self, name)
            if arr is None:
                ref = self.world_m if self.world_m is not None else self.image_px
                arr = (np.isfinite(ref).all(-1).astype(np.float64)
                       if ref is not None else np.zeros((T, K)))
            arr = np.asarray(arr, dtype=np.float64)
            if arr.shape != (T, K):
                raise PoseFormatError(f"{name} has shape {arr.shape}, expected {(T, K)}")
            setattr(self, name, arr)
        if self.image_px is None and self.world_m is None:
            raise PoseFormatError("a pose track needs image_px or world_m")
        if self.frame not in FRAMES[1:]:
            raise PoseFormatError(f"unknown world frame {self.frame!r}; one of {FRAMES[1:]}")
        if T > 1 and not np.all(np.diff(self.time_s) > 0):
            raise PoseFormatError("time_s must be strictly increasing")
        if len(set(self.keypoints)) != K:
            raise PoseFormatError("keypoint names must be unique")

    # ------------------------------------------------------------------ access
    @property
    def n_frames(self) -> int:
        return len(self.time_s)

    @property
    def fps(self) -> float:
        """Nominal frame rate: ``meta['fps']`` or the median frame interval."""
        if self.meta.get("fps"):
            return float(self.meta["fps"])
        if self.n_frames < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.time_s)))

    @property
    def first_video_frame(self) -> int:
        """The frame of the source video that row 0 shows (``meta['first_video_frame']``; 0 unless the
        track keeps only a later part of a recording, e.g. a long live stream's last minutes). Row k
        shows frame ``first_video_frame + k`` of a track with a row per video frame."""
        return int(self.meta.get("first_video_frame") or 0)

    def index(self, name: str) -> int:
        """Position of keypoint ``name`` in ``keypoints``."""
        try:
            return self.keypoints.index(name)
        except ValueError:
            raise KeyError(f"no keypoint {name!r} in this track") from None

    def detected(self) -> np.ndarray:
        """Boolean (T,): frames where a person was found."""
        ref = self.image_px if self.image_px is not None else self.world_m
        return np.isfinite(ref).any(axis=(1, 2))

    def detection_rate(self) -> float:
        """Fraction of the frames looked at that show a person, in [0, 1].

        Frames the pose estimator never ran on (a live stream drops frames when it falls behind;
        ``meta["live"]["processed"]`` counts those it ran on) are not counted as frames without a person.
        """
        if not self.n_frames:
            return 0.0
        looked = (self.meta.get("live") or {}).get("processed") if isinstance(self.meta, dict) else None
        n = int(looked) if isinstance(looked, (int, float)) and 0 < looked <= self.n_frames else self.n_frames
        return float(min(1.0, self.detected().sum() / n))

    def replace(self, **changes: Any) -> "PoseTrack":
        """A copy with some fields replaced (arrays are not copied)."""
        return dataclasses.replace(self, **changes)

    def select_frames(self, mask_or_index: np.ndarray) -> "PoseTrack":
        """A copy holding only the given frames."""
        sel = np.asarray(mask_or_index)
        def pick(a):
            return None if a is None else a[sel]
        return self.replace(time_s=self.time_s[sel], image_px=pick(self.image_px),
                            world_m=pick(self.world_m), visibility=pick(self.visibility),
                            presence=pick(self.presence), image_z=pick(self.image_z),
                            meta=dict(self.meta))

    # ------------------------------------------------------------- pandas edge
    def to_dataframe(self) -> pd.DataFrame:
        """Long table, one row per frame x keypoint, columns as :data:`COLUMNS`."""
        T, K = self.n_frames, len(self.keypoints)
        img = self.image_px if self.image_px is not None else _nan((T, K, 2))
        wld = self.world_m if self.world_m is not None else _nan((T, K, 3))
        z = self.image_z if self.image_z is not None else _nan((T, K))
        w, h = self.meta.get("width"), self.meta.get("height")
        df = pd.DataFrame({
            "frame": np.repeat(np.arange(T, dtype=np.int64), K),
            "time_s": np.repeat(self.time_s, K),
            "keypoint": np.tile(np.array(self.keypoints, dtype=object), T),
            "x_px": img[..., 0].ravel(),
            "y_px": img[..., 1].ravel(),
            "x_norm": (img[..., 0] / w).ravel() if w else np.full(T * K, np.nan),
            "y_norm": (img[..., 1] / h).ravel() if h else np.full(T * K, np.nan),
            "z_norm": z.ravel(),
            "x_m": wld[..., 0].ravel(),
            "y_m": wld[..., 1].ravel(),
            "z_m": wld[..., 2].ravel(),
            "visibility": self.visibility.ravel(),
            "presence": self.presence.ravel(),
        })
        df["keypoint"] = df["keypoint"].astype("string")
        return df

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, *, frame: str = "camera",
                       meta: dict[str, Any] | None = None) -> "PoseTrack":
        """Inverse of :meth:`to_dataframe`.

        Needs ``frame``, ``time_s``, ``keypoint`` and at least one complete
        coordinate set (``x_px, y_px`` or ``x_m, y_m, z_m``); other columns
        are optional (NaN / derived).
        """
        need = {"frame", "time_s", "keypoint"}
        missing = need - set(df.columns)
        if missing:
            raise PoseFormatError(f"pose table is missing columns: {', '.join(sorted(missing))}")
        has_img = {"x_px", "y_px"} <= set(df.columns)
        has_wld = {"x_m", "y_m", "z_m"} <= set(df.columns)
        if not (has_img or has_wld):
            raise PoseFormatError("pose table needs x_px,y_px or x_m,y_m,z_m columns")
        from lab.pose.validate import check_counts

        if df["keypoint"].isna().any():
            raise PoseFormatError("column keypoint has missing names")
        if not pd.api.types.is_integer_dtype(df["frame"]):
            raise PoseFormatError(f"column frame is {df['frame'].dtype}, not whole frame numbers (int64)")
        keypoints = tuple(pd.unique(df["keypoint"].astype(str)))
        frames = np.sort(pd.unique(df["frame"]))
        T, K = len(frames), len(keypoints)
        check_counts(T, K, what="pose table", frames=False)  # before the (T, K) grids are allocated
        df = df.sort_values(["frame"], kind="stable")
        # Pivot into a dense (T, K) grid; rows not present stay NaN.
        fi = np.searchsorted(frames, df["frame"].to_numpy())
        kmap = {k: i for i, k in enumerate(keypoints)}
        ki = df["keypoint"].astype(str).map(kmap).to_numpy()
        if len(df) != len(set(zip(fi.tolist(), ki.tolist()))):
            raise PoseFormatError("pose table has duplicate (frame, keypoint) rows")
        def grid(col, default=np.nan):
            out = np.full((T, K), default, dtype=np.float64)
            if col in df.columns:
                out[fi, ki] = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
            return out
        time_s = np.full(T, np.nan)
        try:
            time_s[fi] = pd.to_numeric(df["time_s"]).to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise PoseFormatError(f"column time_s is {df['time_s'].dtype}, not seconds (float64)") from None
        if not np.isfinite(time_s).all():
            raise PoseFormatError("time_s has missing or infinite values")
        image_px = np.stack([grid("x_px"), grid("y_px")], -1) if has_img else None
        world_m = np.stack([grid("x_m"), grid("y_m"), grid("z_m")], -1) if has_wld else None
        if image_px is not None and not np.isfinite(image_px).any():
            image_px = None if world_m is not None else image_px
        if world_m is not None and not np.isfinite(world_m).any():
            world_m = None if image_px is not None else world_m
        vis = grid("visibility") if "visibility" in df.columns else None
        pres = grid("presence") if "presence" in df.columns else None
        for arr in (vis, pres):
            if arr is not None:
                np.nan_to_num(arr, copy=False, nan=0.0)
        z = grid("z_norm") if "z_norm" in df.columns else None
        return cls(time_s=time_s, keypoints=keypoints, image_px=image_px, world_m=world_m,
                   visibility=vis, presence=pres, image_z=z, frame=frame, meta=dict(meta or {}))


# ---------------------------------------------------------------- Parquet edge
def track_from_landmarks(time_s, poses, *, meta: dict | None = None) -> PoseTrack:
    """A camera-frame BlazePose track from one landmarker result per frame, NaN where nobody was kept.

    Parameters
    ----------
    time_s : sequence of float, seconds, shape (T,)
    poses : sequence of T items
        Per frame, ``(image_px (33, 2) pixels, image_z (33,), world_m (33, 3)
        metres, visibility (33,), presence (33,))`` as the landmarker gives
        them, or None: that frame keeps its row with NaN coordinates and zero
        visibility and presence.
    meta : dict, optional
    """
    K = len(BLAZEPOSE_KEYPOINTS)
    T = len(time_s)
    img, z, world = _nan((T, K, 2)), _nan((T, K)), _nan((T, K, 3))
    vis, pres = np.zeros((T, K)), np.zeros((T, K))
    for f, pose in enumerate(poses):
        if pose is not None:
            img[f], z[f], world[f], vis[f], pres[f] = pose
    return PoseTrack(time_s=np.asarray(time_s, dtype=np.float64), keypoints=BLAZEPOSE_KEYPOINTS, image_px=img,
                     image_z=z, world_m=world, visibility=vis, presence=pres, frame="camera", meta=meta or {})


def write_track(track: PoseTrack, path: str | Path) -> Path:
    """Write ``track`` to a Parquet pose file, atomically.

    The table is :meth:`PoseTrack.to_dataframe`; the file's schema metadata
    key ``lab.pose`` holds JSON with ``format``, ``version``, ``frame``,
    ``units`` and ``meta``. The file is written under a temporary name in the
    same folder and renamed into place, so a crash never leaves a complete-
    looking partial file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lab.io import atomic_path

    path = Path(path)
    table = pa.Table.from_pandas(track.to_dataframe(), preserve_index=False)
    header = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "frame": track.frame,
        "units": {"px": "pixels", "m": "metres", "time": "seconds"},
        "keypoints": list(track.keypoints), "meta": track.meta,
    }
    md = dict(table.schema.metadata or {})
    md[_META_KEY] = json.dumps(header, default=_json_default).encode()
    table = table.replace_schema_metadata(md)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_track(path: str | Path) -> PoseTrack:
    """Read a Parquet pose file written by :func:`write_track` or by another tool.

    A file without ``lab.pose`` metadata is accepted if it has the columns of
    :data:`COLUMNS` (3D then taken as frame ``camera``).

    The file is checked by :mod:`lab.pose.validate` before anything sized by
    its content is allocated: its size, its metadata (JSON object, version,
    frame, keypoints, numeric fields), its column types, its number of rows
    and of (frames x landmarks), then the frame times.
    :func:`check_track` adds the checks a track must pass to be used.

    Raises
    ------
    PoseFormatError
        If the file is not a readable pose table, with the reason (the caller
        names the file: ``lab.pose.extract.load_track`` puts its path first).
    """
    import pyarrow.parquet as pq

    from lab.pose import validate

    path = Path(path)
    validate.check_file(path)
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        n_rows = pf.metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for bad files
        raise PoseFormatError(f"not a readable Parquet pose file ({exc.__class__.__name__})") from None
    header = validate.check_header((schema.metadata or {}).get(_META_KEY), format_name=FORMAT_NAME,
                                   format_version=FORMAT_VERSION, frames=FRAMES[1:])
    validate.check_schema(schema, columns=COLUMNS)
    if n_rows == 0:
        raise PoseFormatError("the pose table has no rows")
    if n_rows > validate.MAX_SAMPLES:
        raise PoseFormatError(f"the pose table has {n_rows} rows; at most {validate.MAX_SAMPLES} are accepted")
    try:
        table = pf.read()
    except Exception as exc:
        raise PoseFormatError(f"not a readable Parquet pose file ({exc.__class__.__name__})") from None
    df = table.to_pandas()
    track = PoseTrack.from_dataframe(df, frame=header.get("frame", "camera"),
                                     meta=header.get("meta", {}))
    validate.check_keypoint_names(header.get("keypoints"), track.keypoints)
    if header.get("keypoints"):
        order = [track.keypoints.index(k) for k in header["keypoints"]]
        track = _reorder(track, order)
    return track


def _reorder(track: PoseTrack, order: list[int]) -> PoseTrack:
    def pick(a):
        return None if a is None else a[:, order]
    return track.replace(keypoints=tuple(track.keypoints[i] for i in order),
                         image_px=pick(track.image_px), world_m=pick(track.world_m),
                         visibility=pick(track.visibility), presence=pick(track.presence),
                         image_z=pick(track.image_z))


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_track(track: PoseTrack) -> None:
    """Raise :class:`PoseFormatError` if a track cannot be used: out of limits, nothing valid, or wrong units.

    Checks: the limits and values of :func:`lab.pose.validate.validate_track`
    (frames, time span, sample rate, no infinite values, confidences in
    [0, 1], a 3D frame label that agrees with which way is up); at least one
    frame with finite landmarks; 3D in metres (a torso — mid-shoulder to
    mid-hip — of 0.2-1.5 m; values a thousand times larger are millimetres);
    pixel coordinates not normalized to [0, 1] when the frame size says they
    should be pixels.
    """
    from lab.pose.validate import validate_track

    validate_track(track)
    if not track.detected().any():
        raise PoseFormatError("the pose track has no valid landmarks (all NaN)")
    names = track.keypoints
    if track.world_m is not None and np.isfinite(track.world_m).any() and \
            {"left_shoulder", "right_shoulder", "left_hip", "right_hip"} <= set(names):
        w = track.world_m
        sh = (w[:, names.index("left_shoulder")] + w[:, names.index("right_shoulder")]) / 2
        hp = (w[:, names.index("left_hip")] + w[:, names.index("right_hip")]) / 2
        torso = np.linalg.norm(sh - hp, axis=-1)
        if np.isfinite(torso).any():
            t = float(np.nanmedian(torso))
            if t > 5.0:
                raise PoseFormatError(f"3D coordinates look like millimetres or centimetres (torso {t:.0f} units); "
                                      "pose files use metres")
            if t < 0.05:
                raise PoseFormatError(f"3D coordinates are implausibly small (torso {t:.3f} m); pose files use metres")
    if track.image_px is not None and track.meta.get("width", 0) > 2:
        img = track.image_px[np.isfinite(track.image_px)]
        if img.size and np.nanmax(np.abs(img)) <= 1.5:
            raise PoseFormatError("x_px/y_px look normalized to [0, 1]; they must be pixels (put 0-1 values in x_norm/y_norm)")
