"""The command line: outputs, and one clear line + exit code on bad input."""

import subprocess
import sys

import pytest


def run_lab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.mark.parametrize("kind", ["text", "image", "random", "empty", "missing", "directory"])
def test_extract_bad_input_exits_non_zero_with_one_line_and_writes_nothing(tmp_path, kind):
    import numpy as np
    target = tmp_path / "in.mp4"
    if kind == "text":
        target.write_text("hello, I am not a video\n")
    elif kind == "image":
        import cv2
        target = tmp_path / "photo.png"
        cv2.imwrite(str(target), np.full((64, 64, 3), 128, np.uint8))
    elif kind == "random":
        target.write_bytes(np.random.default_rng(1).bytes(50_000))
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "directory":
        target = tmp_path / "adir"
        target.mkdir()
    out = tmp_path / "out.parquet"
    before = set(tmp_path.rglob("*"))
    r = run_lab("extract", target, "-o", out)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    assert not out.exists()
    assert set(tmp_path.rglob("*")) == before


def test_extract_writes_a_pose_file(samples, tmp_path):
    from lab.pose.track import read_track
    out = tmp_path / "cam01.parquet"
    r = run_lab("extract", samples["pose2sim/cam01.mp4"], "-o", out)
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout
    tr = read_track(out)
    assert tr.n_frames == 100 and tr.meta["model"] == "pose_landmarker_full"
    assert tr.meta["sha256"] and tr.meta["width"] == 1080 and tr.meta["height"] == 1920


def test_models_lists_the_cached_full_model(samples):
    from lab.pose.models import ensure_model
    ensure_model("full")
    r = run_lab("models")
    assert r.returncode == 0
    line = next(l for l in r.stdout.splitlines() if l.startswith("full"))
    assert " ok " in line and "source:" in line


_LATE_SIGINT = """
import os, signal, sys, time
class Late:  # torn down as Python finalizes, after it gave SIGINT its default action back
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
late = Late()
from lab.cli import exit_with, main
signal.signal(signal.SIGINT, signal.default_int_handler)  # as main() sets it
{end}
"""


@pytest.mark.parametrize("end,rc", [("sys.exit(0)", -2), ("exit_with(0)", 0), ("exit_with(3)", 3)])
def test_a_ctrl_c_during_teardown_keeps_the_commands_exit_code(end, rc):
    """The first case shows what the entry point guards against: the process dies of the signal."""
    r = subprocess.run([sys.executable, "-c", _LATE_SIGINT.format(end=end)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == rc, r.stderr
