"""Shared fixtures: the repo root, ../shared ground truth, the samples and their pose tracks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import REPO, shared_path  # noqa: F401  (re-exported for fixtures)

# Tests use their own cache unless the caller chose one: a fresh clone then
# rebuilds the models and re-extracts the samples (nothing borrowed from the
# machine's user cache), and later runs in the same checkout reuse it.
os.environ.setdefault("LAB_CACHE_DIR", str(REPO / ".pytest_cache" / "lab-cache"))
# The samples (and a library given no root) live in the checkout's data/ whichever folder a test runs
# lab in (lab's own default is the current directory's data/).
os.environ.setdefault("LAB_DATA_DIR", str(REPO / "data"))


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    from lab.samples import ensure_samples
    return ensure_samples()


@pytest.fixture(scope="session")
def sample_tracks(samples):
    """Pose tracks of the five sample clips (full model, cached)."""
    from lab.pose.extract import extract_pose_cached
    return {name: extract_pose_cached(path, progress=False)
            for name, path in samples.items() if name.endswith(".mp4")}
