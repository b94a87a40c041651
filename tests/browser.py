"""Open a page in headless Chromium at a given width (a phone is emulated as one) and measure it.

Used by the report tests: Chromium is driven over the DevTools protocol, and the device size is set
before the page loads, so Plotly lays its figures out at that width from the start, as on a phone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: What a page reports about its own layout once every Plotly figure is drawn.
_MEASURE_JS = """(() => {
  const w = window.innerWidth;
  const figs = [...document.querySelectorAll('.js-plotly-plot')].map(g => {
    const r = g.getBoundingClientRect();
    return {left: r.left, right: r.right, width: r.width,
            layout_width: g._fullLayout ? g._fullLayout.width : null,
            title: g._fullLayout && g._fullLayout.title ? String(g._fullLayout.title.text || '') : ''};
  });
  const wide = [...document.body.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 1) return false;
    for (let p = e.parentElement; p; p = p.parentElement) {     // inside a box that scrolls: fine
      const s = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && p.getBoundingClientRect().right <= w + 1)
        return false;
    }
    return true;
  }).map(e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ?
                                          '.' + e.className.split(' ')[0] : '')).slice(0, 10);
  const vp = document.querySelector('meta[name=viewport]');
  return {inner_width: w, scroll_width: document.documentElement.scrollWidth,
          body_height: document.documentElement.scrollHeight,
          viewport: vp ? vp.getAttribute('content') : null, figures: figs, too_wide: wide};
})()"""


@dataclass
class PageLayout:
    """How a page laid itself out at one window width."""

    width_px: int
    inner_width: int
    scroll_width: int
    body_height: int
    viewport: str | None
    figures: list[dict] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("chromium is not installed (apt-get install -y chromium); browser check skipped")


class DevToolsPage:
    """One Chromium tab over the DevTools protocol's websocket; events that arrive while waiting for a
    reply are kept in ``events``."""

    def __init__(self, ws_url: str, *, timeout_s: float = 60):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=timeout_s, suppress_origin=True)
        self.n = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def js(self, expression: str):
        """The value of ``expression``, run as if from a user's gesture (so it may open a file chooser)."""
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True,
                      userGesture=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"JS error in {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")


@contextlib.contextmanager
def open_chromium(*, extra_args: tuple[str, ...] = ()):
    """A headless Chromium with its DevTools port; yields a function opening a new tab's :class:`DevToolsPage`.

    ``extra_args``: more command-line switches (e.g. ``--allow-file-access-from-files``, so that a page
    may read the pixels of a video beside it)."""
    pytest.importorskip("websocket", reason="websocket-client is not installed; browser check skipped")
    profile = Path(tempfile.mkdtemp(prefix="lab-chromium-"))
    cmd = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
           "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
           "--remote-debugging-port=0", *extra_args, "about:blank"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert proc.poll() is None and time.monotonic() < end, "chromium did not start"
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])

        def new_page() -> DevToolsPage:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
            with urllib.request.urlopen(req, timeout=10) as r:
                return DevToolsPage(json.load(r)["webSocketDebuggerUrl"])

        yield new_page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)


def measure_page(new_page, page: Path, *, width_px: int, phone: bool, screenshot: Path | None = None,
                 timeout_s: float = 120) -> PageLayout:
    """Load ``page`` at ``width_px`` (``phone``: mobile emulation, touch, device pixel ratio 2) and
    measure it once every Plotly figure on it is drawn; optionally save a full-page screenshot."""
    tab = new_page()
    try:
        tab.call("Page.enable")
        tab.call("Emulation.setDeviceMetricsOverride", width=width_px, height=844 if phone else 1000,
                 deviceScaleFactor=2 if phone else 1, mobile=phone)
        if phone:
            tab.call("Emulation.setTouchEmulationEnabled", enabled=True, maxTouchPoints=5)
        tab.call("Page.navigate", url=page.resolve().as_uri())
        end = time.monotonic() + timeout_s
        ready = ("document.readyState === 'complete' && [...document.querySelectorAll('.plotly-graph-div')]"
                 ".every(g => g._fullLayout && g.querySelector('.main-svg'))")
        while not tab.js(ready):
            assert time.monotonic() < end, f"{page.name}: figures not drawn within {timeout_s:.0f} s"
            time.sleep(0.5)
        time.sleep(1.0)   # responsive figures settle after the first layout
        m = tab.js(_MEASURE_JS)
        shot = None
        if screenshot is not None:
            h = min(int(m["body_height"]), 16000)
            data = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip=dict(x=0, y=0, width=width_px, height=h, scale=1))["data"]
            screenshot.write_bytes(base64.b64decode(data))
            shot = screenshot
        return PageLayout(width_px=width_px, inner_width=m["inner_width"], scroll_width=m["scroll_width"],
                          body_height=m["body_height"], viewport=m["viewport"], figures=m["figures"],
                          too_wide=m["too_wide"], screenshot=shot)
    finally:
        with contextlib.suppress(Exception):
            tab.call("Page.close")
        tab.ws.close()


def write_y4m(video, path, *, width_px: int, seconds: float) -> None:
    """The first ``seconds`` of ``video`` as an uncompressed Y4M file (Chromium's fake camera plays it in a loop)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    with open(path, "wb") as out:
        for k in range(int(seconds * fps)):
            ok, bgr = cap.read()
            if not ok:
                break
            h = int(round(bgr.shape[0] * width_px / bgr.shape[1] / 2)) * 2
            bgr = cv2.resize(bgr, (width_px, h), interpolation=cv2.INTER_AREA)
            if k == 0:
                out.write(f"YUV4MPEG2 W{width_px} H{h} F{int(round(fps))}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    cap.release()


@dataclass
class LivePageRun:
    """A ``lab live ... --browser --json`` process and the Chromium tab showing its page."""

    proc: subprocess.Popen
    url: str
    tab: DevToolsPage
    reader: object  # the thread reading the process's stdout into ``lines``
    lines: list[str] = field(default_factory=list)  # the process's stdout lines after the first

    stderr: Path | None = None  # where the process's stderr goes

    def final(self, *, timeout_s: float = 120) -> dict:
        """The process's last line (its final result), once it has ended with exit code 0."""
        code = self.proc.wait(timeout=timeout_s)
        self.reader.join(timeout=10)
        said = [ln for ln in self.stderr.read_text(errors="replace").splitlines()
                if not ln.startswith(("INFO", "W0000", "I0000", "WARNING"))] if self.stderr else []
        assert code == 0, f"lab live exited {code}: {said[-5:]}"
        return json.loads(self.lines[-1])


@contextlib.contextmanager
def open_live_page(lab_args: list[str], camera_y4m: Path, *, network: bool = False):
    """Run ``lab live *lab_args --browser --port 0 --json`` and open its page in headless Chromium, whose
    fake camera plays ``camera_y4m`` (looped). ``network``: record the tab's requests (``tab.events``)."""
    import sys
    import threading

    err_dir = Path(tempfile.mkdtemp(prefix="lab-live-page-"))
    stderr = err_dir / "stderr.txt"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "lab", "live", *map(str, lab_args), "--browser", "--port", "0",
                                 "--json"], stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        url = json.loads(proc.stdout.readline())["url"]
        # --json prints a line per frame: they are read as they come, or the pipe fills and the process waits
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        with open_chromium(extra_args=("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                       f"--use-file-for-fake-video-capture={camera_y4m}")) as new_page:
            tab = new_page()
            if network:
                tab.call("Network.enable")
            tab.call("Page.navigate", url=url)
            yield LivePageRun(proc=proc, url=url, tab=tab, reader=reader, lines=lines, stderr=stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(err_dir, ignore_errors=True)
