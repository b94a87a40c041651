"""Files: atomic writes, content hashes, the cache folder, user-facing errors."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator


class LabError(Exception):
    """An error the user can act on: its message is one line, shown without traceback.

    ``exit_code`` follows the CLI's table: 2 bad input, 3 missing resource,
    4 nothing usable in the input, 1 anything else.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def cache_dir() -> Path:
    """Root of lab's cache: ``$LAB_CACHE_DIR`` or the per-user cache (``~/.cache/lab``)."""
    env = os.environ.get("LAB_CACHE_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
        root = Path(base) / "lab"
    root.mkdir(parents=True, exist_ok=True)
    return root


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, read in chunks (bounded memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception (or interruption) the temporary file is removed and
    ``path`` is left as it was, so nothing half-written ever looks complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary name, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


class quiet_stderr:
    """Silence native log lines written to fd 2 (MediaPipe logs at create and detect).

    Python text meant for the user can still reach the real stderr through
    ``self.stream`` (used for the progress bar). ``LAB_DEBUG=1`` lets everything through.
    """

    def __enter__(self):
        self.stream = sys.stderr
        if os.environ.get("LAB_DEBUG"):
            self._saved = None
            return self
        sys.stderr.flush()
        self._saved = os.dup(2)
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 2)
        self.stream = open(os.dup(self._saved), "w", buffering=1, closefd=True)
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            self.stream.close()
            sys.stderr.flush()
            os.dup2(self._saved, 2)
            os.close(self._saved)
            os.close(self._null)
        return False
