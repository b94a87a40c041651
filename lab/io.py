"""Files: atomic writes, content hashes, the cache folder, user-facing errors."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import threading
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
    Safe to nest and to enter from several threads at once: fd 2 is redirected
    by the first block to enter and restored by the last one to leave.
    """

    _lock = threading.Lock()
    _depth = 0
    _saved: int | None = None
    _null: int | None = None
    _stream = None

    def __enter__(self):
        self.stream = sys.stderr
        self._active = not os.environ.get("LAB_DEBUG")
        if not self._active:
            return self
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                sys.stderr.flush()
                cls._saved = os.dup(2)
                cls._null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(cls._null, 2)
                cls._stream = open(os.dup(cls._saved), "w", buffering=1, closefd=True)
            cls._depth += 1
            self.stream = cls._stream
        return self

    def __exit__(self, *exc):
        if not self._active:
            return False
        cls = type(self)
        with cls._lock:
            cls._depth -= 1
            if cls._depth == 0:
                cls._stream.close()
                sys.stderr.flush()
                os.dup2(cls._saved, 2)
                os.close(cls._saved)
                os.close(cls._null)
                cls._stream = cls._saved = cls._null = None
        return False
