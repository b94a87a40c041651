"""The upload app: coaches add drills, players upload attempts and get a verdict (ipywidgets, served by Voila).

``notebooks/app.ipynb`` only calls :func:`build_app`; ``lab app`` serves it
with Voila on 127.0.0.1. Uploads are checked (:func:`lab.library.check_video_upload`:
video extension, container header, size limit) before anything is
processed; the work itself is :mod:`lab.library` (processing on add,
comparisons from stored tracks). A player can also be compared live: the app
opens the live page (:mod:`lab.live.browser`, its own server on 127.0.0.1) for
the chosen drill and stores the attempt when it ends. Full reports are written on request; under
``lab app`` Voila serves them (``/voila/files/attempts/<id>/report/``, nothing
else from the library); in a plain notebook a small read-only HTTP server on
127.0.0.1 serves the ``attempts/`` folder's reports.

Every file either server sends goes through :func:`served_file`: the URL path
is decoded, resolved (``..``, ``%2e%2e``, symlinks) by
:func:`lab.io.contained_path`, and only then matched against the allow-list.
The app has no authentication: it binds to this machine only unless
``--allow-remote`` is given.
"""

from __future__ import annotations

import functools
import html
import os
import threading
from pathlib import Path
from typing import Any

from lab.io import LabError
from lab.library import (
    MAX_VIDEO_BYTES,
    add_attempt,
    add_drill,
    add_live_attempt,
    check_video_upload,
    library_root,
    list_drills,
    show,
    write_attempt_report,
)
from lab.pose.video import VIDEO_SUFFIXES

#: Set by :func:`voila_environment`: the URL prefix under which Voila serves library files.
FILES_URL_ENV = "LAB_APP_FILES_URL"
#: Library files Voila may serve, matched against the resolved path relative to the library root
#: (:func:`served_file`): files of the attempts' reports only, no hidden names.
SERVED_FILES = r"attempts/[A-Za-z0-9_-]+/report/(?:[^/.][^/]*/)*[^/.][^/]*"
#: What :func:`serve_folder` serves from the ``attempts/`` folder in a plain notebook.
SERVED_REPORT_FILES = r"[A-Za-z0-9_-]+/report/(?:[^/.][^/]*/)*[^/.][^/]*"

_LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def served_file(root: str | Path, url_path: str, *, allow: str = SERVED_FILES) -> Path:
    """The file a request for ``url_path`` under ``root`` may be answered with, or :class:`LabError`.

    ``url_path`` is percent-decoded and resolved inside ``root`` by
    :func:`lab.io.contained_path` (so ``..``, ``%2e%2e``, an absolute path or
    a symlink leading out are refused), then the resolved path relative to
    ``root`` must match ``allow`` and be a regular file.
    """
    import re

    from lab.io import contained_path

    target = contained_path(root, str(url_path).lstrip("/"), url=True)
    rel = target.relative_to(Path(root).resolve()).as_posix()
    if not re.fullmatch(allow, rel):
        raise LabError(f"not served: {url_path}", exit_code=2)
    if not target.is_file():
        raise LabError(f"no such file: {url_path}", exit_code=2)
    return target


def is_loopback(ip: str) -> bool:
    """Whether binding to ``ip`` serves this machine only."""
    import ipaddress

    if ip.strip().lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(ip.strip().strip("[]")).is_loopback
    except ValueError:
        return False

_servers: dict[tuple[str, str], str] = {}
_servers_lock = threading.Lock()


def serve_folder(folder: str | Path, *, allow: str = r".+") -> str:
    """Serve the files of ``folder`` read-only over HTTP on 127.0.0.1 (a free port, daemon thread);
    return its base URL.

    Each request goes through :func:`served_file` (files only, inside ``folder``
    once resolved, matching ``allow``; no directory listings); anything else is 404.
    One server per folder and ``allow`` per process; later calls return the same URL.
    """
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    folder = str(Path(folder).resolve())
    with _servers_lock:
        if (folder, allow) in _servers:
            return _servers[(folder, allow)]

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):  # no access log in the kernel's output
                pass

            def translate_path(self, path):
                try:
                    return str(served_file(folder, urlsplit(path).path, allow=allow))
                except LabError:
                    return os.path.join(folder, ".lab-not-served", "-")  # never exists: 404

        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True, name="lab-report-server").start()
        _servers[(folder, allow)] = f"http://127.0.0.1:{server.server_address[1]}"
        return _servers[(folder, allow)]


def upload_to_file(upload: dict[str, Any], folder: str | Path, *, max_bytes: int = MAX_VIDEO_BYTES) -> Path:
    """Check an ipywidgets ``FileUpload`` value item and write it under ``folder``; return the path.

    Raises :class:`LabError` (one line, shown to the user) for a wrong type, an
    empty or too large file, or content that does not start like a video.
    """
    name = Path(str(upload.get("name") or "upload")).name
    content = bytes(upload["content"])
    check_video_upload(name, content[:64], size_bytes=len(content), max_bytes=max_bytes)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    import tempfile
    fd, tmp = tempfile.mkstemp(prefix="upload.", suffix=Path(name).suffix.lower(), dir=folder)
    with open(fd, "wb") as f:
        f.write(content)
    return Path(tmp)


def _drill_options(root: Path) -> list[tuple[str, str]]:
    d = list_drills(root=root)
    return [(f"{r['title']} (coach {r['coach']}{', sided' if r['sided'] else ''}, {r['id']})", r["id"])
            for _, r in d.iterrows()]


def _error_html(text: str) -> str:
    return f'<div class="lab-error" style="color:#b00020;font-weight:bold">&#9888; {html.escape(text)}</div>'


def _joints_html(joints: list[dict[str, Any]]) -> str:
    """The per-joint table of a stored result: the player's own joint, its mean difference (shaded only
    beyond that joint's threshold, never red inside the noise) and its detectable difference, or
    "can't be judged" in words."""
    from lab.report import tint_by_noise_ratio

    def ratio(j: dict[str, Any]) -> float:
        m, t = j.get("mean_signed_deg"), j.get("threshold_deg")
        return abs(m) / t if m is not None and t else -1.0

    rows = []
    for j in sorted(joints, key=lambda j: (not j.get("can_judge"), -ratio(j))):
        own = html.escape(str(j.get("attempt_joint") or j.get("name", "")).replace("_", " "))
        m, det = j.get("mean_signed_deg"), j.get("detectable_deg")
        if not j.get("can_judge"):
            words = f"noise hides differences under {det:.0f}" if det is not None else "not seen"
            rows.append(f'<tr class="lab-unjudged" style="color:#999"><td>{own}</td>'
                        f'<td style="text-align:right">{"-" if m is None else f"{m:+.0f}"}</td>'
                        f"<td>can't be judged ({words})</td></tr>")
            continue
        style = tint_by_noise_ratio(ratio(j))
        rows.append(f'<tr><td>{own}</td><td style="{style};text-align:right">{"-" if m is None else f"{m:+.0f}"}'
                    f'</td><td style="text-align:right">{det:.0f}</td></tr>')
    return ('<table class="lab-joints" style="border-collapse:collapse"><thead><tr><th>joint (player\'s own)</th>'
            "<th>mean difference (deg)</th><th>detectable (deg)</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


#: Timeline colour per repetition verdict (as in the report).
_REP_COLORS = {"same": "#2ca02c", "different": "#d62728", "uncertain": "#7f7f7f", "partial": "#c7c7c7"}


def _repetitions_html(result: dict[str, Any]) -> str:
    """The attempt's repetitions: their count and summary, a timeline of coloured bars (one per
    repetition, along the clip) and the repetitions that do not match; empty without repetitions."""
    reps = result.get("repetitions")
    if not reps or not reps.get("reps"):
        return ""
    items = reps["reps"]
    end = max(float(r["end_s"]) for r in items) or 1.0
    bars = "".join(
        f'<div title="{html.escape(str(r["index"]))}: {float(r["start_s"]):.1f}-{float(r["end_s"]):.1f} s, '
        f'{html.escape(r["verdict"])}" style="position:absolute;left:{100 * float(r["start_s"]) / end:.2f}%;'
        f'width:{max(100 * (float(r["end_s"]) - float(r["start_s"])) / end, 0.5):.2f}%;top:0;bottom:0;'
        f'background:{_REP_COLORS.get(r["verdict"], "#999")};color:#fff;font-size:12px;text-align:center;'
        f'overflow:hidden">{int(r["index"])}</div>' for r in items)
    off = "".join(f"<li>Repetition {int(r['index'])} ({html.escape(r['verdict'])}): "
                  f"{html.escape((r.get('feedback') or [r.get('summary', '')])[0])}</li>"
                  for r in items if r["verdict"] in ("different", "uncertain"))
    sure = " (the count may be off)" if reps.get("count_sure") is False else ""
    return (f'<div class="lab-reps"><b>Repetitions: {int(reps["rep_count"])}{sure}</b> &mdash; '
            f'{html.escape(reps["summary"])}'
            f'<div style="position:relative;height:20px;margin:4px 0;background:#f3f3f3">{bars}</div>'
            + (f"<ul>{off}</ul>" if off else "") + "</div>")


def _verdict_html(row: dict[str, Any], result: dict[str, Any]) -> str:
    color = {"same": "#1b7f3b", "different": "#b00020"}.get(row["verdict"], "#a66a00")
    fb = "".join(f"<li>{html.escape(s)}</li>" for s in result.get("feedback", []))
    notes = "".join(f"<li>{html.escape(s)}</li>" for s in result.get("warnings", []))
    mirrored = (" (compared with the mirror image: left and right are the player's own)"
                if row.get("mirrored") else "")
    summary = result.get("summary")
    joints = [j for j in result.get("joints", []) if "detectable_deg" in j]
    return (f'<h2 class="lab-verdict" style="color:{color};margin:0.3em 0">Verdict: {html.escape(row["verdict"].upper())}'
            f' &mdash; score {row["score"]:.0f}/100</h2>'
            f'<div>distance {row["distance"]:.2f} (threshold {result.get("threshold", float("nan")):.2f}){mirrored}; '
            f'attempt id <code>{html.escape(row["id"])}</code></div>'
            + (f'<p class="lab-summary">{html.escape(summary)}</p>' if summary else "")
            + _repetitions_html(result)
            + (f"<div><b>What to work on</b></div><ul>{fb}</ul>" if fb else "")
            + (f"<details><summary>Joint by joint: what these cameras can show</summary>{_joints_html(joints)}"
               "</details>" if joints else "")
            + (f"<div>Notes:</div><ul>{notes}</ul>" if notes else ""))


def build_app(root: str | Path | None = None, *, max_bytes: int = MAX_VIDEO_BYTES):
    """The app's widget tree (an ``ipywidgets.VBox``) working on the library at ``root``.

    Parameters
    ----------
    root : library folder (default :func:`lab.library.library_root`).
    max_bytes : largest accepted upload, bytes.
    """
    import ipywidgets as w

    root = library_root(root)
    uploads = root / ".uploads"
    accept = ",".join(sorted(VIDEO_SUFFIXES)) + ",video/*"
    limit_mb = max_bytes / 2**20

    # ---- coach
    c_file = w.FileUpload(accept=accept, multiple=False, description="Drill video")
    c_title = w.Text(description="Title", placeholder="e.g. Balance on one leg")
    c_coach = w.Text(description="Coach", placeholder="your name")
    c_tags = w.Text(description="Tags", placeholder="comma-separated, optional")
    c_sided = w.Checkbox(value=False, indent=False,
                         description="Sided drill: done with one particular side (a mirror image is a different movement)")
    c_button = w.Button(description="Add drill", button_style="primary", icon="upload")
    c_status = w.HTML()

    # ---- player
    p_drill = w.Dropdown(description="Drill", options=_drill_options(root), layout=w.Layout(width="480px"))
    p_player = w.Text(description="Player", placeholder="your name")
    p_file = w.FileUpload(accept=accept, multiple=False, description="Attempt video")
    p_button = w.Button(description="Compare", button_style="success", icon="play")
    p_status = w.HTML()
    p_verdict = w.HTML()
    p_image = w.Image(format="png", layout=w.Layout(max_width="640px", display="none"))
    p_report_button = w.Button(description="Write full report", icon="file", layout=w.Layout(display="none"))
    p_report = w.HTML()
    state: dict[str, Any] = {"attempt": None}

    # ---- live
    l_button = w.Button(description="Open the live page", button_style="info", icon="video-camera")
    l_status = w.HTML()
    l_verdict = w.HTML()

    def busy(status: w.HTML, button: w.Button, text: str | None) -> None:
        button.disabled = text is not None
        if text is not None:
            status.value = f'<div class="lab-busy">&#8987; {html.escape(text)}</div>'

    def guarded(status: w.HTML, button: w.Button, text: str, failure: str, body,
                *, upload: w.FileUpload | None = None) -> None:
        """Run a handler's ``body(path)``: the button busy meanwhile, any error (a refused upload
        included) shown in ``status`` as one line, never a traceback in the page. ``upload``'s
        file is saved first and passed as ``path`` (else None); it is removed afterwards, and
        the widget cleared, so a refused upload is not kept for the next click."""
        busy(status, button, text)
        tmp = None
        try:
            if upload is not None:
                tmp = upload_to_file(upload.value[0], uploads, max_bytes=max_bytes)
            body(tmp)
        except LabError as exc:
            status.value = _error_html(str(exc))
        except Exception as exc:  # shown, never a traceback in the page
            status.value = _error_html(f"{failure}: {exc.__class__.__name__}: {exc}")
        finally:
            busy(status, button, None)
            if upload is not None:
                upload.value = ()
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def on_add_drill(_b) -> None:
        if not c_file.value:
            c_status.value = _error_html("choose the drill video first")
            return
        if not c_title.value.strip() or not c_coach.value.strip():
            c_status.value = _error_html("a drill needs a title and the coach's name")
            return
        def body(tmp: Path) -> None:
            row = add_drill(tmp, title=c_title.value, coach=c_coach.value,
                            tags=[t for t in c_tags.value.split(",")], sided=c_sided.value, root=root,
                            source_name=c_file.value[0]["name"])
            c_status.value = (f'<div class="lab-ok" style="color:#1b7f3b">Drill added: <b>{html.escape(row["title"])}'
                              f'</b> ({row["frames"]} frames), id <code>{row["id"]}</code></div>')
            p_drill.options = _drill_options(root)
            p_drill.value = row["id"]

        guarded(c_status, c_button, "Processing the drill video (pose, 3D model)...", "could not add the drill", body,
                upload=c_file)

    def on_compare(_b) -> None:
        p_verdict.value, p_report.value = "", ""
        p_report_button.layout.display = p_image.layout.display = "none"
        if not p_drill.value:
            p_status.value = _error_html("no drill yet: a coach must add one first")
            return
        if not p_file.value:
            p_status.value = _error_html("choose the attempt video first")
            return
        if not p_player.value.strip():
            p_status.value = _error_html("enter the player's name")
            return
        def body(tmp: Path) -> None:
            row = add_attempt(tmp, drill_id=p_drill.value, player=p_player.value, root=root,
                              source_name=p_file.value[0]["name"])
            info = show(row["id"], root=root)
            p_verdict.value = _verdict_html(row, info["result"])
            if info.get("overlay_path"):
                p_image.value = Path(info["overlay_path"]).read_bytes()
                p_image.layout.display = None
            state["attempt"] = row["id"]
            p_report_button.layout.display = None
            p_status.value = ""

        guarded(p_status, p_button, "Processing the attempt and comparing it with the drill...", "could not compare",
                body, upload=p_file)

    def on_report(_b) -> None:
        attempt = state["attempt"]
        if attempt is None:
            return
        def body(_tmp: None) -> None:
            page = write_attempt_report(attempt, root=root)
            files_url = os.environ.get(FILES_URL_ENV)
            if files_url:  # under `lab app`: Voila serves the reports itself (same host and port)
                rel = Path(page).resolve().relative_to(root.resolve())
                url = f"{files_url}{rel.as_posix()}"
            else:          # a plain notebook: a small read-only server on this machine
                base = serve_folder(root / "attempts", allow=SERVED_REPORT_FILES)
                rel = Path(page).resolve().relative_to((root / "attempts").resolve())
                url = f"{base}/{rel.as_posix()}"
            p_report.value = (f'<a class="lab-report-link" href="{html.escape(url, quote=True)}" target="_blank" '
                              f'style="color:#1565c0;text-decoration:underline;font-weight:bold">'
                              f'Open the full report</a>')
            p_status.value = ""

        guarded(p_status, p_report_button, "Writing the full report (about half a minute)...",
                "could not write the report", body)

    def on_live(_b) -> None:
        if not p_drill.value:
            l_status.value = _error_html("no drill yet: a coach must add one first")
            return
        if not p_player.value.strip():
            l_status.value = _error_html("enter the player's name")
            return
        from lab.live.browser import BrowserStream, LivePageServer

        drill_id, player = p_drill.value, p_player.value
        stream = BrowserStream()
        try:
            server = LivePageServer(stream, title=dict((v, k) for k, v in p_drill.options).get(drill_id, drill_id))
            url = server.start()
        except LabError as exc:
            l_status.value = _error_html(str(exc))
            return
        l_button.disabled = True
        l_verdict.value = ""
        l_status.value = (f'<div class="lab-live-link"><a href="{html.escape(url, quote=True)}" target="_blank" '
                          f'style="color:#1565c0;text-decoration:underline;font-weight:bold">Open the live page</a> '
                          "in this browser: it asks for the camera, shows your skeleton, where you are in the drill, "
                          "the score and the cue. Its Stop button ends the attempt, which is then stored here.</div>")
        state["live"] = server

        def work() -> None:
            try:
                result, row = add_live_attempt(drill_id, stream, player=player, root=root,
                                               on_update=server.send_update)
                info = show(row["id"], root=root)
                res = info["result"]
                server.send({"type": "final", "verdict": row["verdict"], "score": row["score"],
                             "summary": res.get("summary"), "feedback": res.get("feedback", []),
                             "processed": result.processed, "dropped": result.dropped})
                l_verdict.value = _verdict_html(row, res)
                state["attempt"] = row["id"]
                p_report_button.layout.display = None
                l_status.value = (f'<div class="lab-ok" style="color:#1b7f3b">Live attempt stored: id '
                                  f'<code>{row["id"]}</code> ({result.processed} frames analysed)</div>')
            except Exception as exc:  # shown, never a traceback in the page
                text = str(exc) if isinstance(exc, LabError) else f"live attempt failed: {exc.__class__.__name__}: {exc}"
                server.send({"type": "error", "message": text})
                l_status.value = _error_html(text)
            finally:
                server.stop()
                state["live"] = None
                l_button.disabled = False

        threading.Thread(target=work, name="lab-app-live", daemon=True).start()

    c_button.on_click(on_add_drill)
    l_button.on_click(on_live)
    p_button.on_click(on_compare)
    p_report_button.on_click(on_report)

    head = w.HTML(f"<h1 style='margin:0.2em 0'>Drill comparison</h1><div>Videos: {html.escape(', '.join(sorted(VIDEO_SUFFIXES)))}"
                  f", up to {limit_mb:.0f} MB. Library: <code>{html.escape(str(root))}</code></div>")
    coach_box = w.VBox([w.HTML("<h3>1. Coach: add a reference drill</h3>"), c_file, c_title, c_coach, c_tags,
                        c_sided, c_button, c_status], layout=w.Layout(border="1px solid #ccc", padding="8px", margin="6px 0"))
    player_box = w.VBox([w.HTML("<h3>2. Player: compare an attempt with a drill</h3>"), p_drill, p_player, p_file,
                         p_button, p_status, p_verdict, p_image, p_report_button, p_report],
                        layout=w.Layout(border="1px solid #ccc", padding="8px", margin="6px 0"))
    live_box = w.VBox([w.HTML("<h3>3. Player: live, with this computer's camera</h3><div>Choose the drill and "
                              "your name above; the live page compares you with the drill as you move.</div>"),
                       l_button, l_status, l_verdict],
                      layout=w.Layout(border="1px solid #ccc", padding="8px", margin="6px 0"))
    ui = w.VBox([head, coach_box, player_box, live_box])
    ui.lab_widgets = dict(coach_file=c_file, title=c_title, coach=c_coach, tags=c_tags, sided=c_sided,
                          add_drill=c_button,
                          coach_status=c_status, drill=p_drill, player=p_player, attempt_file=p_file,
                          compare=p_button, status=p_status, verdict=p_verdict, overlay=p_image,
                          report_button=p_report_button, report=p_report, live=l_button, live_status=l_status,
                          live_verdict=l_verdict)
    ui.lab_state = state
    return ui


def app_notebook() -> Path:
    """``notebooks/app.ipynb`` of the checkout (or beside the installed package)."""
    from lab.export.notebook import notebooks_dir

    path = notebooks_dir() / "app.ipynb"
    if not path.exists():
        raise LabError(f"the app notebook {path} is missing", exit_code=3)
    return path


def voila_command(*, port: int = 8866, ip: str = "127.0.0.1", root: str | Path | None = None,
                  max_bytes: int = MAX_VIDEO_BYTES, allow_remote: bool = False) -> list[str]:
    """The command serving the app with Voila, run it with :func:`voila_environment`.

    Voila's root folder is the library (the app notebook is linked in as
    ``<root>/app.ipynb``) so that it serves the reports (only
    :data:`SERVED_FILES`, each request checked by :func:`served_file`: Voila
    runs through :mod:`lab.app_server`) at ``/voila/files/``; no browser is
    opened; the websocket takes uploads up to ``max_bytes``.

    The app has no authentication: an ``ip`` other than a loopback address
    raises :class:`LabError` unless ``allow_remote``.
    """
    import json
    import sys

    if not is_loopback(ip) and not allow_remote:
        raise LabError(f"--ip {ip} would serve the app to the network, and it has no authentication (anyone "
                       "who reaches the port can upload and read reports); pass --allow-remote to do it anyway",
                       exit_code=2)
    root = library_root(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    link = root / "app.ipynb"
    source = app_notebook().resolve()
    if not (link.is_symlink() and link.resolve() == source):
        link.unlink(missing_ok=True)
        try:
            link.symlink_to(source)
        except OSError:  # no symlinks here: a copy does the same job
            import shutil
            shutil.copyfile(source, link)
    settings = {"websocket_max_message_size": int(max_bytes + 4 * 2**20)}
    return [sys.executable, "-m", "lab.app_server", str(link), f"--port={int(port)}", f"--Voila.ip={ip}",
            "--no-browser",
            f"--Voila.tornado_settings={json.dumps(settings)}", "--VoilaConfiguration.show_tracebacks=False",
            f"--VoilaConfiguration.file_allowlist={json.dumps([SERVED_FILES])}"]


def voila_environment(root: str | Path | None = None) -> dict[str, str]:
    """Environment for the Voila process: the library folder and the reports' URL prefix."""
    env = dict(os.environ)
    env["LAB_LIBRARY_DIR"] = str(library_root(root).resolve())
    env[FILES_URL_ENV] = "voila/files/"
    return env
