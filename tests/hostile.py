"""Checks shared by the hostile-input tests: run ``lab``, then one ``error:`` line, the exit code, no
traceback, and nothing written or deleted under the folders watched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_lab(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file and folder under ``folders``: kind, size, mtime and mode (what changed shows up)."""
    out = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (p.is_dir(), st.st_size if not p.is_dir() else 0, st.st_mtime_ns, st.st_mode)
    return out


def one_error_line(r: subprocess.CompletedProcess) -> str:
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    return lines[0]


def assert_refused(r: subprocess.CompletedProcess, code: int, *, before: dict, after: dict,
                   words: str | None = None) -> str:
    """Exit ``code`` (2 bad input or 4 nothing usable), one ``error:`` line (holding ``words``),
    no traceback, and the watched folders exactly as they were."""
    line = one_error_line(r)
    assert r.returncode == code, (r.returncode, line)
    assert "run with --debug" not in line, f"an unexpected exception, not a clear error: {line}"
    if words is not None:
        assert words in line, line
    assert after == before, {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                             "changed": sorted(k for k in set(after) & set(before) if after[k] != before[k])}
    return line
