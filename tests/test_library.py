"""The coach/player library: add, list, compare from stored tracks, remove, crash safety, migration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from lab import library as L
from lab.io import LabError


# ------------------------------------------------------------------ uploads (known answers)
@pytest.mark.parametrize("header,kind", [
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "mp4"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81", "matroska"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "avi"),
    (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01\x01\x89", "mpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    (b"hello, I am not a video", None),
    (b"", None),
])
def test_sniff_video_container_known_headers(header, kind):
    assert L.sniff_video_container(header) == kind


def test_check_video_upload_rejects_with_one_clear_line(samples):
    head = samples["pose2sim/cam01.mp4"].read_bytes()[:64]
    assert L.check_video_upload("drill.mp4", head, size_bytes=1000) == "mp4"
    cases = {"photo.png": (head, 1000, "not a video file type"),
             "clip.mp4": (b"hello, I am not a video at all", 1000, "does not start like a video"),
             "big.mp4": (head, 300 * 2**20, "limit is 200 MB"),
             "empty.mov": (head, 0, "empty")}
    for name, (h, size, words) in cases.items():
        with pytest.raises(LabError) as e:
            L.check_video_upload(name, h, size_bytes=size)
        assert words in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ the main story
def test_add_list_compare_remove(tmp_path, samples, monkeypatch):
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance on one leg", coach="Ann",
                    tags=["balance", "one leg"], camera_notes="front-right, 3 m", root=root)
    a1 = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    a2 = L.add_attempt(samples["sports2d/demo.mp4"], drill_id=d["id"], player="Cy", root=root)

    cat = L.load_catalogue(root)
    assert list(cat["id"]) == [d["id"], a1["id"], a2["id"]]
    assert list(L.list_drills(root=root)["id"]) == [d["id"]]
    assert list(L.list_attempts(drill_id=d["id"], root=root)["id"]) == [a1["id"], a2["id"]]
    drill = L.show(d["id"], root=root)
    assert drill["tags"] == ["balance", "one leg"] and drill["attempts"] == [a1["id"], a2["id"]]
    assert drill["video_sha256"] == L.sha256_file(samples["pose2sim/cam01.mp4"])
    assert L.read_entry_track(d["id"], which="model", root=root).frame == "body"
    assert L.read_entry_track(d["id"], root=root).frame == "camera"

    # same man, same movement from another side -> same; jumping jacks + flip -> different
    assert a1["verdict"] == "same" and a1["score"] > 50
    assert a2["verdict"] == "different" and a2["score"] < a1["score"]
    s1 = L.show(a1["id"], root=root)
    assert s1["result"]["verdict"] == "same" and s1["result"]["score"] == pytest.approx(a1["score"], abs=1e-3)
    assert s1["overlay_path"] and (root / "attempts" / a1["id"] / "overlay.png").stat().st_size > 1000
    # each attempt's repetitions are stored with it: one balance in cam02, none in the jumping jacks
    assert s1["result"]["repetitions"]["rep_count"] == 1
    assert s1["result"]["repetitions"]["reps"][0]["verdict"] == "same"
    assert L.show(a2["id"], root=root)["result"]["repetitions"]["rep_count"] == 0

    # the library result equals comparing the two videos directly
    from lab.pose.extract import extract_pose_cached
    from lab.score import compare_tracks
    direct = compare_tracks(extract_pose_cached(samples["pose2sim/cam01.mp4"], progress=False),
                            extract_pose_cached(samples["pose2sim/cam02.mp4"], progress=False))
    assert direct.score == pytest.approx(a1["score"], rel=1e-9)

    # comparisons read stored tracks only: no video, no extraction allowed
    (root / d["video"]).unlink()
    (root / a1["video"]).unlink()

    def no_extraction(*a, **k):
        raise AssertionError("re-extraction attempted")
    import lab.pose.extract as ex
    monkeypatch.setattr(ex, "extract_pose", no_extraction)
    monkeypatch.setattr(ex, "extract_pose_cached", no_extraction)
    again = L.recompare(a1["id"], root=root)
    assert again.verdict == "same" and again.score == pytest.approx(a1["score"], rel=1e-9)
    monkeypatch.undo()

    # remove: a drill with attempts is refused, an attempt goes with its folder
    with pytest.raises(LabError, match="has 2 attempt"):
        L.remove(d["id"], root=root)
    assert L.remove(a2["id"], root=root) == [a2["id"]]
    assert list(L.load_catalogue(root)["id"]) == [d["id"], a1["id"]]
    assert not (root / "attempts" / a2["id"]).exists()
    with pytest.raises(LabError, match="no drill or attempt"):
        L.show(a2["id"], root=root)
    assert L.remove(d["id"], with_attempts=True, root=root) == [d["id"], a1["id"]]
    assert L.load_catalogue(root).empty and L.check_library(root=root) == {"orphans": [], "staging": [],
                                                                            "missing": []}


def test_duplicate_drill_and_bad_inputs_are_refused(tmp_path, samples):
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    with pytest.raises(LabError, match=f"already the drill {d['id']}"):
        L.add_drill(samples["pose2sim/cam01.mp4"], title="Again", coach="Ann", root=root)
    with pytest.raises(LabError, match="no drill or attempt"):
        L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id="d-nope", player="Bob", root=root)
    txt = tmp_path / "notes.mp4"
    txt.write_text("not a video")
    with pytest.raises(LabError, match="does not start like a video"):
        L.add_attempt(txt, drill_id=d["id"], player="Bob", root=root)
    assert len(L.load_catalogue(root)) == 1


# ------------------------------------------------------------------ crash safety
def test_failure_during_add_leaves_catalogue_intact(tmp_path, samples, monkeypatch):
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    before = (root / L.CATALOGUE).read_bytes()

    # (1) a step in the middle of processing fails
    def broken(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(L, "analyze_with_drill", broken)
    with pytest.raises(RuntimeError):
        L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    monkeypatch.undo()
    # (2) the catalogue write itself is interrupted after the folder was moved into place
    real = L._write_catalogue

    def interrupted(root_, df):
        raise KeyboardInterrupt
    monkeypatch.setattr(L, "_write_catalogue", interrupted)
    with pytest.raises(KeyboardInterrupt):
        L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    monkeypatch.setattr(L, "_write_catalogue", real)

    assert (root / L.CATALOGUE).read_bytes() == before
    assert list(L.load_catalogue(root)["id"]) == [d["id"]]
    assert L.check_library(root=root) == {"orphans": [], "staging": [], "missing": []}
    assert not any((root / "attempts").glob("*")) if (root / "attempts").exists() else True
    # and the library still works afterwards
    a = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    assert list(L.load_catalogue(root)["id"]) == [d["id"], a["id"]]


def test_process_killed_mid_add_is_never_listed(tmp_path, samples):
    """SIGKILL at the worst moment (entry folder renamed into place, catalogue not yet written)."""
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    script = textwrap.dedent(f"""
        import os, signal
        from lab import library as L
        def die(root, df):
            os.kill(os.getpid(), signal.SIGKILL)
        L._write_catalogue = die
        L.add_attempt({str(samples["pose2sim/cam02.mp4"])!r}, drill_id={d["id"]!r}, player="Bob",
                      overlay=False, root={str(root)!r})
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert r.returncode == -9, r.stderr
    cat = L.load_catalogue(root)
    assert list(cat["id"]) == [d["id"]]                     # no half-added entry
    assert L.list_attempts(root=root).empty                  # the orphan is not presented
    found = L.check_library(root=root)
    assert len(found["orphans"]) == 1 and "/attempts/a-" in found["orphans"][0]
    L.repair(root=root)
    assert L.check_library(root=root) == {"orphans": [], "staging": [], "missing": []}


# ------------------------------------------------------------------ migration
def test_migrate_v0_catalogue(tmp_path, samples, sample_tracks):
    from lab.pose.track import write_track

    root = tmp_path / "lib"
    dd, ad = root / "drills" / "d-old1", root / "attempts" / "a-old1"
    dd.mkdir(parents=True)
    ad.mkdir(parents=True)
    shutil.copyfile(samples["pose2sim/cam01.mp4"], dd / "video.mp4")
    write_track(sample_tracks["pose2sim/cam01.mp4"], dd / "track.parquet")
    shutil.copyfile(samples["pose2sim/cam02.mp4"], ad / "video.mp4")
    write_track(sample_tracks["pose2sim/cam02.mp4"], ad / "track.parquet")
    (ad / "result.json").write_text(json.dumps({"score": 69.5, "verdict": "same", "distance": 6.34,
                                                "mirrored": False}))
    v0 = pd.DataFrame([
        dict(id="d-old1", kind="drill", title="Balance", coach="Ann", player=None, drill_id=None,
             tags="balance, one leg", video="drills/d-old1/video.mp4", track="drills/d-old1/track.parquet",
             created="2025-06-01 10:00:00", score=np.nan, verdict=None, result=None),
        dict(id="a-old1", kind="attempt", title="Balance", coach="Ann", player="Bob", drill_id="d-old1",
             tags="", video="attempts/a-old1/video.mp4", track="attempts/a-old1/track.parquet",
             created="2025-06-02 11:30:00", score=69.5, verdict="same", result="attempts/a-old1/result.json"),
    ])
    v0.to_parquet(root / L.CATALOGUE, index=False)   # the prototype wrote plain pandas Parquet
    assert L.catalogue_version(root) == 0
    with pytest.raises(LabError, match="migrate"):
        L.load_catalogue(root)

    assert L.migrate(root=root) == 0
    assert L.catalogue_version(root) == L.SCHEMA_VERSION
    assert (root / "catalogue.v0.parquet").exists()
    cat = L.load_catalogue(root)
    assert list(cat["id"]) == ["d-old1", "a-old1"]
    drill, att = cat.iloc[0], cat.iloc[1]
    assert list(drill["tags"]) == ["balance", "one leg"] and list(att["tags"]) == []
    assert drill["created_utc"] == "2025-06-01T10:00:00+00:00"
    assert drill["video_sha256"] == L.sha256_file(samples["pose2sim/cam01.mp4"])
    assert att["distance"] == pytest.approx(6.34) and att["mirrored"] == False  # noqa: E712
    assert drill["frames"] == 100 and drill["fps"] == pytest.approx(60.0, rel=1e-3)
    assert L.read_entry_track("d-old1", which="model", root=root).frame == "body"
    assert L.migrate(root=root) == L.SCHEMA_VERSION       # idempotent
    # the migrated library is fully usable: stored-track comparison works
    assert L.recompare("a-old1", root=root).verdict == "same"


# ------------------------------------------------------------------ CLI
def test_library_cli(tmp_path, samples):
    def lab(*args):
        return subprocess.run([sys.executable, "-m", "lab", "library", *map(str, args), "--root", tmp_path],
                              capture_output=True, text=True, timeout=300)
    r = lab("add-drill", samples["pose2sim/cam01.mp4"], "--title", "Balance", "--coach", "Ann", "--tag", "x")
    assert r.returncode == 0, r.stderr
    drill_id = r.stdout.split()[0]
    r = lab("add-attempt", samples["pose2sim/cam02.mp4"], "--drill", drill_id, "--player", "Bob")
    assert r.returncode == 0 and "verdict: SAME" in r.stdout, r.stdout + r.stderr
    attempt_id = r.stdout.split()[0]
    r = lab("list", "--attempts")
    assert r.returncode == 0 and attempt_id in r.stdout and drill_id not in r.stdout.split()[0]
    r = lab("show", attempt_id)
    assert json.loads(r.stdout)["result"]["verdict"] == "same"
    r = lab("remove", drill_id)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    r = lab("add-attempt", samples["pose2sim/cam02.mp4"], "--drill", "d-missing", "--player", "Bob")
    assert r.returncode == 2 and "no drill or attempt" in r.stderr
    r = lab("remove", drill_id, "--with-attempts")
    assert r.returncode == 0 and lab("list").stdout.strip() == ""


def test_concurrent_adds_from_two_processes_are_both_kept(tmp_path, samples):
    """Two processes adding attempts at the same time: the catalogue lock keeps both rows."""
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    script = textwrap.dedent("""
        import sys, time
        from lab import library as L
        write = L._write_catalogue
        def slow_write(root, df):   # widen the read-modify-write window: without the lock one row is lost
            time.sleep(1.5)
            write(root, df)
        L._write_catalogue = slow_write
        L.add_attempt(sys.argv[1], drill_id=sys.argv[2], player=sys.argv[3], overlay=False, root=sys.argv[4])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(samples[f"pose2sim/{cam}.mp4"]), d["id"], player,
                               str(root)], stderr=subprocess.PIPE, text=True)
             for cam, player in (("cam02", "Bob"), ("cam03", "Cy"))]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    att = L.list_attempts(root=root)
    assert sorted(att["player"]) == ["Bob", "Cy"] and (att["verdict"] == "same").all()
    assert L.check_library(root=root) == {"orphans": [], "staging": [], "missing": []}


# ------------------------------------------------------------------ sided drills
def test_a_sided_drill_compares_without_the_mirror_image_and_can_be_changed(tmp_path, samples):
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Kick, right foot", coach="Ann", sided=True, root=root)
    assert d["sided"] is True and L.drill_mirror(d["id"], root=root) == "no"
    assert L.show(d["id"], root=root)["sided"] is True
    a1 = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    r1 = L.show(a1["id"], root=root)["result"]
    assert r1["settings"]["mirror"] == "no" and r1["mirrored"] is False
    assert sorted(r1["distances_tried"]) == sorted(k for k in r1["distances_tried"] if k.startswith("plain@"))

    # changed later: the catalogue and the entry.json (what `check --fix` lists again from) both say so
    assert L.set_drill_sided(d["id"], False, root=root)["sided"] is False
    assert json.loads((root / "drills" / d["id"] / "entry.json").read_text())["sided"] is False
    assert L.drill_mirror(d["id"], root=root) == "auto"
    a2 = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    r2 = L.show(a2["id"], root=root)["result"]
    assert r2["settings"]["mirror"] == "auto" and any(k.startswith("mirrored@") for k in r2["distances_tried"])
    assert L.show(a1["id"], root=root)["result"]["settings"]["mirror"] == "no"   # added before: kept as it was
    # an explicit mirror still wins over the drill's setting
    L.set_drill_sided(d["id"], True, root=root)
    a3 = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", mirror="auto", root=root)
    assert L.show(a3["id"], root=root)["result"]["settings"]["mirror"] == "auto"
    with pytest.raises(LabError, match="not a drill"):
        L.set_drill_sided(a1["id"], True, root=root)
    with pytest.raises(LabError, match="no drill or attempt"):
        L.set_drill_sided("d-nope", True, root=root)
    # lab batch --library compares a sided drill's attempts without the mirror image too
    from lab.batch import library_items
    assert {i["mirror"] for i in library_items(root=root)} == {"no"}


def test_a_library_from_before_sided_drills_keeps_working(tmp_path, samples):
    import pyarrow.parquet as pq
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    # as an earlier version-1 lab wrote them: no sided column, no sided field in entry.json
    table = pq.read_table(root / L.CATALOGUE)
    pq.write_table(table.drop(["sided"]).replace_schema_metadata(table.schema.metadata), root / L.CATALOGUE)
    entry = root / "drills" / d["id"] / "entry.json"
    old = json.loads(entry.read_text())
    old.pop("sided")
    entry.write_text(json.dumps(old))
    assert "sided" not in pq.read_schema(root / L.CATALOGUE).names
    cat = L.load_catalogue(root)
    assert cat.loc[0, "sided"] == False and L.drill_mirror(d["id"], root=root) == "auto"  # noqa: E712
    a = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root)
    assert L.show(a["id"], root=root)["result"]["settings"]["mirror"] == "auto"
    assert "sided" in pq.read_schema(root / L.CATALOGUE).names            # written on the next change
    # a lost catalogue is rebuilt from entry.json files with and without the field
    (root / L.CATALOGUE).unlink()
    assert sorted(L.repair(root=root)["relisted"]) == sorted([d["id"], a["id"]])
    assert L.load_catalogue(root).set_index("id").loc[d["id"], "sided"] == False  # noqa: E712


def test_library_cli_marks_a_drill_sided_and_lists_it(tmp_path, samples):
    def lab(*args):
        return subprocess.run([sys.executable, "-m", "lab", "library", *map(str, args), "--root", tmp_path],
                              capture_output=True, text=True, timeout=300)
    r = lab("add-drill", samples["pose2sim/cam01.mp4"], "--title", "Kick", "--coach", "Ann", "--sided")
    assert r.returncode == 0 and "sided" in r.stdout, r.stderr
    drill_id = r.stdout.split()[0]
    r = lab("list", "--drills")
    assert r.returncode == 0 and r.stdout.split()[:2] == [drill_id, "drill"] and "  sided  " in r.stdout
    assert json.loads(lab("list", "--json").stdout.splitlines()[0])["sided"] is True
    r = lab("edit", drill_id, "--not-sided")
    assert r.returncode == 0 and "not sided" in r.stdout, r.stderr
    assert "  sided  " not in lab("list", "--drills").stdout
    assert json.loads(lab("list", "--json").stdout.splitlines()[0])["sided"] is False
    r = lab("edit", drill_id)
    assert r.returncode == 2 and r.stderr.startswith("error: nothing to change")
