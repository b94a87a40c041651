"""The upload app: widget logic in-process, and the real thing in Voila driven by headless Chromium (CDP)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser import DevToolsPage, find_chromium

from lab import library as L
from lab.app import build_app, upload_to_file, voila_command, voila_environment
from lab.io import LabError


def _upload(path: Path, name: str | None = None) -> tuple[dict, ...]:
    data = path.read_bytes()
    import datetime
    return ({"name": name or path.name, "type": "video/mp4", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


# ------------------------------------------------------------------ in-process (fast)
def test_verdict_shows_each_joints_detectable_difference_in_the_players_own_sides():
    import html
    import re

    from lab.app import _verdict_html
    row = {"verdict": "same", "score": 62.0, "distance": 6.1, "id": "a-1", "mirrored": True}
    joints = [
        # the coach's left knee is the player's right knee (mirrored); 5 degrees, inside its 9-degree threshold
        {"name": "left_knee", "attempt_joint": "right_knee", "mean_signed_deg": 5.0, "threshold_deg": 9.0,
         "detectable_deg": 13.0, "can_judge": True},
        {"name": "trunk_lean", "attempt_joint": "trunk_lean", "mean_signed_deg": -30.0, "threshold_deg": 10.0,
         "detectable_deg": 14.0, "can_judge": True},
        {"name": "right_elbow", "attempt_joint": "left_elbow", "mean_signed_deg": 40.0, "threshold_deg": 80.0,
         "detectable_deg": 118.0, "can_judge": False},
    ]
    page = _verdict_html(row, {"threshold": 7.9, "feedback": [], "summary": "Same movement (score 62/100).",
                               "joints": joints, "warnings": []})
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "detectable (deg)" in text and "Same movement (score 62/100)." in text
    assert "left and right are the player's own" in text
    rows = {html.unescape(re.sub(r"<[^>]+>", "|", r)).strip("|").split("|")[0]: r
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page)[1:]}
    assert set(rows) == {"right knee", "trunk lean", "left elbow"}       # the player's own joints only
    assert "background:#fff" in rows["right knee"] and "rgb(" not in rows["right knee"]   # inside the noise
    assert "rgb(" in rows["trunk lean"]                                  # three times its threshold
    assert "can't be judged (noise hides differences under 118)" in html.unescape(rows["left elbow"])
    assert "background" not in rows["left elbow"]


def test_verdict_shows_the_repetitions_as_a_timeline():
    import html
    import re

    from lab.app import _verdict_html
    row = {"verdict": "same", "score": 70.0, "distance": 5.0, "id": "a-2", "mirrored": False}
    reps = {"rep_count": 3, "summary": "2 of 3 repetitions match; repetition 2 (different): Right knee bends 25 "
                                      "degrees more than in the player's other repetitions at 3.1 s (phase 2).",
            "reps": [{"index": 1, "start_s": 0.0, "end_s": 2.0, "verdict": "same", "feedback": []},
                     {"index": 2, "start_s": 2.4, "end_s": 4.5, "verdict": "different",
                      "feedback": ["Right knee bends 25 degrees more than in the player's other repetitions"]},
                     {"index": 3, "start_s": 5.0, "end_s": 7.0, "verdict": "same", "feedback": []}]}
    page = _verdict_html(row, {"threshold": 7.9, "feedback": [], "summary": "", "joints": [], "warnings": [],
                               "repetitions": reps})
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Repetitions: 3" in text and "2 of 3 repetitions match" in text
    assert "Repetition 2 (different): Right knee bends 25 degrees more" in text
    bars = re.findall(r'left:([\d.]+)%;width:([\d.]+)%[^"]*background:(#[0-9a-f]+)', page)
    assert [b[2] for b in bars] == ["#2ca02c", "#d62728", "#2ca02c"]
    assert float(bars[1][0]) == pytest.approx(100 * 2.4 / 7.0, abs=0.01)
    assert "may be off" not in text  # stored before counts carried their sureness: nothing claimed
    unsure = _verdict_html(row, {"threshold": 7.9, "feedback": [], "summary": "", "joints": [], "warnings": [],
                                 "repetitions": reps | {"count_sure": False}})
    assert "Repetitions: 3 (the count may be off)" in html.unescape(re.sub(r"<[^>]+>", " ", unsure))
    assert "Repetitions" not in _verdict_html(row, {"threshold": 7.9, "feedback": [], "joints": [], "warnings": []})


def test_upload_checks(tmp_path, samples):
    item = _upload(samples["pose2sim/cam01.mp4"])[0]
    p = upload_to_file(item, tmp_path)
    assert p.read_bytes() == samples["pose2sim/cam01.mp4"].read_bytes() and p.suffix == ".mp4"
    with pytest.raises(LabError, match="limit is 0 MB"):
        upload_to_file(item, tmp_path, max_bytes=1000)
    with pytest.raises(LabError, match="not a video file type"):
        upload_to_file(dict(item, name="drill.exe"), tmp_path)
    with pytest.raises(LabError, match="does not start like a video"):
        upload_to_file(dict(item, content=b"MZ\x90\x00" + bytes(100)), tmp_path)


def test_app_widgets_add_drill_and_compare(tmp_path, samples, caplog):
    root = tmp_path / "lib"
    ui = build_app(root)
    w = ui.lab_widgets
    w["add_drill"].click()
    assert "choose the drill video" in w["coach_status"].value
    w["coach_file"].value = _upload(samples["pose2sim/cam01.mp4"], "notes.txt")
    w["title"].value, w["coach"].value, w["tags"].value = "Balance", "Ann", "balance, legs"
    w["add_drill"].click()
    assert "not a video file type" in w["coach_status"].value and L.load_catalogue(root).empty
    # the refusal is handled inside the handler: nothing escapes to ipywidgets' callback log
    assert not [r for r in caplog.records if "Exception in callback" in r.getMessage()], caplog.text
    assert not w["add_drill"].disabled
    w["coach_file"].value = _upload(samples["pose2sim/cam01.mp4"])
    w["add_drill"].click()
    assert "Drill added" in w["coach_status"].value, w["coach_status"].value
    drill = L.list_drills(root=root).iloc[0]
    assert w["drill"].value == drill["id"] and list(drill["tags"]) == ["balance", "legs"]

    w["player"].value = "Bob"
    w["attempt_file"].value = _upload(samples["pose2sim/cam02.mp4"])
    w["compare"].click()
    assert "Verdict: SAME" in w["verdict"].value, w["status"].value
    assert w["overlay"].value[:8] == b"\x89PNG\r\n\x1a\n"
    att = L.list_attempts(root=root).iloc[0]
    assert att["player"] == "Bob" and att["verdict"] == "same"
    assert not any((root / ".uploads").iterdir())              # uploaded temporaries are removed


# ------------------------------------------------------------------ Voila + Chromium
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CDP(DevToolsPage):
    """The app's page, with what a user does on it: wait, choose a file, type, click."""

    def __init__(self, ws_url: str):
        super().__init__(ws_url, timeout_s=30)

    def wait(self, expression: str, *, timeout_s: float, what: str, fail: str | None = None):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if fail is not None:
                bad = self.js(fail)
                if bad:
                    raise AssertionError(f"while waiting for {what}: the page says {bad!r}")
            v = self.js(expression)
            if v:
                return v
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def choose_file(self, button_prefix: str, path: Path, *, timeout_s: float = 20):
        """Click an upload button as a user would and answer the file chooser it opens."""
        self.events.clear()
        assert self.js(f"(() => {{ const b = [...document.querySelectorAll('button')].find("
                       f"b => b.textContent.trim().startsWith({json.dumps(button_prefix)})); if (!b) return false;"
                       f" b.click(); return true; }})()"), f"no upload button {button_prefix!r}"
        end = time.monotonic() + timeout_s
        while not any(e["method"] == "Page.fileChooserOpened" for e in self.events):
            assert time.monotonic() < end, f"no file chooser opened by {button_prefix!r}"
            self.js("1")   # reading replies collects the events
            time.sleep(0.1)
        ev = next(e for e in self.events if e["method"] == "Page.fileChooserOpened")
        self.call("DOM.setFileInputFiles", files=[str(path)], backendNodeId=ev["params"]["backendNodeId"])
        self.wait(f"[...document.querySelectorAll('button')].some(b => b.textContent.trim() === "
                  f"{json.dumps(button_prefix + ' (1)')})", timeout_s=60, what=f"{path.name} to upload")

    def type_into(self, placeholder: str, text: str):
        assert self.js(f"(() => {{ const e = document.querySelector('input[placeholder=\"{placeholder}\"]');"
                       f" if (!e) return false; e.focus(); e.select(); return true; }})()"), placeholder
        self.call("Input.insertText", text=text)

    def click(self, label: str):
        assert self.js(f"(() => {{ const b = [...document.querySelectorAll('button')].find("
                       f"b => b.textContent.trim() === {json.dumps(label)}); if (!b) return false; b.click();"
                       f" return true; }})()"), f"no button {label!r}"


@contextlib.contextmanager
def _process(cmd, **kw):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.timeout(300)
def test_app_in_voila_with_headless_chromium(tmp_path, samples):
    pytest.importorskip("voila", reason="voila is not installed (pip install voila); app browser test skipped")
    pytest.importorskip("websocket", reason="websocket-client is not installed; app browser test skipped")
    chromium = find_chromium()
    root, profile = tmp_path / "lib", tmp_path / "profile"
    port = _free_port()
    env = voila_environment(root)
    junk = tmp_path / "junk.mp4"
    junk.write_text("I am a text file with a video's name")
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\x00\x00\x00\x20ftypisom" + os.urandom(12 * 2**20))
    with _process(voila_command(port=port, root=root), env=env, cwd=tmp_path) as voila:
        url = f"http://127.0.0.1:{port}/"
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert voila.poll() is None, f"voila exited: {voila.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < end, "voila did not answer within 60 s"
            time.sleep(0.5)

        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1100,1400",
               "about:blank"]
        with _process(cmd) as chrome:
            port_file = profile / "DevToolsActivePort"
            end = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                assert chrome.poll() is None and time.monotonic() < end, "chromium did not start"
                time.sleep(0.2)
            devtools = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{devtools}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            cdp = CDP(page["webSocketDebuggerUrl"])
            cdp.call("Page.enable")
            cdp.call("Page.navigate", url=url)
            cdp.call("Page.setInterceptFileChooserDialog", enabled=True)
            cdp.wait("[...document.querySelectorAll('button')].some(b => b.textContent.includes('Compare'))",
                     timeout_s=90, what="the app's widgets")
            errors = "(() => { const e = document.querySelector('.lab-error'); return e ? e.textContent : ''; })()"

            # a file that only pretends to be a video is refused with a clear message
            cdp.choose_file("Drill video", junk)
            cdp.type_into("e.g. Balance on one leg", "Balance on one leg")
            cdp.type_into("your name", "Ann")
            cdp.click("Add drill")
            msg = cdp.wait(errors, timeout_s=30, what="the upload error")
            assert "does not start like a video" in msg

            # a 12 MB upload gets through the websocket (tornado's default cap is 10 MB): the kernel
            # receives it, accepts the header and reports that the content cannot be decoded
            # (the refusal can come back faster than a poll: wait for its own words, not for the old
            # message to vanish first)
            cdp.choose_file("Drill video", big)
            cdp.click("Add drill")
            msg = cdp.wait(f"(() => {{ const m = {errors}; return m.includes('big.mp4') ? m : ''; }})()", timeout_s=60,
                           what="the big file's error")
            assert "big.mp4 is not a video OpenCV/FFmpeg can read" in msg, msg

            # the coach adds cam01 as the drill
            cdp.choose_file("Drill video", samples["pose2sim/cam01.mp4"])
            cdp.click("Add drill")
            cdp.wait(f"{errors} !== {json.dumps(msg)}", timeout_s=30, what="the old error to go")
            cdp.wait("document.querySelector('.lab-ok') !== null", timeout_s=120, what="the drill to be added",
                     fail=errors)
            assert "Balance on one leg" in cdp.js("document.querySelector('select').selectedOptions[0]"
                                                  ".textContent.replace(/\\u00a0/g, ' ')")

            # the player uploads cam02 against it
            assert cdp.js("(() => { const e = document.querySelectorAll('input[placeholder=\"your name\"]')[1];"
                          " e.focus(); return true; })()")
            cdp.call("Input.insertText", text="Bob")
            cdp.choose_file("Attempt video", samples["pose2sim/cam02.mp4"])
            cdp.click("Compare")
            verdict = cdp.wait("(() => { const e = document.querySelector('.lab-verdict');"
                               " return e ? e.textContent : ''; })()", timeout_s=150, what="the verdict",
                               fail=errors)
            assert "Verdict: SAME" in verdict, verdict
            cdp.wait("[...document.querySelectorAll('img')].some(i => i.naturalWidth > 300)", timeout_s=20,
                     what="the overlay image")

            # full report: a link that serves the HTML page
            cdp.click("Write full report")
            href = cdp.wait("(() => { const a = document.querySelector('a.lab-report-link');"
                            " return a ? a.href : ''; })()", timeout_s=150, what="the report link", fail=errors)
            assert href.startswith(f"{url}voila/files/attempts/a-") and href.endswith("/report/report.html")
            with urllib.request.urlopen(href, timeout=10) as r:
                assert r.status == 200 and b"<html" in r.read(4000).lower()
            with urllib.request.urlopen(href.replace("report.html", "overlay.mp4"), timeout=10) as r:
                assert r.status == 200 and r.read(12)[4:8] == b"ftyp"
            for private in ("catalogue.parquet", "app.ipynb", f"{href.split('/voila/files/')[1].split('/report/')[0]}"
                            "/track.parquet"):      # nothing else of the library is served
                with pytest.raises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(f"{url}voila/files/{private}", timeout=10)
                assert e.value.code in (403, 404)

            # Voila scrolls inside a container: make the window as tall as the tallest scroller
            height = cdp.js("Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
            cdp.call("Emulation.setDeviceMetricsOverride", width=1100, height=int(min(height + 40, 4000)),
                     deviceScaleFactor=1, mobile=False)
            time.sleep(1.0)
            shot = base64.b64decode(cdp.call("Page.captureScreenshot", format="png")["data"])
            (tmp_path / "app.png").write_bytes(shot)
            if os.environ.get("LAB_APP_SCREENSHOT"):
                Path(os.environ["LAB_APP_SCREENSHOT"]).write_bytes(shot)
            assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
            cdp.ws.close()
    cat = L.load_catalogue(root)
    assert list(cat["kind"]) == ["drill", "attempt"] and cat.iloc[1]["verdict"] == "same"


def test_serve_folder_outside_voila_is_local_and_read_only(tmp_path):
    from lab.app import serve_folder

    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "page.html").write_text("<html>ok</html>")
    (tmp_path / "secret.txt").write_text("do not serve")
    base = serve_folder(tmp_path / "pub")
    assert base.startswith("http://127.0.0.1:") and serve_folder(tmp_path / "pub") == base
    with urllib.request.urlopen(f"{base}/page.html", timeout=10) as r:
        assert r.read() == b"<html>ok</html>"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{base}/../secret.txt", timeout=10)
    assert e.value.code == 404
    req = urllib.request.Request(f"{base}/page.html", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 501
