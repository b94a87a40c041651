"""`lab library check --fix` never loses an entry; a damaged catalogue is a clear error, then rebuilt.

Entries are built through the library's own commit path (staging folder, entry.json, rename,
catalogue) from a synthetic pose track, so these tests need no video and no pose model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile import assert_refused, one_error_line, run_lab, snapshot
from synthetic_pose import standing

from lab import library as L
from lab.lift import lift_track
from lab.pose.track import write_track

TESTS = Path(__file__).resolve().parent
VIDEO_BYTES = b"\x00\x00\x00\x20ftypisom" + bytes(4000)   # starts like an MP4: enough for the upload checks


def make_entry(root: Path, kind: str, drill_id: str | None = None) -> dict:
    entry_id = L._new_id(kind)
    rel = Path(L._folder(kind)) / entry_id
    with L._staging(root, entry_id) as st:
        tr = standing(60)
        write_track(tr, st / "track.parquet")
        write_track(lift_track(tr), st / "model.parquet")
        (st / "video.mp4").write_bytes(VIDEO_BYTES)
        attempt = kind == "attempt"
        if attempt:
            (st / "result.json").write_text(json.dumps({"score": 70.0, "verdict": "same"}))
        row = dict(id=entry_id, kind=kind, title="Balance", coach="Ann", player="Bob" if attempt else None,
                   drill_id=drill_id, tags=[] if attempt else ["balance"], camera_notes="", created_utc=L._now(),
                   video_sha256="0" * 64, video=str(rel / "video.mp4"), track=str(rel / "track.parquet"),
                   model=str(rel / "model.parquet"), result=str(rel / "result.json") if attempt else None,
                   score=70.0 if attempt else np.nan, verdict="same" if attempt else None,
                   distance=5.0 if attempt else np.nan, mirrored=False if attempt else None, frames=60,
                   fps=30.0, pose_model="synthetic")
        L._commit_entry(root, st, row)
    return row


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "lib"
    d = make_entry(root, "drill")
    attempts = [make_entry(root, "attempt", d["id"]) for _ in range(2)]
    d2 = make_entry(root, "drill")
    return root, [d["id"], *(a["id"] for a in attempts), d2["id"]]


def entry_folders(root: Path) -> dict[str, Path]:
    return {p.name: p for kind in ("drills", "attempts") for p in (root / kind).glob("*")}


# ------------------------------------------------------------------ a lost catalogue
def test_check_fix_after_the_catalogue_is_deleted_lists_every_entry_again(library):
    root, ids = library
    before = L.load_catalogue(root)
    (root / L.CATALOGUE).unlink()
    r = run_lab("library", "check", "--root", root)
    assert r.returncode == 0 and "orphans: 4" in r.stdout, r.stdout + r.stderr
    r = run_lab("library", "check", "--fix", "--root", root)
    assert r.returncode == 0, r.stderr
    assert "relisted: 4" in r.stdout and "removed: 0" in r.stdout, r.stdout
    assert set(entry_folders(root)) == set(ids)                          # every entry is still there
    for i in ids:
        assert (entry_folders(root)[i] / "track.parquet").exists()
    after = L.load_catalogue(root)                                        # ... and listed again
    assert sorted(after["id"]) == sorted(ids)
    cols = ["id", "kind", "title", "coach", "player", "drill_id", "video", "track", "model", "result", "verdict"]
    key = lambda df: df.sort_values("id")[cols].astype(str).values.tolist()  # noqa: E731
    assert key(after) == key(before)
    assert [list(t) for t in after.sort_values("id")["tags"]] == [list(t) for t in before.sort_values("id")["tags"]]
    assert L.check_library(root=root) == {"orphans": [], "staging": [], "missing": []}
    assert L.show(ids[1], root=root)["result"]["verdict"] == "same"


def test_check_fix_relists_a_killed_add_and_removes_only_incomplete_folders(library):
    root, ids = library
    # an add killed after its folder was renamed into place, before the catalogue was written
    cat = L.load_catalogue(root)
    L._write_catalogue(root, cat[cat["id"] != ids[1]])
    # a folder with no complete entry.json (an entry.json naming a track that is not there)
    junk = root / "attempts" / "a-0123456789"
    junk.mkdir()
    (junk / "entry.json").write_text(json.dumps({"id": "a-0123456789", "kind": "attempt"}))
    r = run_lab("library", "check", "--fix", "--root", root)
    assert r.returncode == 0, r.stderr
    assert f"relisted: 1\n  {ids[1]}" in r.stdout and f"removed: 1\n  {junk}" in r.stdout, r.stdout
    assert not junk.exists() and set(entry_folders(root)) == set(ids)
    assert sorted(L.load_catalogue(root)["id"]) == sorted(ids)


def test_check_fix_with_no_catalogue_deletes_nothing(library):
    root, ids = library
    (root / L.CATALOGUE).unlink()
    stray = root / "drills" / "d-stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("not an entry, but with no catalogue there is nothing to judge it by")
    L.repair(root=root)
    assert stray.exists() and set(entry_folders(root)) == set(ids) | {"d-stray"}


def test_a_removed_entry_is_not_listed_again(library):
    root, ids = library
    L.remove(ids[0], with_attempts=True, root=root)
    assert set(entry_folders(root)) == {ids[3]}
    assert not any((root / ".trash").iterdir())
    assert L.repair(root=root)["relisted"] == []
    assert list(L.load_catalogue(root)["id"]) == [ids[3]]


# ------------------------------------------------------------------ builds in progress
_ADDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[5])
    from lab import library as L
    from lab.lift import lift_track
    from lab.pose.track import write_track
    from synthetic_pose import standing
    root, video, ready, go = map(Path, sys.argv[1:5])

    def slow_process(video, staging, *, model, source_name=None, track=None):  # the real one extracts the pose
        (staging / "video.mp4").write_bytes(video.read_bytes())
        tr, body = standing(60), lift_track(standing(60))
        write_track(tr, staging / "track.parquet")
        write_track(body, staging / "model.parquet")
        ready.with_suffix(".tmp").write_text(str(staging))
        ready.with_suffix(".tmp").rename(ready)
        while not go.exists():          # the test runs `check --fix` now
            time.sleep(0.05)
        return tr, body

    L._process_video = slow_process
    row = L.add_attempt(video, drill_id=sys.argv[6], player="Cy", overlay=False, root=root)
    print(row["id"])
""")


def _start_adder(tmp_path, root, drill_id):
    video = tmp_path / "attempt.mp4"
    video.write_bytes(VIDEO_BYTES)
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", _ADDER, str(root), str(video), str(ready), str(go), str(TESTS),
                             drill_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the add did not reach its build step"
        time.sleep(0.05)
    return proc, Path(ready.read_text()), go


def test_check_fix_leaves_an_add_in_progress_alone(tmp_path, library):
    root, ids = library
    proc, build, go = _start_adder(tmp_path, root, ids[0])
    try:
        assert L.check_library(root=root)["staging"] == []               # not a leftover
        r = run_lab("library", "check", "--fix", "--root", root)
        assert r.returncode == 0 and f"in_progress: 1\n  {build}" in r.stdout, r.stdout + r.stderr
        assert build.exists() and (build / "track.parquet").exists()
    finally:
        go.write_text("go")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    new_id = out.split()[-1]
    assert new_id in set(L.load_catalogue(root)["id"]) and (root / "attempts" / new_id / "entry.json").exists()
    assert not any((root / ".staging").iterdir())                       # the build and its lock are gone


def test_check_fix_removes_a_build_whose_adder_was_killed(tmp_path, library):
    root, ids = library
    proc, build, go = _start_adder(tmp_path, root, ids[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert L.check_library(root=root)["staging"] == [str(build)]
    found = L.repair(root=root)
    assert found["staging"] == [str(build)] and found["in_progress"] == []
    assert not build.exists() and not any((root / ".staging").iterdir())
    assert sorted(L.load_catalogue(root)["id"]) == sorted(ids)


# ------------------------------------------------------------------ a damaged catalogue
def _damage(root: Path, how: str) -> None:
    path = root / L.CATALOGUE
    table = pq.read_table(path)
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bad_metadata":
        pq.write_table(table.replace_schema_metadata({b"lab.library": b"{schema_version: one"}), path)
    elif how == "version_text":
        pq.write_table(table.replace_schema_metadata({b"lab.library": b'{"schema_version": "1"}'}), path)
    elif how == "missing_column":
        pq.write_table(table.drop(["track"]), path)
    elif how == "wrong_type":
        i = table.schema.get_field_index("score")
        pq.write_table(table.set_column(i, "score", pa.array(["high"] * len(table))), path)
    elif how == "path_outside":
        df = table.to_pandas()
        df.loc[0, "track"] = "../../../etc/passwd"
        pq.write_table(pa.Table.from_pandas(df, schema=table.schema, preserve_index=False), path)
    elif how == "id_with_slash":
        df = table.to_pandas()
        df.loc[0, "id"] = "../drills"
        pq.write_table(pa.Table.from_pandas(df, schema=table.schema, preserve_index=False), path)


DAMAGES = ["truncated", "empty", "bad_metadata", "version_text", "missing_column", "wrong_type", "path_outside",
           "id_with_slash"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_catalogue_is_one_clear_error_and_nothing_changes(library, how):
    root, ids = library
    _damage(root, how)
    for args in (["list"], ["show", ids[1]], ["check"], ["remove", ids[1]]):
        before = snapshot(root)
        r = run_lab("library", *args, "--root", root)
        assert_refused(r, 2, before=before, after=snapshot(root), words="is damaged")


@pytest.mark.parametrize("how", DAMAGES)
def test_check_fix_keeps_a_damaged_catalogue_aside_and_rebuilds_it(library, how):
    root, ids = library
    _damage(root, how)
    damaged = (root / L.CATALOGUE).read_bytes()
    r = run_lab("library", "check", "--fix", "--root", root)
    assert r.returncode == 0 and "relisted: 4" in r.stdout, r.stdout + r.stderr
    kept = list(root.glob("catalogue.damaged-*.parquet"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert sorted(L.load_catalogue(root)["id"]) == sorted(ids) and set(entry_folders(root)) == set(ids)


def test_library_outputs_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        root = tmp_path / "lib"
        d = make_entry(root, "drill")
        a = make_entry(root, "attempt", d["id"])
        (root / L.CATALOGUE).unlink()
        L.repair(root=root)                               # the catalogue written again by repair
    finally:
        os.umask(old)
    files = [root / L.CATALOGUE, *(entry_folders(root)[i] / n for i in (d["id"], a["id"])
                                   for n in ("entry.json", "track.parquet", "model.parquet"))]
    for p in files:
        assert p.stat().st_mode & 0o777 == 0o644, (p, oct(p.stat().st_mode))


def test_library_check_never_prints_more_than_one_error_line_for_a_name_with_newlines(tmp_path):
    root = tmp_path / "lib\nerror: forged"
    root.mkdir()
    (root / L.CATALOGUE).write_bytes(b"PAR1 not really")
    r = run_lab("library", "list", "--root", root)
    line = one_error_line(r)
    assert r.returncode == 2 and "lib\\nerror: forged" in line
