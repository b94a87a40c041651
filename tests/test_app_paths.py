"""`lab app` serves the attempts' reports and nothing else: escape URLs, encoded dots, absolute paths and
symlinks all fail; a non-loopback --ip needs --allow-remote. And the containment helper itself."""

from __future__ import annotations

import contextlib
import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from hostile import assert_refused, run_lab, snapshot

from lab.io import LabError, contained_path


# ------------------------------------------------------------------ the helper
def test_contained_path_keeps_paths_inside_their_root(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("x")
    (tmp_path / "secret.txt").write_text("no")
    (root / "a" / "out").symlink_to(tmp_path)                      # a link leading out
    (root / "a" / "in").symlink_to(root / "a" / "b")               # a link staying inside
    assert contained_path(root, "a/b/f.txt") == (root / "a/b/f.txt").resolve()
    assert contained_path(root, "a/b/../b/f.txt") == (root / "a/b/f.txt").resolve()
    assert contained_path(root, "a/in/f.txt") == (root / "a/b/f.txt").resolve()
    assert contained_path(root, "a/b/new/file.html") == (root / "a/b/new/file.html").resolve()  # need not exist
    assert contained_path(root, "a%2fb%2ff.txt", url=True) == (root / "a/b/f.txt").resolve()
    assert contained_path(root, str(root / "a" / "b")) == (root / "a/b").resolve()           # absolute, inside
    for bad, url in [("../secret.txt", False), ("a/b/../../../secret.txt", False), ("..", False), (".", False),
                     ("", False), ("a/out/secret.txt", False), (str(tmp_path / "secret.txt"), False),
                     ("/etc/passwd", False), ("a/\0/f", False),
                     ("a/b/%2e%2e/%2e%2e/%2e%2e/secret.txt", True), ("a/b/%2E%2E/%2E%2E/../secret.txt", True),
                     ("a/b/..%2f..%2f..%2fsecret.txt", True), ("a/b/%252e%252e/%252e%252e/%252e%252e/secret.txt", True),
                     ("%2fetc%2fpasswd", True)]:
        with pytest.raises(LabError) as e:
            contained_path(root, bad, url=url)
        assert e.value.exit_code == 2 and "\n" not in str(e.value), bad


def test_served_file_matches_the_allow_list_after_resolving(tmp_path):
    from lab.app import SERVED_FILES, served_file

    report = tmp_path / "attempts" / "a-1" / "report"
    report.mkdir(parents=True)
    (report / "report.html").write_text("<html></html>")
    (tmp_path / "catalogue.parquet").write_bytes(b"PAR1")
    (report / "cat.parquet").symlink_to(tmp_path / "catalogue.parquet")
    assert served_file(tmp_path, "attempts/a-1/report/report.html") == (report / "report.html").resolve()
    for bad in ["attempts/a-1/report/../../../catalogue.parquet", "attempts/x/report/%2e%2e/%2e%2e/%2e%2e/catalogue.parquet",
                "attempts/a-1/report/cat.parquet", "catalogue.parquet", "attempts/a-1/report", "attempts/a-1/report/",
                "attempts/a-1/report/missing.html", "attempts/a-1/report/.hidden"]:
        with pytest.raises(LabError):
            served_file(tmp_path, bad, allow=SERVED_FILES)


# ------------------------------------------------------------------ the real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, raw_path: str) -> int:
    """Status of GET raw_path, sent exactly as written (no normalisation, like curl --path-as-is)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@contextlib.contextmanager
def _lab_app(*args, **kw):
    proc = subprocess.Popen([sys.executable, "-m", "lab", "app", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)       # `lab app` stops Voila on Ctrl-C
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def served_library(tmp_path):
    """A library with one drill and one attempt whose report folder holds a page (no model needed)."""
    from test_library_repair import make_entry

    root = tmp_path / "lib"
    drill = make_entry(root, "drill")
    att = make_entry(root, "attempt", drill["id"])
    report = root / "attempts" / att["id"] / "report"
    report.mkdir()
    (report / "report.html").write_text("<html><body>report</body></html>")
    (report / "leak.parquet").symlink_to(root / "catalogue.parquet")     # a link to a private file
    (report / "passwd").symlink_to("/etc/passwd")                        # a link out of the library
    (tmp_path / "outside.txt").write_text("not in the library")
    return root, drill["id"], att["id"]


@pytest.mark.timeout(180)
def test_lab_app_serves_reports_and_refuses_every_escape(served_library, tmp_path):
    pytest.importorskip("voila", reason="voila is not installed (pip install voila); app test skipped")
    root, drill, att = served_library
    port = _free_port()
    with _lab_app("--port", port, "--root", root, cwd=tmp_path) as proc:
        page = f"/voila/files/attempts/{att}/report/report.html"
        end = time.monotonic() + 90
        while True:
            try:
                if _get(port, page) == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < end, "lab app did not answer within 90 s"
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=10) as r:
            assert r.status == 200 and b"report" in r.read()

        up3 = "attempts/x/report/../../.."
        escapes = [
            f"/voila/files/{up3}/catalogue.parquet",                       # the reported case, as is
            f"/voila/files/attempts/{att}/report/../../../catalogue.parquet",
            f"/voila/files/attempts/{att}/report/../../../drills/{drill}/video.mp4",
            f"/voila/files/attempts/{att}/report/../../../drills/{drill}/track.parquet",
            f"/voila/files/attempts/{att}/report/../track.parquet",
            f"/voila/files/attempts/{att}/report/../entry.json",
            "/voila/files/attempts/x/report/%2e%2e/%2e%2e/%2e%2e/catalogue.parquet",
            "/voila/files/attempts/x/report/%2E%2E/%2E%2E/%2E%2E/catalogue.parquet",
            "/voila/files/attempts/x/report/.%2e/.%2e/.%2e/catalogue.parquet",
            "/voila/files/attempts/x/report/..%2f..%2f..%2fcatalogue.parquet",
            "/voila/files/attempts/x/report/%252e%252e/%252e%252e/%252e%252e/catalogue.parquet",
            f"/voila/files/attempts/x/report/%2e%2e/%2e%2e/%2e%2e/drills/{drill}/track.parquet",
            "/voila/files/attempts/x/report/../../../../outside.txt",
            "/voila/files/attempts/x/report/../../../../../../../../etc/passwd",
            "/voila/files/attempts/x/report//etc/passwd",
            "/voila/files//etc/passwd",
            "/voila/files/%2fetc%2fpasswd",
            f"/voila/files/attempts/{att}/report/leak.parquet",
            f"/voila/files/attempts/{att}/report/passwd",
            "/voila/files/catalogue.parquet",
            "/voila/files/app.ipynb",
            f"/voila/files/attempts/{att}/report/",
            "/voila/static/../../../../../../etc/passwd",
            "/voila/templates/lab/static/../../../../../../../../etc/passwd",
        ]
        statuses = {u: _get(port, u) for u in escapes}
        assert all(s != 200 for s in statuses.values()), {u: s for u, s in statuses.items() if s == 200}
        # library files: refused as not found (Voila's own static routes only have to refuse, e.g. with 500)
        odd = {u: s for u, s in statuses.items() if u.startswith("/voila/files/") and s not in (403, 404)}
        assert not odd, odd


def test_lab_app_on_a_network_address_needs_allow_remote(tmp_path):
    root = tmp_path / "lib"
    for ip in ("0.0.0.0", "::", "192.168.1.20", "example.org"):
        before = snapshot(tmp_path)
        r = run_lab("app", "--ip", ip, "--port", _free_port(), "--root", root)
        assert_refused(r, 2, before=before, after=snapshot(tmp_path), words="--allow-remote")
        assert "no authentication" in r.stderr


@pytest.mark.timeout(120)
def test_lab_app_allow_remote_warns_that_there_is_no_authentication(tmp_path):
    pytest.importorskip("voila", reason="voila is not installed; app test skipped")
    port = _free_port()
    with _lab_app("--ip", "0.0.0.0", "--allow-remote", "--port", port, "--root", tmp_path / "lib") as proc:
        end = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1][-2000:]
                assert time.monotonic() < end, "lab app did not listen within 90 s"
                time.sleep(0.5)
    err = proc.stderr.read()
    assert "warning: serving on 0.0.0.0 without authentication" in err


def test_loopback_addresses_are_recognised():
    from lab.app import is_loopback

    assert all(is_loopback(ip) for ip in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(ip) for ip in ("0.0.0.0", "::", "10.0.0.1", "example.org", ""))


def test_serve_folder_refuses_escapes_links_and_listings(tmp_path):
    from lab.app import SERVED_REPORT_FILES, serve_folder

    attempts = tmp_path / "attempts"
    (attempts / "a-1" / "report").mkdir(parents=True)
    (attempts / "a-1" / "report" / "report.html").write_text("<html>ok</html>")
    (attempts / "a-1" / "result.json").write_text("{}")
    (attempts / "a-1" / "report" / "out.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("do not serve")
    base = serve_folder(attempts, allow=SERVED_REPORT_FILES)
    port = int(base.rsplit(":", 1)[1])
    assert _get(port, "/a-1/report/report.html") == 200
    for bad in ["/a-1/result.json", "/a-1/report/", "/", "/a-1/report/out.txt", "/a-1/report/../result.json",
                "/a-1/report/%2e%2e/result.json", "/a-1/report/%2e%2e/%2e%2e/%2e%2e/secret.txt"]:
        assert _get(port, bad) == 404, bad
