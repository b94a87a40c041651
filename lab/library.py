"""The coach/player library: drills (a coach's reference) and attempts (a player's try), on disk.

Layout under the library root (``root=`` argument, else ``$LAB_LIBRARY_DIR``,
else ``lab.samples.data_dir() / "library"``)::

    catalogue.parquet            one row per complete entry (schema version in the file metadata)
    drills/<id>/video.<ext>      the coach's video, copied in
    drills/<id>/track.parquet    pose track (frame "camera"), lab.pose.track format
    drills/<id>/model.parquet    lifted 3D model (frame "body")
    drills/<id>/entry.json       the entry's metadata (same fields as its catalogue row)
    attempts/<id>/video.<ext>, track.parquet, model.parquet, entry.json
    attempts/<id>/result.json    the comparison against the drill (Comparison.to_dict + path)
    attempts/<id>/overlay.png    coach | player frame with skeletons at the middle of the attempt
    attempts/<id>/report/        full HTML report (optional, :func:`write_attempt_report`)

Processing happens once, on add: an entry is built in ``.staging/`` and
renamed into place, then the catalogue is rewritten atomically (temporary
file, then rename) under a lock. The catalogue is the only source of truth
for what the library holds: a crash before the catalogue write leaves at
most an orphan folder that is never listed (:func:`check_library` finds
it; :func:`repair` lists it again if it holds a complete entry, and never
deletes one). Comparisons read the stored tracks only.

Schema versions: 0 = the prototype catalogue (no version metadata, ``tags``
one comma-separated string, ``created`` text, no ``video_sha256``/``model``
/``distance``/``mirrored`` columns); 1 = current. :func:`migrate` upgrades.
The ``sided`` column (a drill whose mirror image is a different movement)
came later within version 1 and is optional: a catalogue or an ``entry.json``
without it reads as no drill sided, and it is written on the next change.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from lab.io import LabError, atomic_path, sha256_file, write_bytes_atomic
from lab.pose.video import VIDEO_SUFFIXES

SCHEMA_VERSION = 1
CATALOGUE = "catalogue.parquet"
_META_KEY = b"lab.library"
#: Largest video accepted, bytes.
MAX_VIDEO_BYTES = 200 * 1024 * 1024

#: Catalogue columns (schema version 1), in order.
COLUMNS = ["id", "kind", "title", "coach", "player", "drill_id", "tags", "camera_notes", "created_utc",
           "video_sha256", "video", "track", "model", "result", "score", "verdict", "distance", "mirrored",
           "frames", "fps", "pose_model", "sided"]
#: Columns an older version-1 catalogue (or entry.json) may lack, with the value they then take.
OPTIONAL_COLUMNS = {"sided": None}


# ------------------------------------------------------------------ location
def library_root(root: str | Path | None = None) -> Path:
    """The library folder: ``root``, else ``$LAB_LIBRARY_DIR``, else ``data_dir()/library``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("LAB_LIBRARY_DIR")
    if env:
        return Path(env).expanduser()
    from lab.samples import data_dir
    return data_dir() / "library"


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Exclusive lock on the catalogue (other processes adding/removing wait)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".catalogue.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ------------------------------------------------------------------ uploads
def sniff_video_container(header: bytes) -> str | None:
    """Container named by a file's first bytes (at least 12), or None if not a known video container.

    Recognises ISO-BMFF (MP4/MOV/M4V/3GP: an ``ftyp``/``moov``/``mdat``/``free``/``wide`` box),
    Matroska/WebM (EBML magic), AVI (RIFF....AVI ) and MPEG program/elementary streams.
    """
    if len(header) >= 12 and header[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mp4"
    if header[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if header[:4] == b"RIFF" and header[8:12] == b"AVI ":
        return "avi"
    if header[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    return None


def check_video_upload(filename: str, header: bytes, *, size_bytes: int,
                       max_bytes: int = MAX_VIDEO_BYTES) -> str:
    """Raise a one-line :class:`LabError` unless this looks like a video we accept; return its container.

    Parameters
    ----------
    filename : str
        Name as uploaded (its extension must be a video extension).
    header : bytes
        The file's first bytes (64 are plenty).
    size_bytes : int
        File size, bytes; must be > 0 and <= ``max_bytes``.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise LabError(f"{filename}: not a video file type ({suffix or 'no extension'}); "
                       f"accepted: {', '.join(sorted(VIDEO_SUFFIXES))}", exit_code=2)
    if size_bytes <= 0:
        raise LabError(f"{filename} is empty (0 bytes)", exit_code=2)
    if size_bytes > max_bytes:
        raise LabError(f"{filename} is {size_bytes / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB",
                       exit_code=2)
    kind = sniff_video_container(header)
    if kind is None:
        raise LabError(f"{filename} does not start like a video container (MP4/MOV, WebM/MKV, AVI, MPEG); "
                       "is it really a video?", exit_code=2)
    return kind


def _check_video_file(path: Path, *, max_bytes: int = MAX_VIDEO_BYTES) -> None:
    if not path.exists():
        raise LabError(f"no such file: {path}", exit_code=2)
    if path.is_dir():
        raise LabError(f"{path} is a directory, not a video file", exit_code=2)
    with open(path, "rb") as f:
        header = f.read(64)
    check_video_upload(path.name, header, size_bytes=path.stat().st_size, max_bytes=max_bytes)


# ------------------------------------------------------------------ catalogue
def _empty_catalogue() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    for c in ("score", "distance", "fps"):
        df[c] = df[c].astype("float64")
    return df


class CatalogueDamaged(LabError):
    """The catalogue file cannot be read as a catalogue (cut short, bad metadata, a missing column,
    wrong types, an id or path that is not a plain name inside the library)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"library catalogue {path} is damaged ({reason}); `lab library check --fix` lists "
                         "the complete entries again from their entry.json", exit_code=2)


#: Characters an entry id may hold (ids are made by ``_new_id``: ``d-``/``a-`` + hex).
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_PATH_COLUMNS = ("video", "track", "model", "result")


def _valid_id(entry_id: Any) -> bool:
    return (isinstance(entry_id, str) and 0 < len(entry_id) <= 64 and set(entry_id) <= _ID_CHARS
            and not entry_id.startswith("."))


def catalogue_version(root: str | Path | None = None) -> int | None:
    """Schema version of the stored catalogue (0 = prototype without metadata), None if there is none.

    Raises :class:`CatalogueDamaged` (exit 2) if the file is not a Parquet file or its metadata is not
    a version record.
    """
    import pyarrow.parquet as pq

    path = library_root(root) / CATALOGUE
    if not path.exists():
        return None
    try:
        md = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types for bad files
        raise CatalogueDamaged(path, f"not a readable Parquet file: {exc.__class__.__name__}") from None
    if _META_KEY not in md:
        return 0
    try:
        version = json.loads(md[_META_KEY])["schema_version"]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise CatalogueDamaged(path, "its lab.library metadata is not a version record") from None
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CatalogueDamaged(path, f"its schema version is {version!r}, not a whole number")
    return version


def _check_catalogue_schema(path: Path, schema) -> None:
    import pyarrow.types as t

    missing = [c for c in COLUMNS if c not in schema.names and c not in OPTIONAL_COLUMNS]
    if missing:
        raise CatalogueDamaged(path, f"missing column(s): {', '.join(missing)}")
    for c in COLUMNS:
        if c not in schema.names:
            continue
        typ = schema.field(c).type
        if t.is_dictionary(typ):
            typ = typ.value_type
        ok = (t.is_null(typ) or
              (c == "tags" and (t.is_list(typ) or t.is_large_list(typ))) or
              (c in ("score", "distance", "fps") and (t.is_floating(typ) or t.is_integer(typ))) or
              (c == "frames" and t.is_integer(typ)) or
              (c in ("mirrored", "sided") and t.is_boolean(typ)) or
              (c not in ("tags", "score", "distance", "fps", "frames", "mirrored", "sided")
               and (t.is_string(typ) or t.is_large_string(typ))))
        if not ok:
            raise CatalogueDamaged(path, f"column {c} is {typ}")


def _check_catalogue_rows(path: Path, root: Path, df: pd.DataFrame) -> None:
    from lab.io import contained_path

    bad = [i for i in df["id"] if not _valid_id(i)]
    if bad:
        raise CatalogueDamaged(path, f"entry id {bad[0]!r} is not a plain name")
    if df["id"].duplicated().any():
        raise CatalogueDamaged(path, f"entry id {df['id'][df['id'].duplicated()].iloc[0]!r} is listed twice")
    kinds = set(df["kind"]) - {"drill", "attempt"}
    if kinds:
        raise CatalogueDamaged(path, f"kind {sorted(map(str, kinds))[0]!r} is neither drill nor attempt")
    for c in _PATH_COLUMNS:
        for v in df[c]:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            try:
                contained_path(root, v)
            except LabError:
                raise CatalogueDamaged(path, f"{c} path {v!r} leads outside the library") from None


def _read_catalogue(root: Path) -> pd.DataFrame:
    """The catalogue, checked (see :func:`load_catalogue`); empty if there is none."""
    import pyarrow.parquet as pq

    path = root / CATALOGUE
    if not path.exists():
        return _empty_catalogue()
    version = catalogue_version(root)
    if version != SCHEMA_VERSION:
        raise LabError(f"library catalogue {path} is schema version {version}, this lab reads "
                       f"{SCHEMA_VERSION}; run `lab library migrate`", exit_code=3)
    try:
        pf = pq.ParquetFile(path)
        _check_catalogue_schema(path, pf.schema_arrow)
        df = pf.read().to_pandas()
    except CatalogueDamaged:
        raise
    except Exception as exc:  # cut short after its footer was read, or unreadable column chunks
        raise CatalogueDamaged(path, f"not a readable Parquet file: {exc.__class__.__name__}") from None
    _check_catalogue_rows(path, root, df)
    df["tags"] = [list(t) if t is not None else [] for t in df["tags"]]
    df["sided"] = _read_sided(df)
    return df[COLUMNS].reset_index(drop=True)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _read_sided(df: pd.DataFrame) -> list[bool | None]:
    """The ``sided`` column as stored, a drill without one not sided; None for attempts."""
    stored = df["sided"] if "sided" in df.columns else [None] * len(df)
    return [(False if _is_missing(v) else bool(v)) if k == "drill" else None for k, v in zip(df["kind"], stored)]


def load_catalogue(root: str | Path | None = None) -> pd.DataFrame:
    """Every complete entry (drills and attempts) as a DataFrame, one row per entry.

    Columns: :data:`COLUMNS` (``tags`` a list of str; paths relative to the root).
    Raises :class:`LabError` if the catalogue is an older schema (run :func:`migrate`,
    exit 3), and :class:`CatalogueDamaged` (exit 2) if it is cut short or empty, its
    metadata is not a version record, a column is missing or of the wrong type, an id
    is not a plain name or repeated, or a stored path leads outside the library.
    """
    return _read_catalogue(library_root(root))


def _write_catalogue(root: Path, df: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = df[COLUMNS].reset_index(drop=True).copy()
    df["tags"] = pd.Series([list(t) if isinstance(t, (list, tuple, np.ndarray)) else [] for t in df["tags"]],
                           index=df.index, dtype="object")
    for c in ("score", "distance", "fps"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["frames"] = pd.array(pd.to_numeric(df["frames"], errors="coerce").round(), dtype="Int64")
    for c in ("mirrored", "sided"):
        df[c] = pd.array([None if _is_missing(v) else bool(v) for v in df[c]], dtype="boolean")
    str_cols = [c for c in COLUMNS if c not in ("score", "distance", "fps", "frames", "mirrored", "sided", "tags")]
    for c in str_cols:
        df[c] = pd.Series([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in df[c]],
                          index=df.index, dtype="object")
    schema = pa.schema([(c, pa.list_(pa.string()) if c == "tags" else
                         pa.float64() if c in ("score", "distance", "fps") else
                         pa.int64() if c == "frames" else pa.bool_() if c in ("mirrored", "sided") else pa.string())
                        for c in COLUMNS])
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    table = table.replace_schema_metadata({_META_KEY: json.dumps({"schema_version": SCHEMA_VERSION}).encode()})
    with atomic_path(root / CATALOGUE) as tmp:
        pq.write_table(table, tmp)


def list_drills(*, root: str | Path | None = None) -> pd.DataFrame:
    """The drills (one row each), newest last."""
    df = load_catalogue(root)
    return df[df["kind"] == "drill"].reset_index(drop=True)


def list_attempts(*, drill_id: str | None = None, root: str | Path | None = None) -> pd.DataFrame:
    """The attempts (one row each), optionally only those at ``drill_id``."""
    df = load_catalogue(root)
    df = df[df["kind"] == "attempt"]
    if drill_id is not None:
        df = df[df["drill_id"] == drill_id]
    return df.reset_index(drop=True)


def _row(entry_id: str, root: Path) -> dict[str, Any]:
    df = load_catalogue(root)
    hit = df[df["id"] == entry_id]
    if hit.empty:
        raise LabError(f"no drill or attempt {entry_id!r} in the library at {root}", exit_code=2)
    return hit.iloc[0].to_dict()


def show(entry_id: str, *, root: str | Path | None = None) -> dict[str, Any]:
    """One entry: its catalogue row, absolute paths, and for an attempt the stored comparison (``result``)."""
    root = library_root(root)
    row = _row(entry_id, root)
    out = {k: (None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v) for k, v in row.items()}
    out["tags"] = list(row["tags"])
    out["folder"] = str(root / _folder(row["kind"]) / entry_id)
    for k in ("video", "track", "model"):
        if row.get(k):
            out[k + "_path"] = str(root / row[k])
    if row["kind"] == "attempt" and row.get("result"):
        try:
            out["result"] = json.loads((root / row["result"]).read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"{entry_id}: stored result {root / row['result']} cannot be read "
                           f"({exc.__class__.__name__}; library damaged?)", exit_code=3) from None
        overlay = root / _folder("attempt") / entry_id / "overlay.png"
        out["overlay_path"] = str(overlay) if overlay.exists() else None
        report = root / _folder("attempt") / entry_id / "report" / "report.html"
        out["report_path"] = str(report) if report.exists() else None
    else:
        out["attempts"] = list(list_attempts(drill_id=entry_id, root=root)["id"])
    return out


def _folder(kind: str) -> str:
    return {"drill": "drills", "attempt": "attempts"}[kind]


def read_entry_track(entry_id: str, *, which: str = "track", root: str | Path | None = None):
    """A stored track of an entry: ``which`` = "track" (frame camera) or "model" (frame body)."""
    from lab.pose.track import PoseFormatError, read_track

    root = library_root(root)
    row = _row(entry_id, root)
    if which not in ("track", "model"):
        raise ValueError(f"which must be 'track' or 'model', got {which!r}")
    path = root / row[which]
    if not path.exists():
        raise LabError(f"{entry_id}: stored {which} {path} is missing (library damaged?)", exit_code=3)
    try:
        return read_track(path)
    except PoseFormatError as exc:
        raise LabError(f"{entry_id}: stored {which} {path}: {exc} (library damaged?)", exit_code=3) from None


# ------------------------------------------------------------------ adding
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _new_id(kind: str) -> str:
    return ("d-" if kind == "drill" else "a-") + uuid.uuid4().hex[:10]


def _process_video(video: Path, staging: Path, *, model: str, source_name: str | None = None, track=None):
    """Copy the video in, extract its pose track (cached; or take ``track`` as measured) and lift it
    (cached); write both tracks. Returns (track, body)."""
    from lab.pipeline import lift_stage
    from lab.pose.extract import extract_pose_cached
    from lab.pose.track import check_track, write_track

    name = source_name or video.name
    suffix = video.suffix.lower()
    copy = staging / f"video{suffix}"
    shutil.copyfile(video, copy)
    if track is not None:
        check_track(track)
        track = track.replace(meta=dict(track.meta))
    else:
        try:
            track = extract_pose_cached(copy, model=model, progress=False)
        except LabError as exc:  # name the file as the user knows it, not our staging copy
            raise LabError(str(exc).replace(str(copy), name), exit_code=exc.exit_code) from None
    if track.world_m is None or track.detection_rate() == 0:
        raise LabError(f"{name}: nobody was found in this video", exit_code=4)
    track.meta["source"] = name
    track.meta.pop("cache", None)
    body, _method, _notes = lift_stage(track, clip=name)
    write_track(track, staging / "track.parquet")
    write_track(body, staging / "model.parquet")
    return track, body


def _commit_entry(root: Path, staging: Path, row: dict[str, Any]) -> None:
    """Move a fully built entry into place and list it in the catalogue (the commit point)."""
    row = {**OPTIONAL_COLUMNS, **row}
    final = root / _folder(row["kind"]) / row["id"]
    write_bytes_atomic(staging / "entry.json", json.dumps(row, indent=1, default=str).encode())
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        df = load_catalogue(root)
        if row["kind"] == "attempt" and not (df["id"] == row["drill_id"]).any():
            raise LabError(f"drill {row['drill_id']} was removed while the attempt was processed", exit_code=2)
        os.replace(staging, final)
        try:
            _write_catalogue(root, pd.concat([df, pd.DataFrame([row])[COLUMNS]], ignore_index=True)
                             if len(df) else pd.DataFrame([row])[COLUMNS])
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise


@contextlib.contextmanager
def _staging(root: Path, entry_id: str) -> Iterator[Path]:
    """A build folder ``.staging/<id>.<pid>.part``, owned through an exclusive lock on
    ``<folder>.lock`` that is taken before the folder exists and held until it is gone:
    :func:`repair` removes only build folders whose lock it can take (owner gone)."""
    base = root / ".staging"
    base.mkdir(parents=True, exist_ok=True)
    d = base / f"{entry_id}.{os.getpid()}.part"
    lock = base / f"{d.name}.lock"
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        d.mkdir(exist_ok=False)
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)  # gone already when committed (renamed)
            lock.unlink(missing_ok=True)


def _staging_owner_gone(build: Path) -> tuple[bool, Any]:
    """(True, held lock) if nobody builds in ``build`` any more, else (False, None).

    The adder holds ``<build>.lock`` for as long as the folder exists; a build
    without a lock file (made before locks existed) is abandoned if the process
    named in it (``<id>.<pid>.part``) is gone. The caller closes the returned lock.
    """
    lock = build.parent / f"{build.name}.lock"
    try:
        fh = open(lock, "r+")
    except FileNotFoundError:
        try:
            pid = int(build.name.rsplit(".", 2)[-2])
            os.kill(pid, 0)
            return False, None
        except ProcessLookupError:
            return True, None
        except (ValueError, IndexError, PermissionError):
            return False, None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return False, None
    return True, fh


def _complete_entry(root: Path, folder: Path, kind: str) -> dict[str, Any] | None:
    """The row of the entry in ``folder`` if it is complete, else None.

    Complete: ``entry.json`` is a JSON object with every catalogue column,
    its ``id`` is the folder's name and its ``kind`` the folder's kind, and
    the stored track, model (and an attempt's result) it names exist inside
    the folder. That is what :func:`_commit_entry` leaves before it lists an
    entry, so a complete folder that is not listed is an add that stopped at
    its last step (or a catalogue that was lost).
    """
    from lab.io import contained_path

    try:
        row = json.loads((folder / "entry.json").read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(row, dict) or any(c not in row for c in COLUMNS if c not in OPTIONAL_COLUMNS)
            or row.get("id") != folder.name
            or not _valid_id(row["id"]) or row.get("kind") != kind):
        return None
    inside = folder.resolve()
    for c in ("track", "model") + (("result",) if kind == "attempt" else ()):
        try:
            f = contained_path(root, str(row[c]))
        except LabError:
            return None
        if inside not in f.parents or not f.is_file():
            return None
    return {**OPTIONAL_COLUMNS, **row}


def add_drill(video: str | Path, *, title: str, coach: str, tags: list[str] | tuple[str, ...] = (),
              camera_notes: str = "", sided: bool = False, model: str = "full", root: str | Path | None = None,
              max_bytes: int = MAX_VIDEO_BYTES, source_name: str | None = None) -> dict[str, Any]:
    """Add a coach's reference video: copy it in, extract and lift its pose, list it. Returns its row.

    ``sided``: the drill is done with one particular side (e.g. a right-footed kick), so an attempt
    matching only as its mirror image is a different movement: its attempts are compared with
    ``mirror="no"`` (:func:`drill_mirror`; changed later with :func:`set_drill_sided`).
    ``source_name`` is the file's name as the user knows it (an upload), used in messages.
    Raises :class:`LabError` for a bad video, an empty title/coach, nobody in the
    video, or a video already in the library as a drill (same SHA-256).
    """
    root = library_root(root)
    video = Path(video)
    _check_video_file(video, max_bytes=max_bytes)
    if not title.strip() or not coach.strip():
        raise LabError("a drill needs a title and a coach", exit_code=2)
    sha = sha256_file(video)
    drills = list_drills(root=root)
    dup = drills[drills["video_sha256"] == sha]
    if not dup.empty:
        raise LabError(f"this video is already the drill {dup.iloc[0]['id']} "
                       f"({dup.iloc[0]['title']!r})", exit_code=2)
    entry_id = _new_id("drill")
    with _staging(root, entry_id) as staging:
        track, _body = _process_video(video, staging, model=model, source_name=source_name)
        rel = Path("drills") / entry_id
        row = dict(id=entry_id, kind="drill", title=title.strip(), coach=coach.strip(), player=None,
                   drill_id=None, tags=[t.strip() for t in tags if t.strip()], camera_notes=camera_notes,
                   created_utc=_now(), video_sha256=sha, video=str(rel / f"video{video.suffix.lower()}"),
                   track=str(rel / "track.parquet"), model=str(rel / "model.parquet"), result=None,
                   score=np.nan, verdict=None, distance=np.nan, mirrored=None, frames=track.n_frames,
                   fps=float(track.fps), pose_model=str(track.meta.get("model", model)), sided=bool(sided))
        _commit_entry(root, staging, row)
    return row


def drill_mirror(drill_id: str, *, root: str | Path | None = None) -> str:
    """The mirror setting a drill's attempts are compared with: "no" for a sided drill, else "auto"."""
    row = _row(drill_id, library_root(root))
    if row["kind"] != "drill":
        raise LabError(f"{drill_id} is an attempt, not a drill", exit_code=2)
    return "no" if row.get("sided") else "auto"


def set_drill_sided(drill_id: str, sided: bool, *, root: str | Path | None = None) -> dict[str, Any]:
    """Mark a drill sided (its mirror image is a different movement) or not; return its new row.

    The catalogue and the drill's ``entry.json`` are rewritten (atomically, under the
    catalogue lock). Attempts already added keep the comparison they were added
    with; new ones (and ``lab batch --library``) use the new setting.
    """
    root = library_root(root)
    with _locked(root):
        df = load_catalogue(root)
        hit = df.index[df["id"] == drill_id]
        if len(hit) == 0:
            raise LabError(f"no drill or attempt {drill_id!r} in the library at {root}", exit_code=2)
        if df.loc[hit[0], "kind"] != "drill":
            raise LabError(f"{drill_id} is an attempt, not a drill", exit_code=2)
        df.loc[hit[0], "sided"] = bool(sided)
        entry = root / "drills" / drill_id / "entry.json"
        try:
            data = json.loads(entry.read_text())
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            data["sided"] = bool(sided)
            write_bytes_atomic(entry, json.dumps(data, indent=1, default=str).encode())
        _write_catalogue(root, df)
    return _row(drill_id, root)


def drill_reference(drill_id: str, *, root: str | Path | None = None):
    """A drill's STORED pose track, body-frame model and video path: ``(track, model or None, video or None)``."""
    root = library_root(root)
    drill = _row(drill_id, root)
    if drill["kind"] != "drill":
        raise LabError(f"{drill_id} is an attempt, not a drill", exit_code=2)
    track = read_entry_track(drill_id, root=root)
    body = read_entry_track(drill_id, which="model", root=root) if drill.get("model") else None
    video = root / drill["video"] if drill.get("video") else None
    return track, body, video


def analyze_with_drill(drill_id: str, attempt, *, attempt_body=None, mirror: str = "auto",
                       threshold: float | None = None, attempt_video: str | Path | None = None,
                       root: str | Path | None = None, reps: bool = False):
    """Analyse a PoseTrack against a drill's STORED pose track and model (nothing of the drill is
    extracted or lifted again); ``reps`` also finds and judges each repetition. Returns a
    :class:`lab.pipeline.Analysis`."""
    from lab.pipeline import analyze

    root = library_root(root)
    drill = _row(drill_id, root)
    ref = read_entry_track(drill_id, root=root)
    ref_body = read_entry_track(drill_id, which="model", root=root) if drill.get("model") else None
    ref_video = root / drill["video"] if drill.get("video") else None
    try:
        return analyze(ref, attempt, reference_body=ref_body, attempt_body=attempt_body, mirror=mirror,
                       threshold=threshold, reference_video=ref_video, attempt_video=attempt_video, reps=reps)
    except LabError as exc:
        raise LabError(f"cannot compare with drill {drill_id}: {exc}", exit_code=exc.exit_code) from None


def compare_with_drill(drill_id: str, attempt, *, mirror: str = "auto", threshold: float | None = None,
                       root: str | Path | None = None):
    """Compare a PoseTrack with a drill's STORED pose track (no extraction). Returns a Comparison."""
    return analyze_with_drill(drill_id, attempt, mirror=mirror, threshold=threshold, root=root).comparison


def _result_json(c) -> dict[str, Any]:
    d = c.to_dict()
    d["path_time_s"] = np.round(np.asarray(c.path_time_s, dtype=float), 4).tolist()
    return d


def add_live_attempt(drill_id: str, stream, *, player: str, root: str | Path | None = None, model: str = "lite",
                     on_update=None, stop=None) -> tuple[Any, dict[str, Any]]:
    """Compare a live stream (camera or browser page) with a drill's stored model as the player moves,
    then store it as the player's attempt: the frames processed are recorded as its video.

    ``stream``, ``model``, ``on_update`` and ``stop`` as in :func:`lab.live.stream.run_live`; the
    drill's mirror setting applies (:func:`drill_mirror`). Nothing of the drill is recomputed; the
    attempt is analysed once, by :func:`add_attempt`. Returns ``(live result, catalogue row)``.
    """
    import tempfile

    from lab.live.stream import run_live

    if not player.strip():
        raise LabError("an attempt needs a player name", exit_code=2)
    track, body, video = drill_reference(drill_id, root=root)
    mirror = drill_mirror(drill_id, root=root)
    with tempfile.TemporaryDirectory(prefix="lab-live-") as tmp:
        record = Path(tmp) / "live.mp4"
        result = run_live(track, stream, reference_body=body, reference_video=video, mirror=mirror, model=model,
                          record_video=record, analyze_at_end=False, on_update=on_update, stop=stop)
        row = add_attempt(record, drill_id=drill_id, player=player, mirror=mirror, model=model, root=root,
                          track=result.track)
    return result, row


def overlay_image(drill_video: str | Path, drill_track, attempt_video: str | Path, attempt_track, *,
                  path_time_s: np.ndarray | None = None, height_px: int = 360) -> np.ndarray:
    """Coach | player frame (RGB uint8) with both skeletons, at the middle of the attempt.

    The coach frame is the one the DTW path (``path_time_s``, (L, 2) seconds)
    matches to that attempt frame.
    """
    from lab.viz.draw import render_overlay_video

    path = None
    if path_time_s is not None and len(path_time_s):
        pt = np.asarray(path_time_s, dtype=float)
        ri = np.abs(drill_track.time_s[None, :] - pt[:, :1]).argmin(axis=1)
        ai = np.abs(attempt_track.time_s[None, :] - pt[:, 1:2]).argmin(axis=1)
        path = np.stack([ri, ai], axis=1)
    middle = attempt_track.n_frames // 2
    if path is not None:
        middle = int(np.median(path[:, 1]))
    last = None
    for j, frame in enumerate(render_overlay_video(drill_video, drill_track, attempt_video, attempt_track,
                                                   path=path, height_px=height_px)):
        last = frame
        if j >= middle:
            break
    if last is None:
        raise LabError("no frame could be drawn for the overlay", exit_code=4)
    return last


def add_attempt(video: str | Path, *, drill_id: str, player: str, mirror: str | None = None,
                threshold: float | None = None, model: str = "full", overlay: bool = True,
                root: str | Path | None = None, max_bytes: int = MAX_VIDEO_BYTES,
                source_name: str | None = None, track=None) -> dict[str, Any]:
    """Add a player's attempt at a drill: process it, compare with the drill's stored track, list it.

    ``track`` (a :class:`lab.pose.track.PoseTrack`) is the attempt's poses already measured, e.g. what
    ``lab live`` recorded from the video: stored as they are, not extracted again.

    ``mirror`` None takes the drill's setting (:func:`drill_mirror`: "no" for a sided drill,
    whose mirror image is a different movement; else "auto"); "auto", "no" or "yes" overrides it.
    Returns its catalogue row (``score``, ``verdict``, ``distance``, ``mirrored``...);
    the full comparison is in ``attempts/<id>/result.json`` (:func:`show`), with its repetitions
    (``repetitions``: :meth:`lab.reps.RepetitionReport.to_dict`).
    """
    from lab.viz.draw import to_png

    root = library_root(root)
    video = Path(video)
    _check_video_file(video, max_bytes=max_bytes)
    if not player.strip():
        raise LabError("an attempt needs a player name", exit_code=2)
    drill = _row(drill_id, root)
    if drill["kind"] != "drill":
        raise LabError(f"{drill_id} is an attempt, not a drill", exit_code=2)
    if mirror is None:
        mirror = "no" if drill.get("sided") else "auto"
    entry_id = _new_id("attempt")
    with _staging(root, entry_id) as staging:
        track, body = _process_video(video, staging, model=model, source_name=source_name, track=track)
        final_video = root / "attempts" / entry_id / f"video{video.suffix.lower()}"
        analysis = analyze_with_drill(drill_id, track, attempt_body=body, mirror=mirror, threshold=threshold,
                                      attempt_video=final_video, root=root, reps=True)
        analysis.save(staging / "analysis")
        c = analysis.comparison
        result = _result_json(c)
        result["drill_id"] = drill_id
        result["repetitions"] = analysis.repetitions.to_dict()
        write_bytes_atomic(staging / "result.json", json.dumps(result, indent=1).encode())
        if overlay and (root / drill["video"]).exists():
            try:   # what the report's "matched moments" show: the ghost, joints coloured against the noise
                import dataclasses

                from lab.report import side_by_side_frames
                drawn = dataclasses.replace(analysis, reference_video=str(root / drill["video"]),
                                            attempt_video=str(staging / f"video{video.suffix.lower()}"))
                img = side_by_side_frames(drawn, n=4, height_px=360)
                write_bytes_atomic(staging / "overlay.png", to_png(img))
            except (LabError, ValueError) as exc:  # the overlay is a picture; the result stands without it
                result.setdefault("warnings", []).append(f"no overlay image: {exc}")
                write_bytes_atomic(staging / "result.json", json.dumps(result, indent=1).encode())
        rel = Path("attempts") / entry_id
        row = dict(id=entry_id, kind="attempt", title=drill["title"], coach=drill["coach"],
                   player=player.strip(), drill_id=drill_id, tags=[], camera_notes="", created_utc=_now(),
                   video_sha256=sha256_file(video), video=str(rel / f"video{video.suffix.lower()}"),
                   track=str(rel / "track.parquet"), model=str(rel / "model.parquet"),
                   result=str(rel / "result.json"), score=float(c.score), verdict=c.verdict,
                   distance=float(c.distance), mirrored=bool(c.mirrored), frames=track.n_frames,
                   fps=float(track.fps), pose_model=str(track.meta.get("model", model)), sided=None)
        _commit_entry(root, staging, row)
    return row


def _added_with(root: Path, attempt_id: str) -> tuple[str, float | None]:
    """(mirror, threshold) the attempt was compared with when it was added (its result.json)."""
    try:
        res = json.loads((root / "attempts" / attempt_id / "result.json").read_text())
        mirror = res["settings"]["mirror"]
        threshold = float(res["threshold"]) if res.get("threshold_provenance") == "given" else None
        return str(mirror), threshold
    except (OSError, ValueError, KeyError, TypeError):
        return "auto", None


def stored_analysis(attempt_id: str, *, mirror: str | None = None, threshold: float | None = None,
                    root: str | Path | None = None):
    """An attempt's analysis against its drill, from what the library stores.

    With ``mirror`` None, the settings it was added with: the analysis saved on
    add is read back as it is. Otherwise (or for an entry added before analyses
    were saved) a new analysis from the stored tracks and models only (the
    stages are cached, so nothing is lifted twice).
    """
    import dataclasses

    from lab.pipeline import Analysis

    root = library_root(root)
    row = _row(attempt_id, root)
    if row["kind"] != "attempt":
        raise LabError(f"{attempt_id} is a drill, not an attempt", exit_code=2)
    drill = _row(row["drill_id"], root)
    folder = root / "attempts" / attempt_id / "analysis"
    if mirror is None:
        if folder.exists():
            try:
                a = Analysis.load(folder)
                # the files are where the library keeps them now, whatever they were called when added
                return dataclasses.replace(a, reference_video=str(root / drill["video"]),
                                           attempt_video=str(root / row["video"]))
            except LabError:
                pass
        mirror, threshold = _added_with(root, attempt_id)
    body = read_entry_track(attempt_id, which="model", root=root) if row.get("model") else None
    return analyze_with_drill(row["drill_id"], read_entry_track(attempt_id, root=root), attempt_body=body,
                              mirror=mirror, threshold=threshold, attempt_video=root / row["video"], root=root)


def recompare(attempt_id: str, *, mirror: str = "auto", threshold: float | None = None,
              root: str | Path | None = None):
    """Compare a stored attempt with its drill again, from the stored tracks only. Returns a Comparison."""
    return stored_analysis(attempt_id, mirror=mirror, threshold=threshold, root=root).comparison


def write_attempt_report(attempt_id: str, *, root: str | Path | None = None, video: bool = True) -> Path:
    """The full HTML report of an attempt vs its drill in the attempt's folder, drawn from the stored
    analysis (nothing extracted or lifted again)."""
    from lab.report import write_analysis_report

    root = library_root(root)
    row = _row(attempt_id, root)
    drill = _row(row["drill_id"], root)
    return write_analysis_report(stored_analysis(attempt_id, root=root), root / "attempts" / attempt_id / "report",
                                 title=f"{drill['title']}: {row['player']}", video=video)


# ------------------------------------------------------------------ removing, checking
def remove(entry_id: str, *, with_attempts: bool = False, root: str | Path | None = None) -> list[str]:
    """Remove an entry (a drill with attempts only if ``with_attempts``). Returns the ids removed.

    The catalogue is rewritten first (the entry disappears at once), then, still
    under the lock, the folders are moved into ``.trash/`` (so :func:`repair`
    never lists a removed entry again), then deleted.
    """
    root = library_root(root)
    with _locked(root):
        df = load_catalogue(root)
        hit = df[df["id"] == entry_id]
        if hit.empty:
            raise LabError(f"no drill or attempt {entry_id!r} in the library at {root}", exit_code=2)
        ids = [entry_id]
        if hit.iloc[0]["kind"] == "drill":
            att = list(df[(df["kind"] == "attempt") & (df["drill_id"] == entry_id)]["id"])
            if att and not with_attempts:
                raise LabError(f"drill {entry_id} has {len(att)} attempt(s); remove them first or pass "
                               "--with-attempts", exit_code=2)
            ids += att
        kinds = dict(zip(df["id"], df["kind"]))
        _write_catalogue(root, df[~df["id"].isin(ids)])
        trash = root / ".trash"
        trash.mkdir(exist_ok=True)
        moved = []
        for i in ids:
            folder = root / _folder(kinds[i]) / i
            if folder.exists():
                moved.append(trash / f"{i}.{uuid.uuid4().hex[:8]}")
                os.replace(folder, moved[-1])
    for m in moved:
        shutil.rmtree(m, ignore_errors=True)
    return ids


def _builds(root: Path) -> list[Path]:
    base = root / ".staging"
    return sorted(p for p in base.glob("*.part") if p.is_dir()) if base.exists() else []


def check_library(*, root: str | Path | None = None) -> dict[str, list[str]]:
    """What is on disk but not listed, and listed but damaged.

    Returns ``{"orphans": [folders not in the catalogue], "staging": [leftover builds whose
    process is gone], "missing": [ids whose stored files are gone]}``. Builds still in
    progress are not leftovers.
    """
    root = library_root(root)
    df = load_catalogue(root)
    listed = set(df["id"])
    orphans = [str(p) for kind in ("drills", "attempts") for p in sorted((root / kind).glob("*"))
               if p.is_dir() and p.name not in listed]
    staging = []
    for b in _builds(root):
        gone, fh = _staging_owner_gone(b)
        if fh is not None:
            fh.close()
        if gone:
            staging.append(str(b))
    missing = [r["id"] for _, r in df.iterrows()
               if not all((root / r[k]).exists() for k in ("track", "model") if r[k])]
    return {"orphans": orphans, "staging": staging, "missing": missing}


def repair(*, root: str | Path | None = None) -> dict[str, list[str]]:
    """Put the library in order without losing an entry.

    - A folder not in the catalogue that holds a complete entry (:func:`_complete_entry`) is
      listed again, never deleted; one that does not is deleted, except when the catalogue
      is missing or damaged (then nothing is deleted: there is no list to judge by).
    - A damaged catalogue is kept beside as ``catalogue.damaged-<UTC time>.parquet`` and
      rebuilt from the complete entries.
    - Build folders in ``.staging/`` are deleted only once their owner is gone (their lock
      can be taken): an add in progress is left alone. ``.trash/`` (removed entries) is emptied.

    Returns ``{"relisted": ids, "removed": folders deleted, "staging": builds deleted,
    "in_progress": builds left to their adder, "missing": listed ids whose files are gone,
    "damaged_catalogue": [where the damaged catalogue was kept]}``.
    """
    root = library_root(root)
    out: dict[str, list[str]] = {"relisted": [], "removed": [], "staging": [], "in_progress": [],
                                 "missing": [], "damaged_catalogue": []}
    with _locked(root):
        trusted = (root / CATALOGUE).exists()
        try:
            df = load_catalogue(root)
        except CatalogueDamaged:
            trusted = False
            df = _empty_catalogue()
            kept = root / f"catalogue.damaged-{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%S%fZ}.parquet"
            os.replace(root / CATALOGUE, kept)
            out["damaged_catalogue"].append(str(kept))
        listed = set(df["id"])
        rows = []
        for kind in ("drill", "attempt"):
            for folder in sorted((root / _folder(kind)).glob("*")):
                if not folder.is_dir() or folder.name in listed:
                    continue
                row = _complete_entry(root, folder, kind)
                if row is not None:
                    rows.append(row)
                elif trusted:
                    shutil.rmtree(folder, ignore_errors=True)
                    out["removed"].append(str(folder))
        if rows or out["damaged_catalogue"]:
            rows.sort(key=lambda r: (str(r.get("created_utc") or ""), r["id"]))
            new = pd.DataFrame(rows, columns=COLUMNS)
            _write_catalogue(root, pd.concat([df, new], ignore_index=True) if len(df) else new)
            out["relisted"] = [r["id"] for r in rows]
        for b in _builds(root):
            gone, fh = _staging_owner_gone(b)
            try:
                if gone:
                    shutil.rmtree(b, ignore_errors=True)
                    (b.parent / f"{b.name}.lock").unlink(missing_ok=True)
                    out["staging"].append(str(b))
                else:
                    out["in_progress"].append(str(b))
            finally:
                if fh is not None:
                    fh.close()
        for lock in sorted((root / ".staging").glob("*.part.lock")) if (root / ".staging").exists() else []:
            if not lock.with_suffix("").exists():  # a build that was removed but not its lock
                with open(lock, "r+") as fh:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    if not lock.with_suffix("").exists():
                        lock.unlink(missing_ok=True)
        for t in sorted((root / ".trash").glob("*")) if (root / ".trash").exists() else []:
            shutil.rmtree(t, ignore_errors=True)
        out["missing"] = check_library(root=root)["missing"]
    return out


# ------------------------------------------------------------------ migration
def migrate(*, root: str | Path | None = None) -> int:
    """Upgrade an older catalogue to :data:`SCHEMA_VERSION` in place (atomic). Returns the old version.

    v0 -> v1: ``tags`` "a,b" -> ["a", "b"]; ``created`` -> ``created_utc``
    (ISO 8601, UTC); ``video_sha256`` computed from the stored video;
    a drill/attempt without a lifted model gets one (``model.parquet``, from
    its stored track); attempts get ``distance``/``mirrored`` from their
    ``result.json``; the old catalogue is kept as ``catalogue.v0.parquet``.
    """
    import pyarrow.parquet as pq

    from lab.lift import lift_track
    from lab.pose.track import read_track, write_track

    root = library_root(root)
    with _locked(root):
        version = catalogue_version(root)
        if version is None:
            raise LabError(f"no library catalogue at {root}", exit_code=3)
        if version == SCHEMA_VERSION:
            return version
        if version > SCHEMA_VERSION:
            raise LabError(f"catalogue schema {version} is newer than this lab ({SCHEMA_VERSION})", exit_code=3)
        old = pq.read_table(root / CATALOGUE).to_pandas()
        rows = []
        for _, r in old.iterrows():
            r = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.to_dict().items()}
            kind = r.get("kind") or "drill"
            folder = Path(_folder(kind)) / r["id"]
            tags = r.get("tags") or ""
            tags = [t.strip() for t in str(tags).split(",") if t.strip()] if isinstance(tags, str) else list(tags)
            created = r.get("created")
            created = (pd.Timestamp(created).tz_localize("UTC") if pd.Timestamp(created).tzinfo is None
                       else pd.Timestamp(created).tz_convert("UTC")).isoformat() if created else None
            video = r.get("video")
            sha = sha256_file(root / video) if video and (root / video).exists() else None
            model = r.get("model") or str(folder / "model.parquet")
            if not (root / model).exists() and r.get("track") and (root / r["track"]).exists():
                write_track(lift_track(read_track(root / r["track"])), root / model)
            distance = mirrored = None
            result = r.get("result")
            if kind == "attempt" and result and (root / result).exists():
                res = json.loads((root / result).read_text())
                distance, mirrored = res.get("distance"), res.get("mirrored")
            track = read_track(root / r["track"]) if r.get("track") and (root / r["track"]).exists() else None
            rows.append(dict(id=r["id"], kind=kind, title=r.get("title"), coach=r.get("coach"),
                             player=r.get("player"), drill_id=r.get("drill_id"), tags=tags,
                             camera_notes=r.get("camera_notes") or "", created_utc=created, video_sha256=sha,
                             video=video, track=r.get("track"), model=model if (root / model).exists() else None,
                             result=result, score=r.get("score"), verdict=r.get("verdict"),
                             distance=distance, mirrored=mirrored,
                             frames=track.n_frames if track is not None else None,
                             fps=float(track.fps) if track is not None else None,
                             pose_model=(track.meta.get("model") if track is not None else None),
                             sided=False if kind == "drill" else None))
        shutil.copyfile(root / CATALOGUE, root / f"catalogue.v{version}.parquet")
        df = pd.DataFrame(rows, columns=COLUMNS) if rows else _empty_catalogue()
        _write_catalogue(root, df)
    return version
