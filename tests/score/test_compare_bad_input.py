"""Comparisons on weak or unusable evidence: a clear error, or an 'uncertain' verdict that says why."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lab.pose.track import write_track

pytestmark = pytest.mark.slow


def _blank(track, sel):
    t = track.replace(image_px=track.image_px.copy(), world_m=track.world_m.copy(),
                      visibility=track.visibility.copy(), presence=track.presence.copy(),
                      image_z=track.image_z.copy(), meta=dict(track.meta))
    for a in (t.image_px, t.world_m, t.image_z):
        a[sel] = np.nan
    t.visibility[sel] = 0
    t.presence[sel] = 0
    return t


def _compare(*args):
    return subprocess.run([sys.executable, "-m", "lab", "compare", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def test_all_nan_clip_is_refused_with_one_line(sample_tracks, tmp_path):
    ref = write_track(_blank(sample_tracks["pose2sim/cam01.mp4"], slice(None)), tmp_path / "nobody.parquet")
    att = write_track(sample_tracks["pose2sim/cam02.mp4"], tmp_path / "cam02.parquet")
    r = _compare(ref, att, "--json")
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no valid landmarks" in lines[0]


def test_clips_seen_in_disjoint_times_get_an_uncertain_verdict_that_says_why(sample_tracks, tmp_path):
    # the coach is visible only in the first 0.67 s, the player only in the last 0.67 s
    ref = write_track(_blank(sample_tracks["pose2sim/cam01.mp4"], slice(40, None)), tmp_path / "first.parquet")
    att = write_track(_blank(sample_tracks["pose2sim/cam02.mp4"], slice(0, 60)), tmp_path / "second.parquet")
    r = _compare(ref, att, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["verdict"] == "uncertain"
    assert any("found on only 40%" in w for w in d["warnings"])
    text = _compare(ref, att)
    assert "UNCERTAIN" in text.stdout and "note: a person was found on only 40%" in text.stdout


def test_a_clip_with_a_handful_of_frames_is_uncertain_not_confident(sample_tracks, tmp_path):
    ref = write_track(_blank(sample_tracks["pose2sim/cam01.mp4"], slice(10, None)), tmp_path / "tiny.parquet")
    att = write_track(sample_tracks["pose2sim/cam02.mp4"], tmp_path / "cam02.parquet")
    d = json.loads(_compare(ref, att, "--json").stdout)
    assert d["verdict"] == "uncertain" and d["warnings"]
