"""Run a stage notebook with papermill, its parameters injected after the ``parameters`` cell."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lab.io import LabError


def notebooks_dir() -> Path:
    """The checkout's ``notebooks/`` folder (the stage notebooks)."""
    from lab.samples import project_root

    env = os.environ.get("LAB_NOTEBOOKS_DIR")
    root = Path(env) if env else ((project_root() or Path.cwd()) / "notebooks")
    if not root.is_dir():
        raise LabError(f"notebooks folder not found at {root} (set LAB_NOTEBOOKS_DIR)", exit_code=3)
    return root


def execute_notebook(notebook: str | Path, output: str | Path, *, parameters: dict[str, Any],
                     cwd: str | Path | None = None, kernel_name: str = "python3",
                     timeout_s: float = 1200) -> Path:
    """Run a notebook with papermill (parameters injected after the ``parameters`` cell).

    ``cwd`` is the kernel's working folder. It is given to the kernel alone:
    this process never changes its own (papermill's ``cwd`` would), so several
    notebooks can run side by side in threads.
    """
    import logging

    import papermill

    from lab.io import quiet_stderr

    logging.getLogger("papermill").setLevel(logging.ERROR)
    resources = {"metadata": {"path": str(cwd)}} if cwd else {}
    try:
        with quiet_stderr():  # the kernel inherits fd 2: its logs stay off the terminal (LAB_DEBUG=1 shows them)
            papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name=kernel_name,
                                       progress_bar=False, log_output=False, execution_timeout=timeout_s,
                                       resources=resources,
                                       extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no TCP warning noise
    except papermill.PapermillExecutionError as exc:
        raise LabError(f"{Path(notebook).name} failed in cell {exc.exec_count}: {exc.ename}: "
                       f"{str(exc.evalue).splitlines()[0] if exc.evalue else ''}", exit_code=1) from None
    return Path(output)
