"""Every page a report run writes, on a phone (390 px, emulated) and on a desktop (1400 px), in Chromium.

A page must carry a viewport tag, must not be wider than the window (``scrollWidth <= innerWidth``;
wide tables scroll inside their own box) and no Plotly figure may be wider than the window.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import measure_page, open_chromium
from test_report import DEVELOPER_TEXT, _small_analysis, split_technical_section

from lab.report import write_analysis_report, write_index

WIDTHS = ((390, True), (1400, False))


def assert_fits(layout, page: Path) -> None:
    where = f"{page.name} at {layout.width_px} px"
    assert layout.viewport and "width=device-width" in layout.viewport, f"{where}: no viewport tag"
    assert layout.inner_width == layout.width_px, f"{where}: laid out {layout.inner_width} px wide"
    assert layout.scroll_width <= layout.inner_width, f"{where}: {layout.scroll_width} px of content"
    assert layout.too_wide == [], f"{where}: wider than the window: {layout.too_wide}"
    for f in layout.figures:
        assert f["left"] >= 0 and f["right"] <= layout.inner_width + 0.5, f"{where}: figure {f['title']!r} {f}"
        assert f["layout_width"] <= layout.inner_width, f"{where}: figure {f['title']!r} {f}"


def test_check_catches_a_page_wider_than_a_phone(tmp_path):
    """Positive control: no viewport tag, a wide table and a fixed-width figure all fail the check."""
    page = tmp_path / "wide.html"
    page.write_text("<html><body><table><tr>" + "<td>wide-cell-content</td>" * 40 + "</tr></table></body></html>")
    with open_chromium() as new_page:
        layout = measure_page(new_page, page, width_px=390, phone=True)
    assert layout.viewport is None and layout.inner_width > 390     # a phone lays it out 980 px wide
    with pytest.raises(AssertionError):
        assert_fits(layout, page)


def test_report_and_index_fit_a_phone_and_a_desktop(tmp_path):
    out = tmp_path / "reports"
    write_analysis_report(_small_analysis(), out / "pair", video=False, back_href="../index.html")
    write_index(out, [{"name": "pair", "href": "pair/report.html", "label": "same", "words": "Same movement.",
                       "summary": {"verdict": "same", "score": 71.0, "reference": "coach.trc",
                                   "attempt": "player.trc"}}])
    pages = [out / "pair" / "report.html", out / "index.html"]
    assert 'href="../index.html"' in pages[0].read_text()
    with open_chromium() as new_page:
        for page in pages:
            for width, phone in WIDTHS:
                layout = measure_page(new_page, page, width_px=width, phone=phone,
                                      screenshot=tmp_path / f"{page.parent.name}_{width}.png")
                assert_fits(layout, page)
                assert layout.screenshot.stat().st_size > 5_000
        assert len(measure_page(new_page, pages[0], width_px=390, phone=True).figures) >= 3


@pytest.mark.slow
def test_every_page_of_the_demo_fits_a_phone_and_a_desktop(tmp_path, samples):
    """Every page ``lab demo`` writes: the two reports (with their videos), the viewpoint experiment
    (written when the motion capture is beside the checkout, as in CI) and the index."""
    from lab.demo import DEMO_PAIRS, run_demo
    from lab.score.experiments import shared_dir

    out = tmp_path / "demo"
    run_demo(out)
    index = out / "index.html"
    reports = [out / p["name"] / "report.html" for p in DEMO_PAIRS]
    experiment = out / "viewpoint_experiment" / "report.html"
    pages = [index] + reports
    if (shared_dir() / "data" / "cmu_bvh").exists():
        assert experiment.exists()
        pages.append(experiment)
    for page in reports:          # words for a coach on the real pages too, and the player
        body = page.read_text()
        rest, technical = split_technical_section(body)
        assert not DEVELOPER_TEXT.search(rest) and "How this was computed" in technical
        assert 'class="lab-player"' in body and 'href="../index.html"' in body
    text = index.read_text()
    for p in DEMO_PAIRS:
        for name in ("report.html", "overlay.mp4", "joint_angles.csv", "thumbnail.png"):
            assert (out / p["name"] / name).exists() and f"{p['name']}/{name}" in text, name
    if experiment in pages:
        assert "viewpoint_experiment/report.html" in text and 'href="../index.html"' in experiment.read_text()
    with open_chromium() as new_page:
        for page in pages:
            for width, phone in WIDTHS:
                layout = measure_page(new_page, page, width_px=width, phone=phone,
                                      screenshot=tmp_path / f"{page.parent.name}_{width}.png")
                assert_fits(layout, page)
                if page in reports:
                    titles = [f["title"] for f in layout.figures]
                    assert len(titles) == 4 and all(len(re.sub("<br>.*", "", t)) <= 44 for t in titles), titles
                elif page == experiment:
                    assert layout.figures and all(len(re.sub("<br>.*", "", f["title"])) <= 44
                                                  for f in layout.figures), [f["title"] for f in layout.figures]


def test_side_by_side_player_steps_both_clips_to_their_matched_times(tmp_path):
    """Offline, in Chromium: the player's buttons step the video one frame at a time; the pixels on screen
    (left half the coach's frame, right half the player's, each painted with its own frame number) and
    the times shown follow the DTW match; a sentence lights up inside its span."""
    import json
    import time

    import numpy as np

    from lab.export.video import write_h264
    from lab.report import player_html
    from lab.viz.draw import match_reference_frames

    path = np.array([[0, 0], [1, 0], [2, 1], [3, 1], [4, 2], [5, 3], [5, 4], [5, 5], [6, 6], [8, 7], [9, 8]])
    match = match_reference_frames(path, 9)
    assert list(match) == [0, 2, 4, 5, 5, 5, 6, 8, 9]
    level = lambda k: 20 + 22 * int(k)  # noqa: E731   frame k painted this grey
    frames = [np.concatenate([np.full((32, 32, 3), level(match[j]), np.uint8),
                              np.full((32, 32, 3), level(j), np.uint8)], axis=1) for j in range(9)]
    write_h264(frames, tmp_path / "overlay.mp4", fps=10)
    coach_t, player_t = match / 20.0, np.arange(9) / 10.0          # the coach filmed at 20 fps
    page = tmp_path / "player.html"
    page.write_text("<!DOCTYPE html><html><head><meta name='viewport' content='width=device-width, "
                    "initial-scale=1'></head><body>"
                    + player_html("overlay.mp4", fps=10, coach_time_s=coach_t, player_time_s=player_t,
                                  cues=[("Left knee bends more", 0.24, 0.31)]) + "</body></html>")
    probe = """(() => { const box = document.querySelector('.lab-player'), v = box.querySelector('video');
      const c = document.createElement('canvas'); c.width = 64; c.height = 32;
      const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 32);
      const px = (x) => g.getImageData(x, 16, 1, 1).data[0];
      return {frame: +box.getAttribute('data-frame'), left: px(16), right: px(48),
              times: box.querySelector('.lab-times').textContent, ready: v.readyState,
              seeking: v.seeking || +box.getAttribute('data-frame') !== Math.floor(v.currentTime * 10 + 1e-3),
              lit: [...box.querySelectorAll('.lab-cue-now')].length}; })()"""
    with open_chromium(extra_args=("--allow-file-access-from-files",)) as new_page:
        tab = new_page()
        tab.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        tab.call("Page.navigate", url=page.resolve().as_uri())

        def settled():
            end = time.monotonic() + 20
            while time.monotonic() < end:
                s = tab.js(probe)
                if s["ready"] >= 2 and not s["seeking"]:   # the video is there and the player has shown it
                    return s
                time.sleep(0.2)
            raise AssertionError(f"the video did not settle: {s}")

        end = time.monotonic() + 20
        while not tab.js("document.readyState === 'complete' && !!document.querySelector('.lab-next')"):
            assert time.monotonic() < end, "the page did not load"
            time.sleep(0.2)
        tab.js("document.querySelector('.lab-next').click()")     # frame 0 -> 1
        seen = [settled()]
        for _ in range(4):
            tab.js("document.querySelector('.lab-next').click()")
            seen.append(settled())
        tab.js("document.querySelector('.lab-prev').click()")
        seen.append(settled())
        tab.js("(() => { const s = document.querySelector('.lab-speed'); s.value = '0.25';"
               " s.dispatchEvent(new Event('change')); })()")
        rate = tab.js("document.querySelector('video').playbackRate")
    assert [s["frame"] for s in seen] == [1, 2, 3, 4, 5, 4]
    for s in seen:
        j = s["frame"]
        assert abs(s["right"] - level(j)) <= 6, (s, level(j))                 # the player's frame j
        assert abs(s["left"] - level(match[j])) <= 6, (s, level(match[j]))    # the coach's matched frame
        assert s["times"] == f"coach {coach_t[j]:.2f} s \u00b7 player {player_t[j]:.2f} s"
    assert [s["lit"] for s in seen] == [0, 0, 1, 1, 1, 1]       # coach 0.10, 0.20 s: before the span; then 0.25 s
    assert rate == 0.25
    assert json.loads(page.read_text().split('data-frames="')[1].split('"')[0].replace("&quot;", '"'))["fps"] == 10
