"""Voila for ``lab app``: every library file it serves is checked by :func:`lab.app.served_file` first.

Voila's ``/voila/files/`` handler matches its allow-list against the URL path
as written, before any normalisation, so ``attempts/x/report/../../../catalogue.parquet``
(or the same with ``%2e%2e``) matched ``attempts/[^/]+/report/.*`` and the
file was served. Here the path is decoded and resolved inside the library
(:func:`lab.io.contained_path`) and the allow-list is matched against what it
resolves to; a request that leads anywhere else gets 404. Voila itself runs
unchanged otherwise (``python -m lab.app_server NOTEBOOK [voila options]``,
built by :func:`lab.app.voila_command`).
"""

from __future__ import annotations

from pathlib import Path


def guard_voila_files() -> None:
    """Route every ``/voila/files/`` request through :func:`lab.app.served_file` (idempotent)."""
    import tornado.web
    from voila.static_file_handler import AllowListFileHandler

    if getattr(AllowListFileHandler, "_lab_guarded", False):
        return
    from lab.app import SERVED_FILES, served_file
    from lab.io import LabError

    original = AllowListFileHandler.get_absolute_path

    def get_absolute_path(self, root, path):
        try:
            target = served_file(root, path, allow=SERVED_FILES)
        except LabError:
            raise tornado.web.HTTPError(404) from None
        # Voila's own allow-list and Tornado's root check then see the resolved path
        return original(self, root, target.relative_to(Path(root).resolve()).as_posix())

    AllowListFileHandler.get_absolute_path = get_absolute_path
    AllowListFileHandler._lab_guarded = True


def main() -> None:
    guard_voila_files()
    from voila.app import main as voila_main

    voila_main()


if __name__ == "__main__":
    main()
