"""Outputs get the permissions any new file gets under the umask (0644 under 022), not mkstemp's 0600;
and the one containment helper for served or written paths (more in tests/test_app_paths.py)."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from synthetic_pose import standing

from lab.io import atomic_path, default_file_mode, write_bytes_atomic
from lab.pose.mocap import write_trc
from lab.pose.track import write_track


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writers_follow_the_umask(tmp_path, mask, mode):
    tr = standing(30)
    body = tr.replace(world_m=tr.world_m * np.array([1.0, -1.0, -1.0]), frame="lab")
    with umask(mask):
        assert default_file_mode() == mode
        write_bytes_atomic(tmp_path / "result.json", b"{}")
        with atomic_path(tmp_path / "results.csv") as tmp:
            tmp.write_text("name,score\n")
        write_track(tr, tmp_path / "track.parquet")
        write_trc(body, tmp_path / "track.trc")
        write_bytes_atomic(tmp_path / "result.json", b"{\"again\": 1}")      # replacing keeps it normal
    for name in ("result.json", "results.csv", "track.parquet", "track.trc"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, (name, oct((tmp_path / name).stat().st_mode))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporaries left
