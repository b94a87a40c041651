"""Batch runs on a local Dask cluster: same results as each item alone, failures isolated, resumable."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from lab.batch import RESULT_JSON, folder_items, library_items, process_item, run_batch


@pytest.fixture()
def clips(tmp_path, samples):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("pose2sim/cam01.mp4", "pose2sim/cam02.mp4", "pose2sim/cam03.mp4", "sports2d/demo.mp4"):
        shutil.copyfile(samples[name], folder / name.split("/")[1])
    (folder / "broken.mp4").write_bytes(b"this is not a video, just text pretending")
    (folder / "notes.txt").write_text("not an item")
    return folder


def test_batch_on_local_dask_equals_items_alone_and_resumes(tmp_path, clips):
    items = folder_items(clips, reference=clips / "cam01.mp4")
    assert [i["name"] for i in items] == ["broken", "cam02", "cam03", "demo"]   # reference and .txt left out

    out = tmp_path / "out"
    seen = []
    df = run_batch(items, out, n_workers=2, progress=seen.append)
    assert len(df) == 4 and sorted(r["name"] for r in seen) == ["broken", "cam02", "cam03", "demo"]
    table = pd.read_csv(out / "results.csv").set_index("name")
    assert table.loc["broken", "status"] == "failed" and "not a video" in table.loc["broken", "error"]
    assert (table.drop("broken")["status"] == "ok").all()
    assert pd.read_parquet(out / "results.parquet")["name"].tolist() == sorted(table.index)

    # each item alone, in this process, gives the same numbers
    alone = {i["name"]: process_item(i, tmp_path / "alone") for i in items}
    for name, row in alone.items():
        if name == "broken":
            assert row["status"] == "failed"
            continue
        assert row["verdict"] == table.loc[name, "verdict"]
        assert row["score"] == pytest.approx(table.loc[name, "score"], abs=1e-9)
        assert row["distance"] == pytest.approx(table.loc[name, "distance"], abs=1e-9)
    assert table.loc["cam02", "verdict"] == "same" and table.loc["demo", "verdict"] == "different"

    # resume: finished items are skipped (not recomputed), the failed one is retried
    for name in ("cam02", "cam03", "demo"):
        assert (out / "items" / name / "model.parquet").exists()
    (out / "items" / "cam03" / RESULT_JSON).unlink()        # as if the run stopped before cam03 finished
    mtime = (out / "items" / "cam02" / RESULT_JSON).stat().st_mtime_ns
    df2 = run_batch(items, out, n_workers=1, progress=False).set_index("name")
    assert df2.loc["cam02", "skipped"] and df2.loc["demo", "skipped"]
    assert not df2.loc["cam03", "skipped"] and not df2.loc["broken", "skipped"]
    assert (out / "items" / "cam02" / RESULT_JSON).stat().st_mtime_ns == mtime
    assert df2.loc["cam03", "score"] == pytest.approx(table.loc["cam03", "score"], abs=1e-9)


def test_batch_over_the_library_and_cli(tmp_path, samples):
    from lab import library as L

    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    a = L.add_attempt(samples["pose2sim/cam04.mp4"], drill_id=d["id"], player="Bob", overlay=False, root=root)
    items = library_items(root=root)
    assert [i["name"] for i in items] == [a["id"]] and items[0]["attempt"].endswith("track.parquet")
    r = subprocess.run([sys.executable, "-m", "lab", "batch", "--library", "--root", root, "-o", tmp_path / "b",
                        "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(tmp_path / "b" / "results.csv").iloc[0]
    assert row["name"] == a["id"] and row["verdict"] == a["verdict"]
    assert row["score"] == pytest.approx(a["score"], abs=1e-9)    # stored tracks give the library's answer
    r = subprocess.run([sys.executable, "-m", "lab", "batch", tmp_path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: ")


def test_batch_on_a_given_scheduler_address(tmp_path, samples):
    """--scheduler tcp://...: a separately started Dask scheduler and worker (localhost only)."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                              "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from dask.distributed import Client
        with Client(address, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        items = [{"name": "cam02", "attempt": str(samples["pose2sim/cam02.mp4"]),
                  "reference": str(samples["pose2sim/cam01.mp4"]), "reference_video": None}]
        t0 = time.monotonic()
        df = run_batch(items, tmp_path / "out", scheduler=address, progress=False)
        assert time.monotonic() - t0 < 120
        alone = process_item(items[0], tmp_path / "alone")
        assert df.iloc[0]["status"] == "ok" and df.iloc[0]["verdict"] == alone["verdict"] == "same"
        assert df.iloc[0]["score"] == pytest.approx(alone["score"], abs=1e-9)
    finally:
        for p in (worker, sched):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def test_unreachable_scheduler_is_one_clear_error(tmp_path, samples):
    from lab.io import LabError

    items = [{"name": "cam02", "attempt": str(samples["pose2sim/cam02.mp4"]),
              "reference": str(samples["pose2sim/cam01.mp4"]), "reference_video": None}]
    with pytest.raises(LabError, match="cannot reach the Dask scheduler"):
        run_batch(items, tmp_path / "out", scheduler="tcp://127.0.0.1:9", progress=False,
                  connect_timeout_s=3)


def test_batch_item_with_report_writes_the_page_for_its_own_verdict(tmp_path, samples):
    """``lab batch --report``: each item's report sits in its folder and says the item's own verdict."""
    import json
    import re

    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("pose2sim/cam01.mp4", "pose2sim/cam02.mp4"):
        shutil.copyfile(samples[name], folder / name.split("/")[1])
    items = folder_items(folder, reference=folder / "cam01.mp4")
    assert [i["name"] for i in items] == ["cam02"]
    row = process_item(items[0], tmp_path / "out", report=True)
    assert row["status"] == "ok", row["error"]
    page = tmp_path / "out" / "items" / "cam02" / "report" / "report.html"
    assert row["report"] == str(page) and page.exists()
    text = page.read_text(encoding="utf-8")
    assert re.search(rf"Same movement</b> (?:&mdash;|\u2014) score <b>{row['score']:.0f}</b>/100", text)
    from lab.pipeline import Analysis
    saved = Analysis.load(page.parent / "analysis")
    assert saved.comparison.verdict == row["verdict"] == "same"
    assert json.loads((tmp_path / "out" / "items" / "cam02" / RESULT_JSON).read_text())["row"]["verdict"] == "same"


def test_a_result_is_reused_only_for_the_same_inputs_and_settings(tmp_path, samples):
    """Stale results never come back as "(done before)": another threshold, another mirror setting,
    or another reference file at the same path recompute the item."""
    folder = tmp_path / "clips"
    folder.mkdir()
    ref = tmp_path / "ref.mp4"
    shutil.copyfile(samples["pose2sim/cam01.mp4"], ref)
    shutil.copyfile(samples["pose2sim/cam02.mp4"], folder / "cam02.mp4")
    items = folder_items(folder, reference=ref)
    out = tmp_path / "out"
    first = run_batch(items, out, n_workers=1, progress=False).set_index("name")
    assert not first.loc["cam02", "skipped"]
    assert run_batch(items, out, n_workers=1, progress=False).set_index("name").loc["cam02", "skipped"]
    other = run_batch(items, out, n_workers=1, progress=False, threshold=3.0, mirror="no").set_index("name")
    assert not other.loc["cam02", "skipped"] and other.loc["cam02", "verdict"] == "different"
    shutil.copyfile(samples["pose2sim/cam03.mp4"], ref)                 # same path, other content
    again = run_batch(items, out, n_workers=1, progress=False, threshold=3.0, mirror="no").set_index("name")
    assert not again.loc["cam02", "skipped"]


def test_batch_with_repetitions_writes_one_row_per_repetition(tmp_path, sample_tracks):
    """``--reps``: each item's repetitions in ``repetitions.csv`` (Sports2D against itself: two jumping jacks)."""
    from lab.batch import repetition_rows, write_results
    from lab.pose.track import write_track

    demo = write_track(sample_tracks["sports2d/demo.mp4"], tmp_path / "demo.parquet")
    item = {"name": "demo", "attempt": str(demo), "reference": str(demo)}
    out = tmp_path / "out"
    row = process_item(item, out, reps=True)
    assert row["status"] == "ok" and row["rep_count"] == 2 and row["count_sure"] is True
    write_results([row], out)
    reps = pd.read_csv(out / "repetitions.csv")
    assert reps["name"].tolist() == ["demo"] * len(reps) and reps["index"].tolist() == list(range(1, len(reps) + 1))
    assert int((~reps["partial"]).sum()) == 2
    assert set(reps["verdict"]) <= {"same", "different", "uncertain", "partial"}
    plain = process_item(item, tmp_path / "plain")
    assert plain["rep_count"] is None and repetition_rows([plain], tmp_path / "plain") == []
