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


def contained_path(root: str | Path, relative: str | Path, *, url: bool = False) -> Path:
    """``root / relative``, resolved, if it lies strictly inside ``root``; else :class:`LabError` (exit 2).

    The one check for every path that is served or written under a root
    (files the app serves, a report's or a batch item's folder named by the
    user). Symlinks are resolved (on both sides), so ``..``, an absolute
    ``relative``, or a link pointing out of ``root`` are all refused the same
    way; a NUL byte is refused too. With ``url=True``, ``relative`` is a URL
    path and is percent-decoded first, repeatedly, so ``%2e%2e`` and
    ``%252e%252e`` count as ``..``. ``root`` itself is not "inside" ``root``.

    Returns the resolved path (it need not exist).
    """
    rel = str(relative)
    if url:
        from urllib.parse import unquote
        for _ in range(5):  # a path encoded several times is decoded as often
            decoded = unquote(rel)
            if decoded == rel:
                break
            rel = decoded
        else:
            raise LabError(f"refused path {rel!r}: encoded too many times", exit_code=2)
    if "\0" in rel or not rel.strip():
        raise LabError(f"refused path {rel!r}: empty or holding a NUL byte", exit_code=2)
    base = Path(root).resolve()
    target = (base / rel).resolve()
    if target == base or base not in target.parents:
        raise LabError(f"refused path {rel!r}: it leads outside {base}", exit_code=2)
    return target


def default_file_mode() -> int:
    """Permission bits a new file gets under this process's umask (``0o666 & ~umask``)."""
    umask = None
    try:  # Linux >= 4.7 reports it without changing it
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except OSError:
        pass
    if umask is None:
        with _umask_lock:
            umask = os.umask(0o022)
            os.umask(umask)
    return 0o666 & ~umask


_umask_lock = threading.Lock()


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
    The file gets the permissions any new file gets here (``0o666 & ~umask``,
    e.g. 0644), not the 0600 of the private temporary it was written as.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, default_file_mode())
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


_SOURCE_DIGESTS: dict[tuple[str, ...], str] = {}


def source_digest(*parts: str) -> str:
    """SHA-256 (16 hex) of the source of these parts of ``lab`` (``"lift"``, ``"pose/sides"``...):
    the code version of a cached result, so a change of code never reuses a stale one.

    A folder counts with all its ``.py`` and ``.json`` files, a module with its file.
    """
    if parts not in _SOURCE_DIGESTS:
        root = Path(__file__).parent
        h = hashlib.sha256()
        for part in parts:
            base = root / part
            files = (sorted(base.rglob("*.py")) + sorted(base.rglob("*.json"))) if base.is_dir() else [
                root / f"{part}.py"]
            for f in files:
                h.update(f.relative_to(root).as_posix().encode())
                h.update(f.read_bytes())
        _SOURCE_DIGESTS[parts] = h.hexdigest()[:16]
    return _SOURCE_DIGESTS[parts]
