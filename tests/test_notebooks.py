"""The stage notebooks: thin, parameterized, stored without outputs, and they all run (nbval)."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from helpers import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))   # the stage notebooks
ALL_NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))           # nbval runs them all (the app too)
EXPECTED = ["01_extract_quality", "02_model_3d", "03_viewpoint", "04_compare", "05_threshold_tuning",
            "06_viewpoint_experiment", "07_repetitions"]


def test_all_stage_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_parameterized_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    assert 'pio.renderers.default = "notebook"' in code[1].source, "second code cell sets the plotly renderer"
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "notebooks are stored without outputs"
        # thin: no function or class definitions, everything lives in lab/
        assert "\ndef " not in "\n" + c.source and "\nclass " not in "\n" + c.source
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.slow
def test_every_notebook_runs_under_nbval(tmp_path, samples):
    """``pytest --nbval-lax notebooks/``: every cell of every notebook runs with its default (small) parameters."""
    env = dict(os.environ)
    env.setdefault("LAB_CACHE_DIR", str(REPO / ".pytest_cache" / "lab-cache"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                           "--nbval-cell-timeout=600", str(REPO / "notebooks")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    n_cells = sum(sum(c.cell_type == "code" for c in nbformat.read(p, as_version=4).cells) for p in ALL_NOTEBOOKS)
    assert f"{n_cells} passed" in tail, tail
