"""One analysis, computed once: every stage runs once, each is cached, the analysis file round-trips."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest

from lab.io import LabError
from lab.pipeline import STAGE_LOG, Analysis, analyze


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    """An empty stage cache (pose tracks are passed as pose files, so no model is needed)."""
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def pose_files(tmp_path, sample_tracks):
    from lab.pose.track import write_track
    return {n: write_track(sample_tracks[f"pose2sim/{n}.mp4"], tmp_path / f"{n}.parquet")
            for n in ("cam01", "cam02")}


@pytest.fixture()
def counted(monkeypatch):
    """Count the real work: lab.lift.lift_track and lab.align.estimate_view calls."""
    import lab.align
    import lab.lift
    calls = collections.Counter()
    for mod, name in ((lab.lift, "lift_track"), (lab.align, "estimate_view")):
        real = getattr(mod, name)

        def wrapper(*a, _real=real, _name=name, **k):
            calls[_name] += 1
            return _real(*a, **k)
        monkeypatch.setattr(mod, name, wrapper)
    return calls


def _computed(since: int) -> collections.Counter:
    return collections.Counter((e["stage"], e["clip"]) for e in STAGE_LOG[since:] if e["status"] == "computed")


def test_each_stage_runs_once_per_report_and_a_rerun_recomputes_nothing(fresh_cache, pose_files, counted,
                                                                         tmp_path):
    from lab.report import write_report
    first = len(STAGE_LOG)
    write_report(pose_files["cam01"], pose_files["cam02"], tmp_path / "r1", video=False)
    done = _computed(first)
    expected = {(s, c) for s in ("lift", "view", "features") for c in ("reference", "attempt")}
    expected |= {("compare", "pair"), ("ghost", "pair")}
    assert set(done) == expected and set(done.values()) == {1}, done
    assert counted == {"lift_track": 2, "estimate_view": 2}   # each clip lifted once, each view once

    again = len(STAGE_LOG)
    write_report(pose_files["cam01"], pose_files["cam02"], tmp_path / "r2", video=False)
    assert _computed(again) == {}                               # every stage read from the cache
    assert counted == {"lift_track": 2, "estimate_view": 2}
    statuses = collections.Counter(e["status"] for e in STAGE_LOG[again:])
    assert statuses["cached"] == 8


def test_analysis_equals_the_direct_comparison_and_round_trips(fresh_cache, pose_files, sample_tracks, tmp_path):
    from lab.score import compare_tracks
    a = analyze(pose_files["cam01"], pose_files["cam02"])
    direct = compare_tracks(sample_tracks["pose2sim/cam01.mp4"], sample_tracks["pose2sim/cam02.mp4"],
                            reference_path=str(pose_files["cam01"]), attempt_path=str(pose_files["cam02"]))
    assert json.dumps(a.to_dict()) == json.dumps(direct.to_dict())
    cached = analyze(pose_files["cam01"], pose_files["cam02"])     # every stage from the cache
    assert json.dumps(cached.to_dict()) == json.dumps(a.to_dict())
    np.testing.assert_array_equal(cached.path_frames, a.path_frames)
    np.testing.assert_allclose(cached.ghost_px, a.ghost_px)

    folder = a.save(tmp_path / "saved")
    back = Analysis.load(folder)
    assert json.dumps(back.to_dict()) == json.dumps(a.to_dict())
    np.testing.assert_allclose(back.deviation_deg, a.deviation_deg)
    np.testing.assert_allclose(back.ghost_px, a.ghost_px)
    np.testing.assert_array_equal(back.path_frames, a.path_frames)
    np.testing.assert_allclose(back.attempt_body.world_m, a.attempt_body.world_m)
    np.testing.assert_allclose(back.attempt_view.rotation, a.attempt_view.rotation)
    assert back.camera_positions_m.keys() == a.camera_positions_m.keys()
    assert back.comparison.per_step.equals(a.comparison.per_step)
    assert back.notes == a.notes and back.settings == a.settings


def test_a_changed_setting_recomputes_only_the_comparison(fresh_cache, pose_files):
    analyze(pose_files["cam01"], pose_files["cam02"])
    first = len(STAGE_LOG)
    b = analyze(pose_files["cam01"], pose_files["cam02"], threshold=3.0)
    assert set(_computed(first)) == {("compare", "pair"), ("ghost", "pair")}
    assert b.comparison.threshold == 3.0 and b.comparison.verdict == "different"


def test_a_damaged_cache_entry_is_recomputed(fresh_cache, pose_files):
    analyze(pose_files["cam01"], pose_files["cam02"])
    for f in (fresh_cache / "stages" / "lift").glob("*.parquet"):
        f.write_bytes(b"not parquet")
    first = len(STAGE_LOG)
    analyze(pose_files["cam01"], pose_files["cam02"])
    assert _computed(first)[("lift", "reference")] == 1


def test_no_compute_guard(fresh_cache, pose_files, monkeypatch):
    """Where only drawing is allowed (a report notebook's kernel), computing a stage is an error."""
    monkeypatch.setenv("LAB_NO_COMPUTE", "1")
    with pytest.raises(LabError, match="only drawing is allowed"):
        analyze(pose_files["cam01"], pose_files["cam02"])


def test_load_refuses_what_is_not_an_analysis(tmp_path):
    with pytest.raises(LabError, match="not a saved analysis"):
        Analysis.load(tmp_path)
    (tmp_path / "analysis.json").write_text('{"format": "lab.analysis", "version": 99}')
    with pytest.raises(LabError, match="version 99"):
        Analysis.load(tmp_path)


def test_save_never_replaces_a_folder_that_is_not_an_analysis(fresh_cache, pose_files, tmp_path):
    a = analyze(pose_files["cam01"], pose_files["cam02"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(LabError, match="not a saved analysis"):
        a.save(mine)
    assert (mine / "notes.txt").read_text() == "keep"
    a.save(tmp_path / "an")
    a.save(tmp_path / "an")                                          # an analysis is replaced whole
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_library_attempt_reuses_the_drills_stored_model(tmp_path, samples, counted):
    """add-attempt lifts only the attempt; its report is drawn from the stored analysis."""
    from lab import library as L
    root = tmp_path / "lib"
    d = L.add_drill(samples["pose2sim/cam01.mp4"], title="Balance", coach="Ann", root=root)
    counted.clear()
    a = L.add_attempt(samples["pose2sim/cam02.mp4"], drill_id=d["id"], player="Bob", root=root, overlay=False)
    assert counted["lift_track"] <= 1          # the attempt (or nothing, if cached); never the drill
    assert (root / "attempts" / a["id"] / "analysis" / "analysis.json").exists()
    counted.clear()
    first = len(STAGE_LOG)
    page = L.write_attempt_report(a["id"], root=root, video=False)
    assert page.exists() and counted == {} and _computed(first) == {}


def test_a_nan_is_hashed_the_same_whatever_its_sign_so_cached_stages_are_found(tmp_path):
    """0/0 gives a NaN with its sign bit set; a Parquet round trip (pandas 3) gives it back as a plain
    NaN. The features read from the cache must key the comparison as the ones computed did."""
    import dataclasses

    from lab.align.synthetic import synthetic_body_track
    from lab.features import compute_features
    from lab.pipeline import _features_digest, _read_features, _write_features, track_digest

    track = synthetic_body_track(n_frames=20, fps=30.0)
    fs = compute_features(track, lift=False, body=track)
    values = fs.values.copy()
    with np.errstate(invalid="ignore"):
        values[3, 2] = (np.zeros(1) / np.zeros(1))[0]
    assert np.signbit(values[3, 2])
    fs = dataclasses.replace(fs, values=values)
    _write_features(fs, tmp_path / "f.parquet")
    assert _features_digest(_read_features(tmp_path / "f.parquet")) == _features_digest(fs)
    world = track.world_m.copy()
    world[1, 0, 0] = values[3, 2]
    plain = world.copy()
    plain[1, 0, 0] = np.nan
    assert track_digest(track.replace(world_m=world)) == track_digest(track.replace(world_m=plain))
    assert track_digest(track.replace(world_m=world)) != track_digest(track)
