"""Usage errors and hostile names on the command line: exit 2, one `error:` line without an exception class,
no traceback, nothing written; control characters in names cannot forge extra lines."""

from __future__ import annotations

import re

import pytest
from hostile import assert_refused, one_error_line, run_lab, snapshot
from synthetic_pose import standing

from lab.pose.track import write_track

USAGE = [
    ([], "no command given"),
    (["library"], "no command given"),
    (["compare"], "Missing argument 'reference'"),
    (["compare", "a.parquet"], "Missing argument 'attempt'"),
    (["extract"], "Missing argument 'video'"),
    (["extract", "-rf.mp4"], "No such option: -r"),
    (["extract", "clip.mp4", "--max-side", "-5"], "Invalid value for '--max-side'"),
    (["nosuch"], "No such command 'nosuch'"),
    (["compare", "a.parquet", "b.parquet", "--threshold", "abc"], "Invalid value for '--threshold'"),
    (["compare", "a.parquet", "b.parquet", "--mirror"], "requires an argument"),
    (["compare", "a.parquet", "b.parquet", "--bogus"], "No such option: --bogus"),
    (["library", "show"], "Missing argument"),
    (["library", "add-attempt", "clip.mp4"], "Missing option '--drill'"),
    (["app", "--port", "http"], "Invalid value for '--port'"),
]


@pytest.mark.parametrize("args,words", USAGE, ids=[" ".join(a) or "(none)" for a, _ in USAGE])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, words):
    before = snapshot(tmp_path)
    r = run_lab(*args, cwd=tmp_path)
    line = assert_refused(r, 2, before=before, after=snapshot(tmp_path), words=words)
    assert not re.search(r"\b(MissingParameter|NoSuchOption|UsageError|BadParameter|NoArgsIsHelpError|"
                         r"BadOptionUsage|ClickException)\b", line), line
    if args in ([], ["library"]):
        assert "Usage:" in r.stdout           # the help, then the one error line


def test_a_file_name_starting_with_a_dash_gets_a_hint(tmp_path):
    r = run_lab("extract", "-rf.mp4", cwd=tmp_path)
    assert r.returncode == 2 and "after --" in one_error_line(r)


@pytest.mark.parametrize("name", ["pose\nerror: forged second line.parquet", "pose\r\nerror: forged.parquet",
                                  "pose\x1b[2K\x1b[1Aerror: forged.parquet", "pose\u2028error: forged.parquet"])
def test_control_characters_in_names_cannot_forge_error_lines(tmp_path, name):
    good = tmp_path / "good.parquet"
    write_track(standing(60), good)
    bad = tmp_path / name
    bad.write_bytes(b"not parquet")
    before = snapshot(tmp_path)
    for args in (["compare", bad, good], ["compare", tmp_path / ("missing " + name), good]):
        r = run_lab(*args)
        line = assert_refused(r, 2, before=before, after=snapshot(tmp_path))
        assert "\x1b" not in r.stderr and "\r" not in r.stderr and "\u2028" not in r.stderr
        assert "forged" in line and ("\\n" in line or "\\x1b" in line or "\\u2028" in line), line
