"""Batch runs on Dask: many clips compared with one reference (or the library's attempts with their drills).

Each item runs :func:`process_item` on a Dask worker: extract (cached),
lift, compare with the reference, optionally write the HTML report. Its
result goes to ``<out>/items/<name>/result.json``, written atomically and
last, so a re-run skips the items that finished and retries the others. A
failing item is recorded in ``error.json`` and in the results table; it never
stops the rest. The table (one row per item) is ``<out>/results.csv`` and
``<out>/results.parquet``.

The default cluster is local (``LocalCluster(n_workers=2, threads_per_worker=1)``,
worker processes); ``scheduler="tcp://host:8786"`` uses any Dask scheduler
whose workers can import ``lab`` and read the paths given.
"""

from __future__ import annotations

import functools
import json
import re
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from lab.io import LabError, atomic_path, write_bytes_atomic
from lab.pose.video import VIDEO_SUFFIXES

RESULT_JSON = "result.json"
ERROR_JSON = "error.json"
#: Columns of the results table, in order.
RESULT_COLUMNS = ["name", "status", "attempt", "reference", "score", "verdict", "distance", "threshold",
                  "mirrored", "frames", "seconds", "report", "error", "skipped"]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "item"


def folder_items(folder: str | Path, *, reference: str | Path) -> list[dict[str, Any]]:
    """One item per video file in ``folder`` (sorted; the reference itself left out).

    Each item: ``{"name", "attempt", "reference", "reference_video"}`` (paths as str).
    """
    folder, reference = Path(folder), Path(reference)
    if not folder.is_dir():
        raise LabError(f"{folder} is not a folder", exit_code=2)
    if not reference.exists():
        raise LabError(f"no such file: {reference}", exit_code=2)
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                    and p.resolve() != reference.resolve())
    if not videos:
        raise LabError(f"no video files in {folder}", exit_code=4)
    ref_video = str(reference) if reference.suffix.lower() in VIDEO_SUFFIXES else None
    items = [{"name": _safe_name(p.stem), "attempt": str(p), "reference": str(reference),
              "reference_video": ref_video} for p in videos]
    names = [i["name"] for i in items]
    for i in items:  # same stem, different extension
        if names.count(i["name"]) > 1:
            i["name"] = _safe_name(Path(i["attempt"]).name)
    return items


def library_items(*, root: str | Path | None = None, drill_id: str | None = None) -> list[dict[str, Any]]:
    """One item per library attempt (optionally of one drill), compared with its drill's stored tracks."""
    from lab.library import library_root, list_attempts, load_catalogue

    root = library_root(root)
    cat = load_catalogue(root).set_index("id")
    att = list_attempts(drill_id=drill_id, root=root)
    if att.empty:
        raise LabError(f"no attempts in the library at {root}" + (f" for drill {drill_id}" if drill_id else ""),
                       exit_code=4)
    items = []
    for _, a in att.iterrows():
        d = cat.loc[a["drill_id"]]
        items.append({"name": a["id"], "attempt": str(root / a["track"]), "reference": str(root / d["track"]),
                      "attempt_video": str(root / a["video"]), "reference_video": str(root / d["video"])})
    return items


@functools.lru_cache(maxsize=8)
def _reference_track(path: str):
    from lab.pose.extract import load_track
    return load_track(path, progress=False) if Path(path).suffix.lower() in VIDEO_SUFFIXES else load_track(path)


def process_item(item: dict[str, Any], out_dir: str | Path, *, mirror: str = "auto",
                 threshold: float | None = None, report: bool = False, model: str = "full") -> dict[str, Any]:
    """Process one item (runs on a worker): extract, lift, compare, report. Never raises.

    Writes ``<out_dir>/items/<name>/`` (``track.parquet``, ``model.parquet``,
    ``result.json`` last) and returns the item's row for the results table
    (``status`` "ok" or "failed" with ``error``).
    """
    from lab.lift import lift_track
    from lab.pose.extract import extract_pose_cached, load_track
    from lab.pose.track import write_track
    from lab.score import compare_tracks

    t0 = time.perf_counter()
    folder = Path(out_dir) / "items" / item["name"]
    row: dict[str, Any] = {"name": item["name"], "attempt": item["attempt"], "reference": item["reference"],
                           "skipped": False}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ref = _reference_track(item["reference"])
        a = Path(item["attempt"])
        if a.suffix.lower() in VIDEO_SUFFIXES:
            att = extract_pose_cached(a, model=model, progress=False, workers=1)
        else:
            att = load_track(a)
        if att.world_m is None:
            raise LabError(f"{a.name} has no 3D landmarks", exit_code=4)
        write_track(att, folder / "track.parquet")
        write_track(lift_track(att), folder / "model.parquet")
        try:
            c = compare_tracks(ref, att, mirror=mirror, threshold=threshold)
        except ValueError as exc:
            raise LabError(f"cannot compare: {exc}", exit_code=4) from None
        page = None
        ref_video = item.get("reference_video")
        att_video = item.get("attempt_video") or (str(a) if a.suffix.lower() in VIDEO_SUFFIXES else None)
        if report and ref_video and att_video:
            from lab.report import write_report
            page = str(write_report(ref_video, att_video, folder / "report", mirror=mirror, threshold=threshold,
                                    model=model))
        row.update(status="ok", score=float(c.score), verdict=c.verdict, distance=float(c.distance),
                   threshold=float(c.threshold), mirrored=bool(c.mirrored), frames=int(att.n_frames),
                   report=page, error=None, seconds=round(time.perf_counter() - t0, 3))
        result = {"row": row, "comparison": c.to_dict()}
        write_bytes_atomic(folder / RESULT_JSON, json.dumps(result, indent=1, default=str).encode())
        (folder / ERROR_JSON).unlink(missing_ok=True)
    except Exception as exc:  # one item's failure is reported, never fatal for the batch
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        row.update(status="failed", error=f"{exc.__class__.__name__}: {msg}",
                   seconds=round(time.perf_counter() - t0, 3))
        try:
            write_bytes_atomic(folder / ERROR_JSON, json.dumps(
                {"row": row, "traceback": traceback.format_exc()}, indent=1, default=str).encode())
        except OSError:
            pass
    return row


def done_row(item: dict[str, Any], out_dir: str | Path) -> dict[str, Any] | None:
    """The stored row of an item that finished in an earlier run (same inputs), else None."""
    path = Path(out_dir) / "items" / item["name"] / RESULT_JSON
    if not path.exists():
        return None
    try:
        row = json.loads(path.read_text())["row"]
    except (ValueError, KeyError):
        return None
    if row.get("status") != "ok" or row.get("attempt") != item["attempt"] or row.get("reference") != item["reference"]:
        return None
    return dict(row, skipped=True)


def write_results(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> pd.DataFrame:
    """The results table (one row per item, sorted by name) as ``results.csv`` and ``results.parquet``."""
    df = pd.DataFrame(list(rows), columns=RESULT_COLUMNS).sort_values("name").reset_index(drop=True)
    out = Path(out_dir)
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(out / "results.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    return df


def run_batch(items: Sequence[dict[str, Any]], out_dir: str | Path, *, scheduler: str | None = None,
              n_workers: int = 2, mirror: str = "auto", threshold: float | None = None, report: bool = False,
              model: str = "full", progress: bool | Callable[[dict[str, Any]], None] = True,
              connect_timeout_s: float = 20.0) -> pd.DataFrame:
    """Process ``items`` in parallel on Dask; skip those already done; return the results table.

    Parameters
    ----------
    items : from :func:`folder_items` or :func:`library_items`
    out_dir : folder for per-item results and ``results.csv``/``results.parquet``
    scheduler : Dask scheduler address (``tcp://...``); None starts a local cluster of
        ``n_workers`` processes with one thread each.
    progress : True for a tqdm bar, a callable called with each finished row, or False.
    connect_timeout_s : how long to try reaching ``scheduler``, seconds.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [i["name"] for i in items]
    if len(set(names)) != len(names):
        raise LabError("batch item names must be unique", exit_code=2)
    rows, todo = [], []
    for item in items:
        prev = done_row(item, out)
        (rows.append(prev) if prev is not None else todo.append(item))
    bar = None
    if progress is True:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(items), initial=len(rows), desc="batch", unit="clip")
    if todo:
        cluster = None
        try:
            if scheduler:
                client = Client(scheduler, timeout=f"{connect_timeout_s}s")
            else:
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
                client = Client(cluster)
        except (OSError, TimeoutError) as exc:
            raise LabError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}", exit_code=3) from None
        try:
            futures = {client.submit(process_item, item, str(out.resolve()), mirror=mirror, threshold=threshold,
                                     report=report, model=model, key=f"lab-batch-{item['name']}-{time.time_ns()}",
                                     pure=False): item for item in todo}
            for fut in as_completed(futures):
                item = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # the worker died or could not run the task
                    row = {"name": item["name"], "attempt": item["attempt"], "reference": item["reference"],
                           "status": "failed", "skipped": False,
                           "error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
                rows.append(row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"{row['name']}: {row.get('verdict') or row['status']}")
                elif callable(progress):
                    progress(row)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    if bar is not None:
        bar.close()
    return write_results(rows, out)
