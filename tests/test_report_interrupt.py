"""Interrupting `lab report` at any moment leaves no complete-looking report; the next run succeeds."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.pose.track import write_track

pytestmark = pytest.mark.slow


def _start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(stream, text):
    """Lines read from ``stream`` up to and including the first one holding ``text``."""
    lines = []
    while line := stream.readline():
        lines.append(line)
        if text in line:
            break
    return "".join(lines)


# when: seconds after the command's first line, or the line of the last stage ("page drawn": the page is
# being exported and the outputs moved into place)
@pytest.mark.parametrize("sig,when", [(signal.SIGINT, 3.0), (signal.SIGINT, "page drawn"),
                                      (signal.SIGKILL, 6.0)])
def test_interrupted_report(sample_tracks, tmp_path, sig, when):
    ref = write_track(sample_tracks["pose2sim/cam01.mp4"], tmp_path / "cam01.parquet")
    att = write_track(sample_tracks["pose2sim/cam02.mp4"], tmp_path / "cam02.parquet")
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "lab", "report", str(ref), str(att), "-o", str(out)]
    p = _start(cmd)
    # the clock starts once the command runs (its first line): until lab's entry point has set its
    # handlers, a SIGINT ignored by the parent (a background job's shell) would be ignored here too
    first = p.stderr.readline()
    if isinstance(when, str):
        first += _wait_for(p.stderr, when)
    else:
        time.sleep(when)
    if p.poll() is not None:
        pytest.skip(f"the report finished before {when!r} on this machine; nothing to interrupt")
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    err = first + err
    if sig == signal.SIGKILL:
        with contextlib.suppress(ProcessLookupError):  # the notebook kernel it started goes too
            os.killpg(p.pid, signal.SIGKILL)
    else:
        assert p.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
    assert not (out / "report.html").exists()
    visible = [f.name for f in out.iterdir() if not f.name.startswith(".")] if out.exists() else []
    assert visible == [], f"complete-looking leftovers: {visible}"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").exists() and (out / "report.html").stat().st_size > 100_000

