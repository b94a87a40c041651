"""Helpers importable from any test (``from helpers import shared_path``)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()


def shared_path(*parts: str) -> Path:
    """A file under ../shared (ground truth beside the checkout), or skip the test saying why."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"ground truth {'/'.join(parts)} not available: ../shared is absent beside the checkout")
    return p
