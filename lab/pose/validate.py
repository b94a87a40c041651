"""The one validation layer for pose data that comes from outside: pose files, TRC, BVH.

Every reader checks what it is given here, cheapest first and before it
allocates anything sized by the input: the file's size, then its header
(metadata, declared frames and columns), then the number of rows and the
(frames x landmarks) grid, then the values (types, finiteness, time span and
sample rate, the 3D frame label). Whatever fails raises
:class:`PoseFormatError` (a ``ValueError``; also ``lab.pose.track.PoseFormatError``)
with one line saying what is wrong; the command line reports it as
``error: ...``, exit 2. This module imports nothing from the rest of ``lab``:
the readers (:mod:`lab.pose.track`, :mod:`lab.pose.mocap`) call it and pass
the format's facts (name, version, frames, columns) in.

The limits below bound the memory and time of every later stage (lifting at
the native rate, resampling to 30 Hz, DTW). The comparison's memory grows with
the product of the two durations (about 90 bytes per pair of 30 Hz samples):
two tracks of 180 s at 120 fps, the worst case allowed, peaked at 3.2 GB in
94 s (two of 120 s at 30 fps: 1.6 GB; two of 600 s ran out of 24 GB). They
are stated in the README's bad-input section.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

#: Largest pose file read (Parquet, TRC or BVH), bytes.
MAX_FILE_BYTES = 256 * 2**20
#: Most frames in one track (3 minutes at 120 fps).
MAX_FRAMES = 21_600
#: Most landmarks (markers, joints) per frame.
MAX_KEYPOINTS = 128
#: Most values in one track's (frames x landmarks) grid, i.e. rows of a pose file.
MAX_SAMPLES = 2_000_000
#: Longest time span of a track, seconds (last frame time minus first).
MAX_DURATION_S = 180.0
#: Sample rate (1 / median frame interval) accepted, Hz.
MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 1000.0
#: Largest coordinate magnitude (pixels or metres) accepted.
MAX_ABS_COORDINATE = 1e6

#: Metadata fields that must be numbers when present (``meta`` of a pose file).
_NUMERIC_META = ("width", "height", "fps", "frame_count", "rotation_deg", "detection_rate", "first_video_frame")


class PoseFormatError(ValueError):
    """A pose file or array does not follow the pose format."""


def _error(message: str) -> PoseFormatError:
    return PoseFormatError(message)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


# ------------------------------------------------------------------ the file
def check_file(path: str | Path, *, what: str = "pose file") -> int:
    """Refuse a missing path, a directory, an empty or an oversized file. Returns its size in bytes.

    Messages do not name the file: the caller puts its path first.
    """
    p = Path(path)
    if not p.exists():
        raise _error("no such file")
    if p.is_dir():
        raise _error(f"a directory, not a {what}")
    size = p.stat().st_size
    if size == 0:
        raise _error("the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise _error(f"the file is {size / 2**20:.0f} MB; a {what} may be at most {MAX_FILE_BYTES / 2**20:.0f} MB")
    return size


def check_counts(n_frames: int, n_keypoints: int, *, what: str = "track", frames: bool = True) -> None:
    """Refuse a declared or found number of frames / landmarks beyond the limits (before allocating).

    ``frames=False`` checks only what bounds the memory of reading the file
    (landmarks per frame, values in all): a pose file that lab wrote itself
    (a cache entry of a long video) stays readable; :func:`validate_track`
    applies :data:`MAX_FRAMES` before a track is used.
    """
    if n_frames < 1:
        raise _error(f"the {what} has no frames (0 rows)")
    if n_keypoints < 1:
        raise _error(f"the {what} has no landmarks")
    if frames and n_frames > MAX_FRAMES:
        raise _error(f"the {what} has {n_frames} frames; at most {MAX_FRAMES} are accepted")
    if n_keypoints > MAX_KEYPOINTS:
        raise _error(f"the {what} has {n_keypoints} landmarks per frame; at most {MAX_KEYPOINTS} are accepted")
    if n_frames * n_keypoints > MAX_SAMPLES:
        raise _error(f"the {what} has {n_frames} frames x {n_keypoints} landmarks; at most {MAX_SAMPLES} "
                     "values are accepted")


# ------------------------------------------------------------------ Parquet pose files
def check_header(raw: bytes | None, *, format_name: str, format_version: int,
                 frames: tuple[str, ...]) -> dict[str, Any]:
    """The pose file's schema metadata (JSON) as a checked dict ({} if absent).

    ``format`` must be ``format_name``; ``version`` a whole number no newer
    than ``format_version``; ``frame`` one of ``frames`` (default ``camera``);
    ``keypoints`` a list of unique names; ``meta`` an object whose known
    numeric fields are numbers.
    """
    FORMAT_NAME, FORMAT_VERSION = format_name, format_version

    if not raw:
        return {}
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _error("its lab.pose metadata is not valid JSON") from None
    if not isinstance(header, dict):
        raise _error(f"its lab.pose metadata is a JSON {type(header).__name__}, not an object")
    if header.get("format", FORMAT_NAME) != FORMAT_NAME:
        raise _error(f"its metadata names format {header.get('format')!r}, not {FORMAT_NAME!r}")
    version = header.get("version", FORMAT_VERSION)
    if not _is_number(version) or not float(version).is_integer() or version < 0:
        raise _error(f"its lab.pose metadata has version {version!r}, not a whole number")
    if version > FORMAT_VERSION:
        raise _error(f"it uses pose format version {int(version)}, newer than this lab ({FORMAT_VERSION}); "
                     "upgrade lab")
    frame = header.get("frame", "camera")
    if not isinstance(frame, str) or frame not in frames:
        raise _error(f"its metadata names the 3D frame {frame!r}; one of {', '.join(frames)}")
    kps = header.get("keypoints")
    if kps is not None:
        if not isinstance(kps, list) or not all(isinstance(k, str) for k in kps):
            raise _error("its metadata 'keypoints' is not a list of names")
        if len(kps) > MAX_KEYPOINTS:
            raise _error(f"its metadata lists {len(kps)} keypoints; at most {MAX_KEYPOINTS} are accepted")
        if len(set(kps)) != len(kps):
            raise _error("its metadata 'keypoints' repeats a name")
    meta = header.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise _error(f"its metadata 'meta' is a JSON {type(meta).__name__}, not an object")
    for key in _NUMERIC_META:
        v = meta.get(key)
        if v is None:
            continue
        if not _is_number(v) or not math.isfinite(float(v)):
            raise _error(f"its metadata field meta.{key} is {v!r}, not a number")
        if key in ("width", "height", "fps") and not v > 0:
            raise _error(f"its metadata field meta.{key} is {v!r}; it must be positive")
        if key == "first_video_frame" and not (v >= 0 and float(v).is_integer()):
            raise _error(f"its metadata field meta.{key} is {v!r}; it must be a frame number (0 or more)")
    if meta.get("fps") is not None and not MIN_RATE_HZ <= meta["fps"] <= MAX_RATE_HZ:
        raise _error(f"its metadata says {meta['fps']:g} fps; accepted: {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g}")
    return dict(header, frame=frame, meta=meta)


def check_schema(schema, *, columns) -> None:
    """Column types of a Parquet pose table (a ``pyarrow.Schema``) whose known columns are
    ``columns``: whole frame numbers, numeric times and coordinates, string names."""
    import pyarrow as pa
    import pyarrow.types as t

    COLUMNS = columns

    def base(typ):
        return typ.value_type if t.is_dictionary(typ) else typ

    for field in schema:
        typ = base(field.type)
        if field.name == "frame" and not (t.is_integer(typ) or t.is_null(typ)):
            raise _error(f"column frame is {typ}, not whole frame numbers (int64)")
        if field.name == "keypoint" and not (t.is_string(typ) or t.is_large_string(typ)
                                             or t.is_null(typ)):
            raise _error(f"column keypoint is {typ}, not landmark names (string)")
        if (field.name in COLUMNS and field.name not in ("frame", "keypoint")
                and not (t.is_integer(typ) or t.is_floating(typ) or t.is_null(typ) or typ == pa.bool_())):
            raise _error(f"column {field.name} is {typ}, not numbers (float64)")


def check_keypoint_names(header_keypoints: list[str] | None, table_keypoints: tuple[str, ...]) -> None:
    """The metadata's keypoint list, when there is one, must name exactly the table's landmarks."""
    if header_keypoints is None:
        return
    if set(header_keypoints) != set(table_keypoints) or len(header_keypoints) != len(table_keypoints):
        extra = sorted(set(table_keypoints) - set(header_keypoints))[:3]
        missing = sorted(set(header_keypoints) - set(table_keypoints))[:3]
        raise _error("the keypoint names in its metadata do not match the table's "
                     f"(in the table only: {', '.join(extra) or '-'}; in the metadata only: "
                     f"{', '.join(missing) or '-'})")


# ------------------------------------------------------------------ values
def check_times(time_s: np.ndarray) -> None:
    """Frame times: finite, strictly increasing, a span of at most :data:`MAX_DURATION_S` and a
    sample rate within :data:`MIN_RATE_HZ`-:data:`MAX_RATE_HZ`."""
    t = np.asarray(time_s, dtype=np.float64)
    if not np.isfinite(t).all():
        raise _error("time_s has missing or infinite values")
    if len(t) < 2:
        return
    dt = np.diff(t)
    if not (dt > 0).all():
        raise _error("time_s must be strictly increasing")
    span = float(t[-1] - t[0])
    if span > MAX_DURATION_S:
        raise _error(f"the track spans {span:.4g} s; at most {MAX_DURATION_S:g} s are accepted "
                     "(is time_s in seconds?)")
    rate = 1.0 / float(np.median(dt))
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise _error(f"the frames are {rate:.4g} per second; accepted: {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} "
                     "(is time_s in seconds?)")


def check_values(name: str, values: np.ndarray | None, *, unit_interval: bool = False) -> None:
    """Coordinates (or confidences with ``unit_interval``): NaN where missing, never infinite,
    at most :data:`MAX_ABS_COORDINATE` in magnitude (confidences within [0, 1])."""
    if values is None:
        return
    a = np.asarray(values, dtype=np.float64)
    if np.isinf(a).any():
        raise _error(f"{name} has infinite values; missing values must be NaN")
    finite = a[np.isfinite(a)]
    if not finite.size:
        return
    if unit_interval:
        if finite.min() < 0 or finite.max() > 1:
            raise _error(f"{name} has values outside [0, 1] ({finite.min():.3g} to {finite.max():.3g})")
    elif np.abs(finite).max() > MAX_ABS_COORDINATE:
        raise _error(f"{name} has values up to {np.abs(finite).max():.3g}; at most {MAX_ABS_COORDINATE:g} "
                     "(pixels or metres) are accepted")


def check_frame_label(track) -> None:
    """The 3D frame label must agree with which way is up in the data.

    ``camera`` is y down, ``body`` and ``lab`` are y up: a torso (mid-hip to
    mid-shoulder) that points down along the labelled "up" in most frames
    means the label is wrong (camera-frame data labelled ``body`` would be
    compared upside down and score "different" with no warning). Mocap whose
    vertical is z passes (its torso lies across y).
    """
    names = track.keypoints
    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if track.world_m is None or not set(need) <= set(names):
        return
    w = track.world_m
    sh = (w[:, names.index("left_shoulder")] + w[:, names.index("right_shoulder")]) / 2
    hp = (w[:, names.index("left_hip")] + w[:, names.index("right_hip")]) / 2
    torso = sh - hp
    length = np.linalg.norm(torso, axis=-1)
    ok = np.isfinite(length) & (length > 0)
    if ok.sum() < 3:
        return
    up = -1.0 if track.frame == "camera" else 1.0
    along = up * torso[ok, 1] / length[ok]          # cosine between the torso and the labelled up
    if np.median(along) < -0.5 and (along < 0).mean() > 0.8:
        other = "body" if track.frame == "camera" else "camera"
        axis = "y down" if track.frame == "camera" else "y up"
        raise _error(f"its 3D is labelled frame {track.frame!r} ({axis}) but the shoulders are below the "
                     f"hips in {(along < 0).mean():.0%} of frames: the data looks like frame {other!r}; "
                     "fix the 'frame' in its metadata")


def validate_track(track) -> None:
    """Every value check on a :class:`~lab.pose.track.PoseTrack` read from outside."""
    check_counts(track.n_frames, len(track.keypoints))
    check_times(track.time_s)
    check_values("x_px/y_px", track.image_px)
    check_values("x_m/y_m/z_m", track.world_m)
    check_values("z_norm", track.image_z)
    check_values("visibility", track.visibility, unit_interval=True)
    check_values("presence", track.presence, unit_interval=True)
    check_frame_label(track)

