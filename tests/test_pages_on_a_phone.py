"""Every page a report run writes, on a phone (390 px, emulated) and on a desktop (1400 px), in Chromium.

A page must carry a viewport tag, must not be wider than the window (``scrollWidth <= innerWidth``;
wide tables scroll inside their own box) and no Plotly figure may be wider than the window.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import measure_page, open_chromium
from test_report import _small_analysis

from lab.report import report_entry, write_analysis_report, write_index

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
    """The two demo reports (with their videos) and the index, as ``lab demo`` writes them."""
    from lab.demo import DEMO_PAIRS

    out = tmp_path / "demo"
    entries = [report_entry({**p, "reference": samples[p["reference"]], "attempt": samples[p["attempt"]]}, out)
               for p in DEMO_PAIRS]
    index = write_index(out, entries, title="lab demo")
    pages = [index] + [out / e["href"] for e in entries]
    text = index.read_text()
    for e in entries:
        assert "summary" in e, e
        folder = out / e["name"]
        for name in ("report.html", "overlay.mp4", "joint_angles.csv", "thumbnail.png"):
            assert (folder / name).exists() and f"{e['name']}/{name}" in text, name
    with open_chromium() as new_page:
        for page in pages:
            for width, phone in WIDTHS:
                layout = measure_page(new_page, page, width_px=width, phone=phone)
                assert_fits(layout, page)
                if page.name == "report.html":
                    titles = [f["title"] for f in layout.figures]
                    assert len(titles) == 4 and all(len(re.sub("<br>.*", "", t)) <= 44 for t in titles), titles
