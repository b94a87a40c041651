"""The live page: frames from the browser as a stream, the server's safety, and the page in headless Chromium
with a fake camera (a sample clip): skeleton, score and final verdict, with no request beyond 127.0.0.1."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest
from hostile import assert_refused, run_lab, snapshot
from synthetic_pose import standing

from lab.io import LabError
from lab.live.browser import BrowserStream, LivePageServer
from lab.pose.track import write_track


def frame_message(t_ms: float, rgb: np.ndarray) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return struct.pack("<d", t_ms) + jpeg.tobytes()


def test_frames_from_the_page_become_a_stream_timed_from_the_first():
    stream = BrowserStream()
    got = []
    reader = threading.Thread(target=lambda: got.extend(stream), daemon=True)
    reader.start()
    img = np.zeros((120, 160, 3), np.uint8)
    img[:, :80] = (200, 30, 30)
    for k, t in enumerate((1000.0, 1033.5, 1066.0)):
        assert stream.put_message(frame_message(t, img)) == t
        time.sleep(0.05)  # the reader takes each before the next arrives
    big = np.zeros((240, 320, 3), np.uint8)
    stream.put_message(frame_message(1100.0, big))  # another size: resized to the first's
    time.sleep(0.05)
    stream.end()
    reader.join(timeout=5)
    assert (stream.width, stream.height) == (160, 120)
    assert [f.index for f in got] == [0, 1, 2, 3]
    assert np.allclose([f.time_s for f in got], [0.0, 0.0335, 0.066, 0.1])
    assert got[0].rgb.shape == (120, 160, 3) and got[3].rgb.shape == (120, 160, 3)
    assert got[0].rgb[60, 20, 0] > 150 and got[0].rgb[60, 20, 2] < 80  # RGB, not BGR
    assert stream.dropped == 0


def test_a_message_that_is_not_a_frame_is_refused_and_counted():
    stream = BrowserStream()
    for bad in (b"", b"12345678", struct.pack("<d", 5.0) + b"not a jpeg",
                struct.pack("<d", float("nan")) + frame_message(0, np.zeros((8, 8, 3), np.uint8))[8:]):
        with pytest.raises(LabError):
            stream.put_message(bad)
    assert stream.rejected == 4 and stream.received == 0
    stream.end()
    with pytest.raises(LabError, match="sent no frame"):
        stream.width  # noqa: B018  (the property waits for the first frame)


def test_the_server_serves_its_page_to_this_machine_and_its_socket_to_its_own_page_only():
    websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")
    stream = BrowserStream()
    server = LivePageServer(stream, title="squat <b>drill</b>")
    url = server.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as r:
            page = r.read().decode()
            csp = r.headers["Content-Security-Policy"]
        assert "getUserMedia" in page and "<script src" not in page and "http" not in page.split("<script>")[1]
        assert "default-src 'self'" in csp
        ws_url = url.replace("http", "ws") + "stream"
        with pytest.raises(websocket.WebSocketBadStatusException):  # another site's page may not connect
            websocket.create_connection(ws_url, timeout=10, origin="http://example.com")
        ws = websocket.create_connection(ws_url, timeout=10, origin=url.rstrip("/"))
        hello = json.loads(ws.recv())
        assert hello["type"] == "hello" and hello["title"] == "squat <b>drill</b>"  # shown as text by the page
        assert [11, 12] in hello["edges"]  # the shoulders, in MediaPipe's numbering
        second = websocket.create_connection(ws_url, timeout=10, origin=url.rstrip("/"))
        opcode, close = second.recv_data_frame(True)  # one session at a time: the second is closed, saying why
        assert opcode == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", close.data[:2])[0] == 1013
        assert b"already running" in close.data
        ws.send_binary(b"garbage!garbage")
        assert json.loads(ws.recv())["type"] == "error"
        ws.send_binary(frame_message(10.0, np.zeros((90, 160, 3), np.uint8)))
        assert (stream.width, stream.height) == (160, 90)
        ws.send("stop")
        assert server.closed.wait(timeout=10)
        assert [f.index for f in stream] == [0]  # the stream ends after the last frame
    finally:
        server.stop(linger_s=0)


def test_a_recording_has_a_frame_for_each_frame_time_and_is_named_only_when_kept(tmp_path):
    from lab.live.stream import StreamRecorder

    rec = StreamRecorder(tmp_path / "take.mp4", fps=30.0, width=64, height=48)
    shades = {}
    for t, shade in ((5.0, 40), (5.034, 80), (5.1, 160), (5.13, 220)):  # one frame not processed at 5.067 s
        shades[rec.add(t, np.full((48, 64, 3), shade, np.uint8))] = shade
    assert list(shades) == [0, 1, 3, 4]
    assert [k for k, _ in rec.frame_times] == [0, 1, 2, 3, 4]
    assert np.allclose([t for _, t in rec.frame_times], [5.0, 5.034, 5.0 + 2 / 30, 5.1, 5.13])
    assert not (tmp_path / "take.mp4").exists()  # written under a temporary name until kept
    assert rec.commit() == tmp_path / "take.mp4" and [p.name for p in tmp_path.iterdir()] == ["take.mp4"]
    cap = cv2.VideoCapture(str(tmp_path / "take.mp4"))
    means = []
    while (got := cap.read())[0]:
        means.append(got[1].mean())
    assert np.allclose(means, [40, 80, 80, 160, 220], atol=6)  # the frame not processed repeats the previous
    failed = StreamRecorder(tmp_path / "failed.mp4", fps=30.0, width=64, height=48)
    failed.add(0.0, np.zeros((48, 64, 3), np.uint8))
    failed.discard()
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]


def test_a_port_in_use_is_one_line_and_writes_nothing(tmp_path):
    write_track(standing(T=60), tmp_path / "coach.parquet")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        before = snapshot(tmp_path)
        r = run_lab("live", "coach.parquet", "--browser", "--port", busy.getsockname()[1], cwd=tmp_path)
    assert_refused(r, 3, before=before, after=snapshot(tmp_path), words="the live page could not be served")


OVERLAY_PIXELS = """(() => { const c = document.getElementById('overlay');
  if (!c.width || !c.height) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()"""


@pytest.mark.slow
def test_the_live_page_with_a_fake_camera_draws_the_skeleton_scores_and_stores_the_attempt(samples, tmp_path):
    from browser import open_live_page, write_y4m

    from lab.library import add_drill, list_attempts, read_entry_track, show

    root = tmp_path / "lib"  # the coach's drill, processed once and stored
    drill = add_drill(samples["pose2sim/cam01.mp4"], title="balance", coach="Kim", root=root)
    camera = tmp_path / "player.y4m"
    write_y4m(samples["pose2sim/cam03.mp4"], camera, width_px=360, seconds=100 / 60)
    take = tmp_path / "take.mp4"
    with open_live_page(["--drill", drill["id"], "--root", root, "--player", "Ann", "--record", take, "--reps"], camera,
                        network=True) as run:
        tab = run.tab
        t0 = time.monotonic()
        while not tab.js("document.readyState === 'complete' && !!document.getElementById('score')"):
            assert time.monotonic() - t0 < 30, "the page did not load"
            time.sleep(0.2)
        drawn_px, score = 0, "--"
        while (not drawn_px or score == "--") and time.monotonic() - t0 < 30:
            time.sleep(0.25)
            drawn_px = max(drawn_px, tab.js(OVERLAY_PIXELS))
            score = tab.js("document.getElementById('score').textContent")
        took = time.monotonic() - t0
        assert drawn_px > 500, "no skeleton was drawn over the camera within 30 s"
        assert score.endswith("/100") and 0 <= int(score.split("/")[0]) <= 100, f"no score within 30 s: {score}"
        while tab.js("labLive.answers") < 30 and time.monotonic() - t0 < 60:  # a few seconds of stream
            time.sleep(0.25)
        live = json.loads(tab.js("JSON.stringify({sent: labLive.sent, answers: labLive.answers, "
                                 "skeletons: labLive.skeletons, ghosts: labLive.ghosts || 0})"))
        tab.js("document.getElementById('stop').click()")
        final = run.final()
        end = time.monotonic() + 15
        while not (shown := tab.js("document.getElementById('final').textContent")) and time.monotonic() < end:
            time.sleep(0.25)
        requests = [e["params"].get("request", {}).get("url") or e["params"].get("url") for e in tab.events
                    if e["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated")]
    print(f"score and skeleton after {took:.1f} s; page {live}; requests {requests}")
    assert live["ghosts"] > 0  # the coach's ghost came with the answers
    assert requests and all(u.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")) for u in requests), requests
    assert any(u.startswith("ws://127.0.0.1:") for u in requests)
    assert final["final"] and final["verdict"] in ("same", "different", "uncertain") and final["processed"] >= 30
    assert final["verdict"].capitalize() in shown and f"{round(final['score'])}/100" in shown
    assert final["repetitions_summary"] and final["repetitions_summary"] in shown  # the count, and how sure
    # the stream went into the library as an attempt, with the recording of the frames processed
    assert list(list_attempts(drill_id=drill["id"], root=root)["id"]) == [final["attempt_id"]]
    stored = show(final["attempt_id"], root=root)
    assert stored["verdict"] == final["verdict"]
    track = read_entry_track(final["attempt_id"], root=root)
    assert track.meta["live"]["processed"] == final["processed"]
    for video in (take, root / stored["video"]):
        cap = cv2.VideoCapture(str(video))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == track.n_frames  # row k is the recording's frame k
        cap.release()


@pytest.mark.slow
def test_the_apps_live_box_opens_the_page_and_stores_the_attempt(samples, tmp_path):
    """The app's "live" button, with a client doing what the page does: a frame, its answer, the next."""
    import re

    websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")
    from lab.app import build_app
    from lab.library import add_drill, list_attempts

    root = tmp_path / "lib"
    add_drill(samples["pose2sim/cam01.mp4"], title="balance", coach="Kim", root=root)
    ui = build_app(root)
    w = ui.lab_widgets
    w["live"].click()
    assert "enter the player&#x27;s name" in w["live_status"].value and ui.lab_state.get("live") is None
    w["player"].value = "Ann"
    w["live"].click()
    url = re.search(r'href="(http://127\.0\.0\.1:\d+/)"', w["live_status"].value).group(1)
    assert w["live"].disabled  # one live page at a time
    ws = websocket.create_connection(url.replace("http", "ws") + "stream", timeout=10, origin=url.rstrip("/"))
    assert json.loads(ws.recv())["title"].startswith("balance (coach Kim")
    ws.settimeout(1.0)
    cap = cv2.VideoCapture(str(samples["pose2sim/cam03.mp4"]))
    updates = []
    for k in range(100):
        ok, bgr = cap.read()
        assert ok
        small = cv2.resize(bgr, (360, 640), interpolation=cv2.INTER_AREA)
        ws.send_binary(frame_message(1000.0 + k * 1000 / 60, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
        try:  # the answer, unless the drill is still being prepared
            updates.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
    ws.send("stop")
    ws.settimeout(180)
    final = json.loads(ws.recv())
    while final["type"] == "update":
        final = json.loads(ws.recv())
    end = time.monotonic() + 30
    while ui.lab_state.get("live") is not None and time.monotonic() < end:
        time.sleep(0.2)
    seen = [u for u in updates if u["type"] == "update" and u["landmarks"]]
    assert len(seen) > 20 and all(len(u["landmarks"]) == 33 for u in seen)
    assert final["type"] == "final" and final["verdict"] in ("same", "different", "uncertain"), final
    attempts = list_attempts(root=root)
    assert list(attempts["player"]) == ["Ann"] and attempts.iloc[0]["verdict"] == final["verdict"]
    assert "Live attempt stored" in w["live_status"].value and "Verdict:" in w["live_verdict"].value
    assert not w["live"].disabled
