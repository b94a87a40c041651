"""Batch runs on Dask: many clips compared with one reference (or the library's attempts with their drills).

Each item runs :func:`process_item` on a Dask worker: extract (cached),
lift, compare with the reference, optionally write the HTML report. Its
result goes to ``<out>/items/<name>/result.json``, written atomically and
last, so a re-run skips the items that finished and retries the others. A
failing item is recorded in ``error.json`` and in the results table; it never
stops the rest. The table (one row per item) is ``<out>/results.csv`` and
``<out>/results.parquet``; with repetitions (``reps``), ``<out>/repetitions.csv``
and ``.parquet`` hold one row per repetition as well.

The default cluster is local (``LocalCluster(n_workers=2, threads_per_worker=1)``,
worker processes); ``scheduler="tcp://host:8786"`` uses any Dask scheduler
whose workers can import ``lab`` and read the paths given.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from lab.io import LabError, atomic_path, contained_path, sha256_bytes, sha256_file, write_bytes_atomic
from lab.pose.video import VIDEO_SUFFIXES

RESULT_JSON = "result.json"
ERROR_JSON = "error.json"
#: Columns of the results table, in order.
RESULT_COLUMNS = ["name", "status", "attempt", "reference", "score", "verdict", "distance", "threshold",
                  "mirrored", "frames", "rep_count", "count_sure", "seconds", "report", "error", "skipped"]
#: Columns of the repetitions table (``reps``), in order.
REP_COLUMNS = ["name", "index", "start_s", "end_s", "partial", "verdict", "score", "p_same", "feedback"]


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
                      "attempt_video": str(root / a["video"]), "reference_video": str(root / d["video"]),
                      # the stored models: nothing of the library is lifted again
                      "attempt_model": str(root / a["model"]) if a.get("model") else None,
                      "reference_model": str(root / d["model"]) if d.get("model") else None,
                      # a sided drill: a mirror image is a different movement, whatever --mirror says
                      "mirror": "no" if d.get("sided") else None})
    return items


def item_key(item: dict[str, Any], *, mirror: str, threshold: float | None, report: bool, model: str,
             reps: bool = False) -> str:
    """What an item's result depends on: every input's content hash and every setting.

    A result stored under another key (another reference file at the same path,
    another ``--threshold`` or ``--mirror``, another pose model, another lab
    version) is never reused.
    """
    from lab import __version__

    files = {k: item.get(k) for k in ("attempt", "reference", "reference_model", "attempt_model",
                                      "reference_video", "attempt_video")}
    digests = {k: (sha256_file(v) if v and Path(v).is_file() else None) for k, v in files.items()}
    settings = {"files": digests, "mirror": mirror, "threshold": threshold, "report": bool(report),
                "model": model, "lab": __version__}
    if reps:
        settings["reps"] = True
    blob = json.dumps(settings, sort_keys=True)
    return sha256_bytes(blob.encode())[:32]


def process_item(item: dict[str, Any], out_dir: str | Path, *, mirror: str = "auto",
                 threshold: float | None = None, report: bool = False, model: str = "full",
                 reps: bool = False) -> dict[str, Any]:
    """Process one item (runs on a worker): :func:`lab.pipeline.analyze`, and the report. Never raises.

    Writes ``<out_dir>/items/<name>/`` (``track.parquet``, ``model.parquet``,
    ``analysis/``, the report when asked, ``result.json`` last) and returns the
    item's row for the results table (``status`` "ok" or "failed" with ``error``).
    """
    from lab.pipeline import analyze
    from lab.pose.track import read_track, write_track

    t0 = time.perf_counter()
    mirror = item.get("mirror") or mirror
    folder = contained_path(out_dir, Path("items") / item["name"])
    row: dict[str, Any] = {"name": item["name"], "attempt": item["attempt"], "reference": item["reference"],
                           "skipped": False}
    try:
        key = item_key(item, mirror=mirror, threshold=threshold, report=report, model=model, reps=reps)
        folder.mkdir(parents=True, exist_ok=True)
        a = Path(item["attempt"])
        att_video = item.get("attempt_video") or (str(a) if a.suffix.lower() in VIDEO_SUFFIXES else None)
        bodies = {k: read_track(item[f"{k}_model"]) if item.get(f"{k}_model") else None
                  for k in ("reference", "attempt")}
        analysis = analyze(item["reference"], a, mirror=mirror, threshold=threshold, model=model,
                           reference_body=bodies["reference"], attempt_body=bodies["attempt"],
                           reference_video=item.get("reference_video"), attempt_video=att_video,
                           extract_workers=1, reps=reps)
        write_track(analysis.attempt, folder / "track.parquet")
        write_track(analysis.attempt_body, folder / "model.parquet")
        analysis.save(folder / "analysis")
        page = None
        if report and analysis.reference_video and analysis.attempt_video:
            from lab.report import write_analysis_report
            page = str(write_analysis_report(analysis, folder / "report"))
        c = analysis.comparison
        row.update(status="ok", score=float(c.score), verdict=c.verdict, distance=float(c.distance),
                   threshold=float(c.threshold), mirrored=bool(c.mirrored), frames=int(analysis.attempt.n_frames),
                   rep_count=None if analysis.repetitions is None else analysis.repetitions.rep_count,
                   count_sure=None if analysis.repetitions is None else analysis.repetitions.count_sure,
                   report=page, error=None, seconds=round(time.perf_counter() - t0, 3))
        result = {"row": row, "key": key, "comparison": c.to_dict()}
        if analysis.repetitions is not None:
            result["repetitions"] = analysis.repetitions.to_dict()
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


def done_row(item: dict[str, Any], out_dir: str | Path, *, mirror: str = "auto", threshold: float | None = None,
             report: bool = False, model: str = "full", reps: bool = False) -> dict[str, Any] | None:
    """The stored row of an item that finished in an earlier run with the same inputs (content) and
    settings (:func:`item_key`), else None."""
    path = Path(out_dir) / "items" / item["name"] / RESULT_JSON
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
        row, key = stored["row"], stored.get("key")
    except (ValueError, KeyError, TypeError):
        return None
    if row.get("status") != "ok" or key != item_key(item, mirror=item.get("mirror") or mirror, threshold=threshold,
                                                    report=report, model=model, reps=reps):
        return None
    return dict(row, skipped=True)


def repetition_rows(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> list[dict[str, Any]]:
    """One row per repetition of every finished item that has them (read from its ``result.json``)."""
    out = []
    for row in rows:
        if row.get("status") != "ok" or row.get("rep_count") is None:
            continue
        try:
            stored = json.loads((Path(out_dir) / "items" / row["name"] / RESULT_JSON).read_text())
            reps = stored["repetitions"]["reps"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out += [{"name": row["name"], **{k: r.get(k) for k in REP_COLUMNS[1:-1]},
                 "feedback": " | ".join(r.get("feedback") or [])} for r in reps]
    return out


def write_results(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> pd.DataFrame:
    """The results table (one row per item, sorted by name) as ``results.csv`` and ``results.parquet``;
    items with repetitions also get ``repetitions.csv`` and ``repetitions.parquet`` (one row per repetition)."""
    df = pd.DataFrame(list(rows), columns=RESULT_COLUMNS).sort_values("name").reset_index(drop=True)
    out = Path(out_dir)
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(out / "results.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    reps = repetition_rows(list(rows), out)
    if reps:
        table = pd.DataFrame(reps, columns=REP_COLUMNS).sort_values(["name", "index"]).reset_index(drop=True)
        with atomic_path(out / "repetitions.csv") as tmp:
            table.to_csv(tmp, index=False)
        with atomic_path(out / "repetitions.parquet") as tmp:
            table.to_parquet(tmp, index=False)
    return df


def run_batch(items: Sequence[dict[str, Any]], out_dir: str | Path, *, scheduler: str | None = None,
              n_workers: int = 2, mirror: str = "auto", threshold: float | None = None, report: bool = False,
              model: str = "full", progress: bool | Callable[[dict[str, Any]], None] = True,
              connect_timeout_s: float = 20.0, reps: bool = False) -> pd.DataFrame:
    """Process ``items`` in parallel on Dask; skip those already done; return the results table.

    Parameters
    ----------
    items : from :func:`folder_items` or :func:`library_items`
    out_dir : folder for per-item results and ``results.csv``/``results.parquet``
    scheduler : Dask scheduler address (``tcp://...``); None starts a local cluster of
        ``n_workers`` processes with one thread each.
    progress : True for a tqdm bar, a callable called with each finished row, or False.
    connect_timeout_s : how long to try reaching ``scheduler``, seconds.
    reps : also find and judge each repetition (``repetitions.csv``, one row per repetition).
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
        prev = done_row(item, out, mirror=mirror, threshold=threshold, report=report, model=model, reps=reps)
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
                                     report=report, model=model, reps=reps,
                                     key=f"lab-batch-{item['name']}-{time.time_ns()}",
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
