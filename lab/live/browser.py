"""The player's browser as the live stream: its camera, the skeleton, the progress, the score and the cue.

``lab live REFERENCE --browser`` serves one page on 127.0.0.1 (:data:`PAGE`, with
its script inline: nothing is loaded from anywhere else, so it works with no
internet). The page opens the browser's camera (getUserMedia), sends each frame
as a JPEG over a WebSocket with its capture time, and draws what comes back on
top of the video: the player's skeleton, the progress bar through the drill,
the running score and the cue. One frame is in flight at a time, so when the
machine is slower than the camera the page skips camera frames instead of
falling behind; the page shows the round-trip latency (capture to drawn answer).

Pose estimation runs here: :class:`BrowserStream` is one more stream for
:func:`lab.live.stream.run_live`, next to a camera and a video file, so the page
shows the numbers ``lab live`` prints, and when the page's Stop button is
pressed (or the page is closed) the recording is analysed as ``lab compare``
would and the final verdict is sent to the page.

The server binds to 127.0.0.1 only and accepts WebSockets from its own page
only (tornado's same-origin check); one session at a time. A browser grants
the camera to ``http://127.0.0.1`` (a secure context); another machine, such as
a phone, would need HTTPS, which this server does not provide.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lab.io import LabError
from lab.live.stream import SourceFrame, _LatestFrame
from lab.pose.track import BLAZEPOSE_KEYPOINTS, SKELETON_EDGES

#: The page the server sends (HTML with inline CSS and script).
PAGE = Path(__file__).with_name("page.html")
#: Largest WebSocket message accepted (a JPEG frame with its 8-byte header).
MAX_FRAME_BYTES = 4 * 1024 * 1024


class BrowserStream:
    """Frames sent by the live page, as a stream for :func:`lab.live.stream.run_live`.

    Each message is 8 bytes of capture time (float64, little-endian,
    milliseconds on the page's clock) followed by a JPEG. ``width`` and
    ``height`` are the first frame's and wait for it; later frames of another
    size are resized to it. The stream ends when :meth:`end` is called.
    """

    def __init__(self, *, source: str = "browser camera", fps: float = 30.0):
        self.source = source
        self.fps = float(fps)
        self._box = _LatestFrame()
        self._first = threading.Event()
        self._size: tuple[int, int] | None = None
        self._t0_ms: float | None = None
        self.received = 0
        self.rejected = 0
        self.last_error: str | None = None

    def _wait_size(self) -> tuple[int, int]:
        while not self._first.wait(timeout=0.5):  # a short wait, so that Ctrl-C gets through
            if self._box.finished:
                raise LabError("the live page sent no frame", exit_code=4)
        assert self._size is not None
        return self._size

    @property
    def width(self) -> int:
        return self._wait_size()[0]

    @property
    def height(self) -> int:
        return self._wait_size()[1]

    @property
    def first_capture_ms(self) -> float:
        """The first frame's capture time on the page's clock (ms); a frame's ``time_s`` counts from it."""
        return 0.0 if self._t0_ms is None else self._t0_ms

    @property
    def dropped(self) -> int:
        """Frames received and overwritten by a newer one before they were processed."""
        return self._box.dropped

    def put_message(self, data: bytes) -> float:
        """Decode one message from the page and offer its frame; returns its capture time (page ms).

        Raises :class:`LabError` for a message that is not a capture time and a JPEG.
        """
        import cv2

        if len(data) < 9 or len(data) > MAX_FRAME_BYTES:
            self.rejected += 1
            raise LabError(f"a frame message has {len(data)} bytes", exit_code=2)
        (t_ms,) = struct.unpack("<d", data[:8])
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8, offset=8), cv2.IMREAD_COLOR)
        if bgr is None or not np.isfinite(t_ms):
            self.rejected += 1
            raise LabError("a frame message is not a capture time and a JPEG image", exit_code=2)
        arrived = time.perf_counter()
        if self._size is None:
            self._size = (int(bgr.shape[1]), int(bgr.shape[0]))
            self._t0_ms = float(t_ms)
            self._first.set()
        elif (bgr.shape[1], bgr.shape[0]) != self._size:
            bgr = cv2.resize(bgr, self._size, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self._box.put(SourceFrame(self.received, (t_ms - self._t0_ms) / 1000.0, arrived, rgb))
        self.received += 1
        return float(t_ms)

    def end(self) -> None:
        """No more frames: the stream's iteration ends once the last one is taken."""
        self._box.finish()

    def __iter__(self) -> Iterator[SourceFrame]:
        while (frame := self._box.take()) is not None:
            yield frame


def _finite_list(values: np.ndarray, digits: int) -> list:
    """A nested list of rounded numbers, None where not finite (JSON has no NaN)."""
    a = np.round(np.asarray(values, float), digits)
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]


class LivePageServer:
    """The live page and its WebSocket on 127.0.0.1:``port`` (0: any free port), served from a background thread.

    Parameters
    ----------
    stream : BrowserStream
        Where the page's frames go.
    title : str
        The coach's drill, as the page names it.
    port : int
        Port on 127.0.0.1 (this machine only).
    """

    def __init__(self, stream: BrowserStream, *, title: str, port: int = 0):
        if not PAGE.is_file():
            raise LabError(f"the live page is missing from the installation: {PAGE}", exit_code=3)
        self.stream, self.title, self.ip = stream, title, "127.0.0.1"
        self.page = PAGE.read_bytes()
        self.port = int(port)
        self.connected = threading.Event()
        self.closed = threading.Event()  # the page asked to stop, or went away
        self._socket = None
        self._loop = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"

    def start(self) -> str:
        """Start serving; returns the page's URL once the port is bound."""
        ready = threading.Event()

        def serve() -> None:
            import tornado.httpserver
            import tornado.netutil
            import tornado.web
            import tornado.websocket

            server_self = self

            class PageHandler(tornado.web.RequestHandler):
                def get(self) -> None:
                    self.set_header("Content-Type", "text/html; charset=utf-8")
                    self.set_header("Cache-Control", "no-store")
                    self.set_header("Content-Security-Policy",
                                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
                                    "connect-src 'self' ws://127.0.0.1:* ws://localhost:*")
                    self.write(server_self.page)

            class StreamSocket(tornado.websocket.WebSocketHandler):
                def open(self) -> None:
                    if server_self._socket is not None or server_self.closed.is_set():
                        self.close(code=1013, reason="a live session is already running" if not server_self.closed.is_set()
                                   else "this live session has ended")
                        return
                    server_self._socket = self
                    server_self.connected.set()
                    self.write_message(json.dumps({
                        "type": "hello", "title": server_self.title,
                        "edges": [[BLAZEPOSE_KEYPOINTS.index(a), BLAZEPOSE_KEYPOINTS.index(b)] for a, b in SKELETON_EDGES]}))

                def on_message(self, message) -> None:
                    if isinstance(message, str):
                        if message.strip() == "stop":
                            server_self._finish()
                        return
                    if server_self.closed.is_set():
                        return
                    try:
                        server_self.stream.put_message(bytes(message))
                    except LabError as exc:
                        server_self.stream.last_error = str(exc)
                        self.write_message(json.dumps({"type": "error", "message": str(exc)}))

                def on_close(self) -> None:
                    if server_self._socket is self:
                        server_self._finish()
                        server_self._socket = None

            asyncio.set_event_loop(asyncio.new_event_loop())
            try:
                app = tornado.web.Application([(r"/", PageHandler), (r"/stream", StreamSocket)],
                                              websocket_max_message_size=MAX_FRAME_BYTES)
                sockets = tornado.netutil.bind_sockets(self.port, address=self.ip)
                self.port = int(sockets[0].getsockname()[1])
                self._server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_FRAME_BYTES)
                self._server.add_sockets(sockets)
                self._loop = tornado.ioloop.IOLoop.current()
            except BaseException as exc:
                self._error = exc
                ready.set()
                return
            ready.set()
            self._loop.start()

        import tornado.ioloop  # noqa: F401  (imported here so a missing tornado fails before the thread)

        self._thread = threading.Thread(target=serve, name="lab-live-page", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)
        if self._error is not None:
            raise LabError(f"the live page could not be served on {self.ip}:{self.port}: {self._error}",
                           exit_code=3)
        return self.url

    def _finish(self) -> None:
        """The page asked to stop or went away: the stream ends after its last frame."""
        self.closed.set()
        self.stream.end()

    def send(self, message: dict[str, Any]) -> None:
        """Send ``message`` (JSON) to the page, from any thread; nothing if no page is connected."""
        loop, sock = self._loop, self._socket
        if loop is None or sock is None:
            return
        text = json.dumps(message)

        def write() -> None:
            import tornado.websocket

            try:
                sock.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                pass

        loop.add_callback(write)

    def send_update(self, update, latency_ms: float, frame: SourceFrame, image_px: np.ndarray | None) -> None:
        """One processed frame's answer: the update, the player's landmarks (frame pixels) and the frame's capture time."""
        d = update.to_dict()
        t_ms = self.stream.first_capture_ms + frame.time_s * 1000.0
        d.update(type="update", frame=frame.index, t_ms=t_ms, latency_ms=round(latency_ms, 1),
                 width=self.stream.width, height=self.stream.height,
                 landmarks=None if image_px is None else _finite_list(image_px, 1),
                 ghost=None if update.ghost_px is None else _finite_list(update.ghost_px, 1))
        self.send(d)

    def stop(self, *, linger_s: float = 1.0) -> None:
        """Close the page's socket (after ``linger_s`` for the last message to go) and stop serving."""
        loop = self._loop
        if loop is None:
            return
        time.sleep(linger_s)

        def shutdown() -> None:
            if self._socket is not None:
                self._socket.close()
            if self._server is not None:
                self._server.stop()
            loop.stop()

        loop.add_callback(shutdown)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = None
