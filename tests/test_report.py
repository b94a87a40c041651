"""The shareable comparison report: offline HTML, browser check, atomic writes, reproducible figures."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.align.ghost import reference_frame_per_attempt_frame
from lab.export.html import export_html, find_external_references
from lab.export.video import write_h264
from lab.io import LabError
from lab.report import read_pairs, write_analysis_report, write_index, write_report
from lab.score.deviation import (
    build_joint_table,
    deviation_per_frame,
    feedback_table,
    measure_noise_ratio_per_frame,
    path_to_frames,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ----------------------------------------------------------------- pieces
def test_path_to_frames_and_matches_per_attempt_frame():
    t_ref = np.arange(10) / 10.0 + 5.0      # clips need not start at 0
    t_att = np.arange(6) / 5.0
    path_s = np.array([[0.0, 0.0], [0.31, 0.2], [0.6, 0.4], [0.9, 1.0]])
    np.testing.assert_array_equal(path_to_frames(path_s, t_ref, t_att), [[0, 0], [3, 1], [6, 2], [9, 5]])
    m = reference_frame_per_attempt_frame(np.array([[2, 1], [3, 1], [5, 3]]), 6)
    # frame 0 before the path takes the first match, 2 holds the last match, 4-5 hold frame 3's
    np.testing.assert_array_equal(m, [2, 2, 2, 5, 5, 5])


def _per_step():
    rows = []
    for step, t in enumerate([0.0, 0.1, 0.2]):
        for joint, d in (("left_knee", -10.0 * (step + 1)), ("right_elbow", 5.0)):
            rows.append(dict(step=step, reference_time_s=t, attempt_time_s=t, joint=joint,
                             reference_deg=20.0, attempt_deg=20.0 + d, difference_deg=d,
                             confidence=1.0, phase=1 + step // 2))
    return pd.DataFrame(rows)


def test_deviation_lands_on_the_joint_vertex_and_swaps_sides_when_mirrored():
    from lab.pose.track import BLAZEPOSE_KEYPOINTS as KP
    dev = deviation_per_frame(_per_step(), np.array([0.0, 0.1, 0.2]), KP)
    np.testing.assert_allclose(dev[:, KP.index("left_knee")], [10, 20, 30])
    np.testing.assert_allclose(dev[:, KP.index("right_elbow")], [5, 5, 5])
    assert np.isnan(dev[:, KP.index("nose")]).all()
    mir = deviation_per_frame(_per_step(), np.array([0.0, 0.1, 0.2]), KP, mirrored=True)
    np.testing.assert_allclose(mir[:, KP.index("right_knee")], [10, 20, 30])
    assert np.isnan(mir[:, KP.index("left_knee")]).all()


def test_feedback_table_means_per_phase():
    t = feedback_table(_per_step())
    assert list(t.columns) == ["phase 1", "phase 2"]
    assert list(t.index) == ["left knee", "right elbow"]     # larger differences first
    assert t.loc["left knee", "phase 1"] == -15.0            # mean of -10, -20
    assert t.loc["left knee", "phase 2"] == -30.0
    assert t.loc["right elbow", "phase 2"] == 5.0


def test_noise_ratio_divides_by_each_joints_threshold_and_leaves_unjudged_joints_out():
    from lab.pose.track import BLAZEPOSE_KEYPOINTS as KP
    t = np.array([0.0, 0.1, 0.2])
    r = measure_noise_ratio_per_frame(_per_step(), t, KP, thresholds_deg={"left_knee": 20.0, "right_elbow": None})
    np.testing.assert_allclose(r[:, KP.index("left_knee")], [0.5, 1.0, 1.5])
    assert np.isnan(r[:, KP.index("right_elbow")]).all()          # can't be judged: no colour but grey
    mir = measure_noise_ratio_per_frame(_per_step(), t, KP, thresholds_deg={"left_knee": 20.0}, mirrored=True)
    np.testing.assert_allclose(mir[:, KP.index("right_knee")], [0.5, 1.0, 1.5])   # the player's own knee
    assert np.isnan(mir[:, KP.index("left_knee")]).all()


def _comparison(*, mirrored: bool = False):
    """A comparison-like record: a left knee 10-30 degrees off with a 12 degree threshold, a right elbow
    5 off with a 20 degree threshold, and a neck these cameras can't judge."""
    from types import SimpleNamespace

    from lab.pose.sides import swap_side
    from lab.score.compare import JointResult
    ps = _per_step()
    ps = pd.concat([ps, ps[ps["joint"] == "right_elbow"].assign(joint="neck", difference_deg=40.0)])
    ps["attempt_joint"] = [swap_side(j) if mirrored else j for j in ps["joint"]]
    own = (lambda j: swap_side(j)) if mirrored else (lambda j: j)
    joints = [JointResult("left_knee", own("left_knee"), threshold_deg=12.0, detectable_deg=16.0, can_judge=True),
              JointResult("right_elbow", own("right_elbow"), threshold_deg=20.0, detectable_deg=27.0, can_judge=True),
              JointResult("neck", "neck", threshold_deg=70.0, detectable_deg=95.0, can_judge=False)]
    return SimpleNamespace(per_step=ps.reset_index(drop=True), joints=joints, mirrored=mirrored)


def test_joint_table_has_the_detectable_difference_and_words_for_what_cant_be_judged():
    from lab.report import feedback_table_html
    t = build_joint_table(_comparison())
    assert list(t.columns) == ["phase 1", "phase 2", "threshold (deg)", "detectable (deg)", "can judge"]
    assert list(t.index) == ["left knee", "right elbow", "neck"]     # closest to a real difference first
    assert t.loc["left knee", "phase 1"] == -15.0 and t.loc["left knee", "phase 2"] == -30.0
    assert t.loc["right elbow", "detectable (deg)"] == 27.0 and not t.loc["neck", "can judge"]
    page = feedback_table_html(t)
    assert "<th>detectable (deg)</th>" in page
    rows = dict(re.findall(r"<tr><th[^>]*>([^<]+)</th>(.*?)</tr>", page))
    assert "can&#x27;t be judged" in rows["neck"] or "can't be judged" in rows["neck"]
    assert "95" in rows["neck"] and "background" not in rows["neck"]          # grey words, no colour
    assert "can't be judged" not in rows["left knee"] and ">16<" in rows["left knee"]
    # the right elbow's 5 degrees are inside its noise (20): no shading at all
    assert re.findall(r"background:([^;]+);", rows["right elbow"]) == ["#fff", "#fff"]
    # the left knee: 15 is just beyond its 12 (yellowish), 30 is 2.5 times it (red)
    bg = [tuple(map(int, m)) for m in re.findall(r"background:rgb\((\d+),(\d+),(\d+)\)", rows["left knee"])]
    assert len(bg) == 2 and bg[0][1] > 200 and bg[1][0] > 230 and bg[1][1] < 160


def test_every_joint_the_report_names_is_the_players_own_when_mirrored():
    from lab.report import feedback_table_html
    t = build_joint_table(_comparison(mirrored=True))
    assert list(t.index) == ["right knee", "left elbow", "neck"]
    assert "left knee" not in feedback_table_html(t)


def test_headline_says_what_cant_be_judged_and_whose_sides_they_are():
    from types import SimpleNamespace

    from lab.report import headline_html
    c = _small_analysis().comparison
    c = SimpleNamespace(**{**c.__dict__, "mirrored": True,
                           "cannot_judge": ["The right elbow can't be judged from the player's camera: its noise "
                                            "would hide differences smaller than 120 degrees"]})
    page = headline_html(SimpleNamespace(comparison=c, notes=(), reference_source="c.mp4", attempt_source="p.mp4"))
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "mirror image" in text and "left and right below are the player's own" in text.lower()
    assert "1 of 14 joints can't be judged" in text and "smaller than 120 degrees" in text
    assert c.summary in text


def test_report_curves_have_bands_and_say_what_each_joint_can_show():
    from lab.report import measure_noise_ratio, plot_report_curves
    a = _small_analysis()
    fig = plot_report_curves(a)
    titles = [x.text for x in fig.layout.annotations]
    assert len(titles) == 4 and titles[0].startswith("left knee: a difference of ")
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2 * 4 and all("95% band" in t.name for t in bands)
    ratio = measure_noise_ratio(a)
    assert ratio.shape == a.deviation_deg.shape
    # the knee differs by 5 degrees at most, inside its threshold: nothing it colours can be red
    from lab.viz import color_by_noise_ratio
    assert np.nanmax(ratio) < 1 and all(c[0] < 200 for row in ratio for c in color_by_noise_ratio(row))


def test_external_references_are_found_but_mentions_in_code_are_not():
    assert find_external_references('<script src="https://cdn.plot.ly/plotly.js"></script>')
    assert find_external_references("<link rel='stylesheet' href='//fonts.example.com/a.css'>")
    assert find_external_references('<img alt="x" src="http://example.com/a.png">')
    assert find_external_references('<script>require.config({paths: {a: "https://x/y"}})</script>')
    assert not find_external_references('<script>var u = "https://tile.openstreetmap.org/";</script>')
    assert not find_external_references('<video src="overlay.mp4"></video><a href="https://x.org">x</a>')


def _plotly_notebook(n_figures=2):
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells.append(new_code_cell('import plotly.io as pio\npio.renderers.default = "notebook"\n'
                                  'import plotly.graph_objects as go'))
    for i in range(n_figures):
        nb.cells.append(new_code_cell(f"go.Figure(go.Scatter(x=[0, 1], y=[{i}, 2]))"))
    return nb


def new_code_cell_tagged(source, tag):
    from nbformat.v4 import new_code_cell
    c = new_code_cell(source)
    c.metadata["tags"] = [tag]
    return c


def test_export_inlines_plotly_once_and_references_no_cdn(tmp_path):
    from nbclient import NotebookClient

    nb = _plotly_notebook(2)
    live = new_code_cell_tagged('print("LIVE-WIDGET-OUTPUT")', "remove-output")
    nb.cells.append(live)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    raw = json.dumps(nb)
    assert "LIVE-WIDGET-OUTPUT" in raw
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" in raw, "plotly's renderer adds MathJax from a CDN"
    page = export_html(nb)
    assert find_external_references(page) == []
    assert "require.min.js" not in page and "cdnjs.cloudflare.com" not in page
    assert "cdn" not in page.lower(), "no CDN named anywhere, not even inside inlined plotly.js"
    assert page.count("Plotly.newPlot(") == 2
    assert page.count("/** @license") == raw.count("/** @license")  # plotly.js inlined once, not per figure
    assert "import plotly.io" not in page                              # code hidden
    assert "LIVE-WIDGET-OUTPUT" not in page                            # live-only cells left out


def test_write_h264_is_browser_playable(tmp_path):
    import imageio_ffmpeg
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(12)]
    out = write_h264(iter(frames), tmp_path / "v.mp4", fps=24)
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)],
                          capture_output=True, text=True).stderr
    assert "h264" in info and "yuv420p" in info and "64x48" in info and "24 fps" in info
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart: index before the media data"
    n = sum(1 for _ in imageio_ffmpeg.read_frames(str(out))) - 1   # first item is metadata
    assert n == 12
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]         # no temporary left
    with pytest.raises(ValueError):
        write_h264(iter([np.zeros((47, 64, 3), np.uint8)]), tmp_path / "odd.mp4", fps=24)
    assert not (tmp_path / "odd.mp4").exists()


def test_read_pairs_csv_and_yaml(tmp_path):
    (tmp_path / "pairs.csv").write_text("reference,attempt,name,label\na.mp4,b.mp4,ab,same\nc.mp4,/x/d.mp4,,\n")
    pairs = read_pairs(tmp_path / "pairs.csv")
    assert pairs[0]["name"] == "ab" and pairs[0]["reference"] == tmp_path / "a.mp4"
    assert pairs[1]["name"] == "02_c_vs_d" and pairs[1]["attempt"] == Path("/x/d.mp4")
    (tmp_path / "pairs.yaml").write_text("pairs:\n  - {reference: a.mp4, attempt: b.mp4, threshold: 12}\n")
    assert read_pairs(tmp_path / "pairs.yaml")[0]["threshold"] == 12.0
    (tmp_path / "bad.csv").write_text("reference,attempt\na.mp4,\n")
    with pytest.raises(LabError):
        read_pairs(tmp_path / "bad.csv")


def test_index_links_reports(tmp_path):
    idx = write_index(tmp_path, [
        {"name": "p1", "href": "p1/report.html", "summary": {"verdict": "same", "score": 81.2,
                                                             "reference": "/a/c.mp4", "attempt": "/a/d.mp4"}},
        {"name": "p2", "error": "failed: no such file"}])
    page = idx.read_text()
    assert '<a href="p1/report.html">p1</a>' in page and "score 81/100" in page and "failed: no such file" in page
    assert '<meta name=\'viewport\' content=\'width=device-width, initial-scale=1\'>' in page
    assert "Each report below compares" in page


def _small_analysis():
    """An analysis of two synthetic mocap-like clips (no video), computed in a second."""
    from cmp_helpers import skeleton_lab, track_from

    from lab.pipeline import analyze
    t = np.arange(60) / 30.0
    s = np.sin(2 * np.pi * 0.5 * t)
    ref = track_from(skeleton_lab(left_knee_deg=20 + 30 * s, right_arm_deg=40 + 20 * s), frame="lab")
    att = track_from(skeleton_lab(left_knee_deg=25 + 30 * s, right_arm_deg=40 + 20 * s), frame="lab")
    return analyze(ref, att, mirror="no", threshold=8.0)


def test_failed_run_leaves_no_report(tmp_path, monkeypatch):
    """A notebook that fails midway: no report.html, no temporary folder, older files untouched."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    c = new_code_cell("analysis = overlay_video = None")
    c.metadata["tags"] = ["parameters"]
    nb.cells += [c, new_code_cell("open('overlay.mp4', 'w').write('x')\nraise RuntimeError('boom')")]
    nbformat.write(nb, nbdir / "04_compare.ipynb")
    monkeypatch.setenv("LAB_NOTEBOOKS_DIR", str(nbdir))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(LabError, match="boom"):
        write_analysis_report(_small_analysis(), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_bad_input_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    with pytest.raises(LabError):
        write_report(video, video, out)
    assert not out.exists() or not any(out.iterdir())


def test_report_notebook_only_draws(tmp_path):
    """The report's kernel may not compute a stage: it reads the analysis it is given and draws it."""
    from lab.pipeline import STAGE_LOG
    a = _small_analysis()
    first = len(STAGE_LOG)
    page = write_analysis_report(a, tmp_path / "r", video=False)
    assert len(STAGE_LOG) == first                      # nothing computed in this process either
    assert sorted(p.name for p in page.parent.iterdir()) == ["aligned_differences.csv", "analysis", "analysis.zip",
                                                             "joint_angles.csv", "report.html"]
    from lab.pipeline import Analysis
    back = Analysis.load(page.parent / "analysis")
    assert back.to_dict() == a.to_dict()


# ---------------------------------------------------- the real report (slow)
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("chromium is not installed (apt-get install -y chromium); browser check skipped")


def _open_in_chromium(page: Path, tmp: Path, *, height_px: int = 2000) -> tuple[Path, list[str]]:
    """Screenshot of ``page`` (file://) and the http(s) URLs the page itself requested (net log)."""
    shot, netlog = tmp / "shot.png", tmp / "net.json"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
           "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-default-apps",
           f"--user-data-dir={tmp / 'profile'}", f"--log-net-log={netlog}", f"--screenshot={shot}",
           f"--window-size=1280,{height_px}", "--virtual-time-budget=8000", page.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=180)
    assert shot.exists(), "chromium wrote no screenshot"
    log = json.loads(netlog.read_text())
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for e in log["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and str(p.get("url", "")).startswith("http"):
            # the browser's own background calls carry no origin; the page's come from file://
            if p.get("initiator") != "not an origin" or "file://" in str(p.get("network_isolation_key", "")):
                urls.append(p["url"])
    return shot, urls


def test_browser_check_detects_a_page_that_loads_from_the_network(tmp_path):
    """Positive control: the net-log check does catch a page with a CDN script and a remote image."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><h1>x</h1><script src="https://cdn.jsdelivr.net/npm/x.js"></script>'
                    '<img src="http://example.com/a.png"></body></html>')
    _shot, urls = _open_in_chromium(page, tmp_path, height_px=300)
    assert any("cdn.jsdelivr.net" in u for u in urls) and any("example.com" in u for u in urls)


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory, samples):
    out = tmp_path_factory.mktemp("report")
    page = write_report(samples["pose2sim/cam01.mp4"], samples["pose2sim/cam02.mp4"], out / "a")
    return page


def _figures(page: Path) -> list:
    """Every Plotly figure (data, layout) and embedded image of a report, ids normalised."""
    text = UUID.sub("ID", page.read_text())
    figs = re.findall(r"Plotly\.newPlot\(\s*(.*?)\)\s*};", text, flags=re.DOTALL)
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    return figs + imgs


@pytest.mark.slow
def test_report_is_offline_complete_and_renders(sample_report, tmp_path):
    page = sample_report
    text = page.read_text()
    assert find_external_references(text) == []
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)[^"']*cdn""", text, flags=re.IGNORECASE)
    for phrase in ("score", "Matched moments", "Both movements in 3D", "Joint angles after alignment",
                   "Joint by joint, phase by phase", "Where the cameras stood", 'src="overlay.mp4"'):
        assert phrase in text, phrase
    assert re.search(r"(Same movement|Different movement|Can.t tell)</b> (?:&mdash;|\u2014) score <b>\d+</b>/100", text)
    assert text.count("Plotly.newPlot(") >= 4
    assert '"label":"Play"' in text.replace(" ", "") or '"label": "Play"' in text
    assert (page.parent / "overlay.mp4").stat().st_size > 10_000
    assert sorted(p.name for p in page.parent.iterdir()) == ["aligned_differences.csv", "analysis", "analysis.zip",
                                                             "joint_angles.csv", "overlay.mp4", "report.html",
                                                             "thumbnail.png"]
    for name in ("overlay.mp4", "joint_angles.csv", "aligned_differences.csv", "analysis.zip"):
        assert re.search(rf'<a download="" href="{re.escape(name)}">', text), name
    from lab.pipeline import Analysis
    saved = Analysis.load(page.parent / "analysis")
    assert saved.comparison.verdict in ("same", "different", "uncertain") and 0 <= saved.comparison.score <= 100

    shot, urls = _open_in_chromium(page, tmp_path)
    assert urls == [], f"the report requested {urls}"
    import cv2
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (2000, 1280)
    assert float(img.std()) > 20, "screenshot looks blank"
    # the page is not just white: a good share of pixels carry the frames and plots
    assert float((img.mean(axis=2) < 200).mean()) > 0.1


@pytest.mark.slow
def test_overlay_video_is_h264_with_one_frame_per_attempt_frame(sample_report, sample_tracks):
    import imageio_ffmpeg
    mp4 = sample_report.parent / "overlay.mp4"
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(mp4)],
                          capture_output=True, text=True).stderr
    assert "h264" in info and "yuv420p" in info
    assert re.search(r"\d+x1080", info), "the source's 1920-pixel height, held at 1080"
    n = sum(1 for _ in imageio_ffmpeg.read_frames(str(mp4))) - 1
    assert n == sample_tracks["pose2sim/cam02.mp4"].n_frames


@pytest.mark.slow
def test_same_inputs_give_the_same_figures(sample_report, samples, tmp_path):
    again = write_report(samples["pose2sim/cam01.mp4"], samples["pose2sim/cam02.mp4"], tmp_path / "b",
                         video=False)
    first, second = _figures(sample_report), _figures(again)
    assert len(first) >= 6
    assert first == second


@pytest.mark.slow
def test_cli_report_pairs_writes_each_report_and_an_index(tmp_path, samples, capsys):
    """``lab report --pairs``: a good pair gets its report, a broken one is listed with its error."""
    from lab.cli import main
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("reference,attempt,name,label\n"
                     f"{samples['pose2sim/cam01.mp4']},{samples['pose2sim/cam03.mp4']},good,same\n"
                     f"{samples['pose2sim/cam01.mp4']},missing.mp4,broken,same\n")
    code = main(["report", "--pairs", str(pairs), "-o", str(tmp_path / "out"), "--no-video"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1] == str(tmp_path / "out" / "index.html")
    assert out[0].startswith("good: ") and "/100" in out[0]
    assert out[1].startswith("broken: failed: no such file")
    index = (tmp_path / "out" / "index.html").read_text()
    assert '<a href="good/report.html">good</a>' in index and "no such file" in index
    assert (tmp_path / "out" / "good" / "report.html").exists()
    assert not (tmp_path / "out" / "good" / "overlay.mp4").exists()
    assert not (tmp_path / "out" / "broken").exists() or not any((tmp_path / "out" / "broken").iterdir())


def test_cli_report_needs_two_clips_or_pairs(capsys):
    from lab.cli import main
    assert main(["report"]) == 2
    assert "give REFERENCE and ATTEMPT" in capsys.readouterr().err


@pytest.mark.slow
def test_report_from_a_pose_file_has_no_frames_but_everything_else(tmp_path, samples, sample_tracks):
    from lab.pose.track import write_track
    att = write_track(sample_tracks["pose2sim/cam02.mp4"], tmp_path / "player.parquet")
    page = write_report(samples["pose2sim/cam01.mp4"], att, tmp_path / "out")
    text = page.read_text()
    assert "No video frames to show" in text
    assert "overlay.mp4" not in text and not (tmp_path / "out" / "overlay.mp4").exists()
    assert text.count("Plotly.newPlot(") >= 4
    assert find_external_references(text) == []


# ------------------------------------------------- interaction in the page
_ANIMATE_JS = """<script>
window.addEventListener('load', function () { var tries = 0; (function attempt() { try {
  var gds = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(function (g) {
    return g._transitionData && g._transitionData._frames && g._transitionData._frames.length; });
  if (!gds.length) {  // plotly draws asynchronously: wait for the animated figure
    if (++tries < 150) { setTimeout(attempt, 200); return; }
    throw new Error('no animated figure on the page');
  }
  var gd = gds[0], last = gd._transitionData._frames.length - 1;
  var before = gd.data[1].x.slice(0, 3);
  Plotly.animate(gd, [String(last)], {mode: 'immediate', frame: {duration: 0, redraw: true},
                                      transition: {duration: 0}}).then(function () {
    document.body.setAttribute('data-result', JSON.stringify({plots: gds.length, frames: last + 1,
      before: before, after: gd.data[1].x.slice(0, 3), expected: gd._transitionData._frames[last].data[1].x.slice(0, 3),
      title: gd.layout.title.text}));
  }).catch(function (e) { document.body.setAttribute('data-error', String(e)); });
} catch (e) { document.body.setAttribute('data-error', String(e)); } })(); });
</script></body>"""

_SLIDER_JS = """<script>
window.addEventListener('load', function () { var tries = 0; (function attempt() { try {
  var gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd.layout) {
    if (++tries < 150) { setTimeout(attempt, 200); return; }
    throw new Error('no figure on the page');
  }
  var step = gd.layout.sliders[0].steps[STEP];
  Plotly[step.method].apply(null, [gd].concat(step.args)).then(function () {
    var ann = gd.layout.annotations;
    document.body.setAttribute('data-result', JSON.stringify({x: gd.data[2].x, y: gd.data[2].y,
      colors: gd.data[3].marker.color, summary: ann[ann.length - 1].text}));
  }).catch(function (e) { document.body.setAttribute('data-error', String(e)); });
} catch (e) { document.body.setAttribute('data-error', String(e)); } })(); });
</script></body>"""


def _run_in_chromium(page_html: str, tmp: Path) -> dict:
    """Load ``page_html`` (with a script that stores JSON in body[data-result]) and return that JSON."""
    import html as html_mod
    page = tmp / "probe.html"
    page.write_text(page_html)
    # software WebGL on a loaded 2-core machine can outlast one virtual-time budget: up to 3 tries
    for attempt in range(3):
        proc = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                               "--enable-unsafe-swiftshader", "--no-first-run", "--disable-background-networking",
                               f"--user-data-dir={tmp / f'profile2-{attempt}'}", "--dump-dom",
                               "--virtual-time-budget=30000", page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=300)
        m = re.search(r'data-result="([^"]*)"', proc.stdout)
        if m:
            break
    err = re.search(r'data-error="([^"]*)"', proc.stdout)
    assert m, ("the page's script did not report: "
               + (f"JavaScript error {html_mod.unescape(err.group(1))}" if err else
                  f"no result within the time budget (stderr: {proc.stderr[-300:]!r})"))
    return json.loads(html_mod.unescape(m.group(1)))


@pytest.mark.slow
def test_3d_animation_plays_in_the_static_page(sample_report, tmp_path):
    """No kernel: animating to the last frame moves the skeletons and the title follows the DTW-matched times."""
    r = _run_in_chromium(sample_report.read_text().replace("</body>", _ANIMATE_JS), tmp_path)
    assert r["plots"] == 1 and r["frames"] > 10
    assert r["after"] == r["expected"] and r["after"] != r["before"]
    assert re.search(r"coach \d\.\d\d s \| player \d\.\d\d s", r["title"])


def test_threshold_slider_works_in_a_browser(tmp_path):
    """The exported slider's step (what a click does) updates ROC point, verdict colours and counts in Plotly.js."""
    from lab.viz import plot_threshold_explorer
    fig = plot_threshold_explorer(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, False, False]),
                                  thresholds=np.array([0.5, 2.5, 3.5]))
    page = fig.to_html(include_plotlyjs=True, full_html=True)
    r = _run_in_chromium(page.replace("</body>", _SLIDER_JS.replace("STEP", "2")), tmp_path)
    assert r["x"] == [0.5] and r["y"] == [1]
    assert r["colors"] == ["#2ca02c", "#2ca02c", "#d62728", "#2ca02c"]
    assert "accuracy 75%" in r["summary"]


def test_matched_moments_draw_a_mocap_coach_from_the_ghost(tmp_path):
    """No coach video: the coach panel is the ghost skeleton on a dark canvas, at the ghost's pixels."""
    import dataclasses

    import imageio_ffmpeg

    from lab.pose.track import BLAZEPOSE_KEYPOINTS as KP
    from lab.pose.track import PoseTrack
    from lab.report import side_by_side_frames
    video = tmp_path / "p.mp4"
    wr = imageio_ffmpeg.write_frames(str(video), (120, 200), fps=10, codec="libx264", pix_fmt_out="yuv420p",
                                     macro_block_size=2, ffmpeg_log_level="error")
    wr.send(None)
    for _ in range(4):
        wr.send(np.full((200, 120, 3), 200, np.uint8))
    wr.close()
    T, K = 4, len(KP)
    px = np.full((T, K, 2), np.nan)
    ghost = np.full((T, K, 2), np.nan)
    ghost[:, KP.index("left_hip")] = [30.0, 100.0]
    att = PoseTrack(time_s=np.arange(T) / 10, keypoints=KP, image_px=px, meta={"width": 120, "height": 200})
    rep = dataclasses.replace(_small_analysis(), reference_source="coach.trc", attempt_source=str(video),
                              reference_video=None, attempt_video=str(video), reference=att, attempt=att,
                              path_frames=np.array([[i, i] for i in range(T)]),
                              deviation_deg=np.full((T, K), np.nan), ghost_px=ghost)
    img = side_by_side_frames(rep, n=2, height_px=200)
    assert img.shape[0] == 2 * (200 + 8) and img.shape[1] == 120 + 8 + 120 + 16   # landscape-ish pairs: 1 per row
    coach = img[:200, :120]
    assert tuple(coach[100, 30]) == (40, 200, 255)          # the coach's hip drawn where the ghost puts it
    assert int(np.median(coach)) == 30                       # on a dark canvas
    rep = dataclasses.replace(rep, ghost_px=None)
    with pytest.raises(ValueError):
        side_by_side_frames(rep)


def test_leftovers_of_killed_runs_are_cleaned(tmp_path):
    import os

    from lab.report import _staging
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".report.{dead.pid}.abc.part"
    stale.mkdir()
    (stale / "overlay.mp4").write_bytes(b"x")
    live = tmp_path / f".report.{os.getpid()}.def.part"   # a run still going: kept
    live.mkdir()
    new = _staging(tmp_path)
    assert not stale.exists() and live.exists() and new.exists()
    assert new.name.startswith(f".report.{os.getpid()}.")


@pytest.mark.parametrize("name", ["../escaped", "/tmp/absolute-report", "a/../../b"])
def test_pairs_names_must_stay_inside_the_output_folder(tmp_path, name):
    """``lab report --pairs`` with a name that leaves ``-o``: exit 2, one error line, nothing written."""
    from hostile import assert_refused, run_lab, snapshot
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"reference,attempt,name\na.mp4,b.mp4,{name}\n")
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mp4").write_bytes(b"x")
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    r = run_lab("report", "--pairs", pairs, "-o", out, cwd=tmp_path)
    assert_refused(r, 2, before=before, after=snapshot(tmp_path), words="inside the output folder")
    assert not Path("/tmp/absolute-report").exists()


# ------------------------------------------------------- words for a coach
#: What a coach must not meet outside the collapsed "How this was computed" section.
DEVELOPER_TEXT = re.compile(r"papermill|nbconvert|lab\.score|\.json:|\blab(?:\.[a-z_0-9]+){1,}\b|\blab/[\w/]+\.py",
                            re.IGNORECASE)


def split_technical_section(page: str) -> tuple[str, str]:
    """``(the page without scripts, styles and the technical section, the technical section)``."""
    technical = re.findall(r'<details class="lab-technical">.*?</details>', page, flags=re.DOTALL)
    rest = re.sub(r'<details class="lab-technical">.*?</details>', "", page, flags=re.DOTALL)
    rest = re.sub(r"<(script|style)\b.*?</\1>", "", rest, flags=re.DOTALL | re.IGNORECASE)
    return rest, "".join(technical)


def plotly_figures_json(page: str) -> list[str]:
    """The data and layout given to each ``Plotly.newPlot`` call (what the figures write on screen)."""
    return re.findall(r"Plotly\.newPlot\(\s*(.*?)\)\s*};", page, flags=re.DOTALL)


def test_developer_text_is_found_by_the_check():
    """Positive control for the report test below."""
    for text in ("runs this notebook with papermill", "threshold.json: calibrate", "lab.score.experiments",
                 "see lab.viz", "lab/score/compare.py"):
        assert DEVELOPER_TEXT.search(text), text
    for text in ("the lab report", "Lab results. Next", "coach's clip 1.2 s"):
        assert not DEVELOPER_TEXT.search(text), text


def test_report_speaks_to_a_coach_and_keeps_the_machinery_in_a_collapsed_section(tmp_path):
    page = write_analysis_report(_small_analysis(), tmp_path / "r", video=False).read_text()
    rest, technical = split_technical_section(page)
    assert "How this was computed" in technical and "<summary>" in technical
    assert "papermill" in technical and "threshold" in technical          # nothing is lost, only moved
    hits = sorted({m.group(0) for m in DEVELOPER_TEXT.finditer(rest)})
    assert hits == [], f"developer text outside the technical section: {hits}"
    for fig in plotly_figures_json(page):
        assert not DEVELOPER_TEXT.search(fig), DEVELOPER_TEXT.search(fig).group(0)
    text = html.unescape(re.sub(r"<[^>]+>", " ", rest))
    # the words come first: verdict, score, what to work on, before any figure
    first = text.index("score")
    assert first < text.index("What to work on") < text.index("Matched moments")
    assert page.index("What to work on") < page.index("Plotly.newPlot(")
    assert page.rindex('class="lab-technical"') > page.rindex("Plotly.newPlot(")   # the section is last


def test_headline_shows_the_probability_of_the_same_movement_when_there_is_one():
    from types import SimpleNamespace

    from lab.report import headline_html
    c = _small_analysis().comparison
    base = {**c.__dict__, "feedback": [], "cannot_judge": []}
    page = headline_html(SimpleNamespace(comparison=SimpleNamespace(**{**base, "p_same": 0.834}), notes=(),
                                         reference_source="c.mp4", attempt_source="p.mp4"))
    assert "Probability that it is the same movement: <b>83%</b>" in page
    page = headline_html(SimpleNamespace(comparison=SimpleNamespace(**{**base, "p_same": None}), notes=(),
                                         reference_source="c.mp4", attempt_source="p.mp4"))
    assert "Probability" not in page and "What to work on" in page
    assert not DEVELOPER_TEXT.search(page) and "threshold" not in page


# ---------------------------------------------------------------- downloads
def test_downloads_hold_every_frames_angles_and_the_aligned_differences(tmp_path):
    import zipfile

    from lab.features import compute_angles
    from lab.pipeline import Analysis
    from lab.report import downloads_html, tabulate_aligned_differences, tabulate_joint_angles
    a = _small_analysis()
    angles = tabulate_joint_angles(a)
    assert list(angles.columns[:3]) == ["clip", "frame", "time_s"]
    assert (angles["clip"] == "coach").sum() == a.reference.n_frames == 60
    assert (angles["clip"] == "player").sum() == a.attempt.n_frames
    player = angles[angles["clip"] == "player"].reset_index(drop=True)
    expected, _conf, names = compute_angles(a.attempt_body)
    k = names.index("left_knee")
    np.testing.assert_allclose(player["left_knee_deg"], expected[:, k].round(2), equal_nan=True)
    assert player["time_s"].iloc[0] == 0 and player["time_s"].iloc[30] == pytest.approx(1.0)
    diffs = tabulate_aligned_differences(a)
    assert list(diffs.columns) == ["step", "coach_time_s", "player_time_s", "joint", "player_joint", "coach_deg",
                                   "player_deg", "difference_deg", "coach_se_deg", "player_se_deg", "phase"]
    knee = diffs[diffs["joint"] == "left_knee"]
    np.testing.assert_allclose(knee["difference_deg"], (knee["player_deg"] - knee["coach_deg"]), atol=0.002)
    assert len(knee) == len(a.comparison.path_time_s)

    page = write_analysis_report(a, tmp_path / "r", video=False, back_href="../index.html")
    text = page.read_text()
    for name in ("joint_angles.csv", "aligned_differences.csv", "analysis.zip"):
        assert re.search(rf'<a download="" href="{re.escape(name)}">', text), name
    assert "overlay.mp4" not in text                                          # not written, not linked
    assert text.count('href="../index.html"') == 2                             # back to the index, top and foot
    back = pd.read_csv(page.parent / "joint_angles.csv")
    assert back.shape == angles.shape
    with zipfile.ZipFile(page.parent / "analysis.zip") as z:
        assert "analysis/analysis.json" in z.namelist()
        z.extractall(tmp_path / "unzipped")
    assert Analysis.load(tmp_path / "unzipped" / "analysis").to_dict() == a.to_dict()
    assert "No downloads" in downloads_html(None)


def test_index_explains_itself_and_links_each_reports_files(tmp_path):
    (tmp_path / "p1").mkdir()
    for name in ("report.html", "overlay.mp4", "joint_angles.csv", "thumbnail.png"):
        (tmp_path / "p1" / name).write_bytes(b"x")
    page = write_index(tmp_path, [
        {"name": "same_pair", "href": "p1/report.html", "label": "same", "about": "Front against behind.",
         "words": "Same movement (score 71/100).", "p_same": 0.9,
         "summary": {"verdict": "same", "score": 71.0, "reference": "/a/cam02.mp4", "attempt": "/a/cam04.mp4"}},
        {"name": "nothing", "href": "p2/report.html", "summary": {"verdict": "different", "score": 20.0}}]).read_text()
    for link in ("p1/report.html", "p1/overlay.mp4", "p1/joint_angles.csv", 'src="p1/thumbnail.png"'):
        assert link in page, link
    assert "p2/overlay.mp4" not in page and "p2/thumbnail.png" not in page   # only what exists is linked
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Front against behind." in text and "Expected: same" in text and "90% likely the same" in text
    assert "Same movement — score 71/100" in text and "Different movement — score 20/100" in text
    assert "cam02.mp4" in text and "/a/" not in text


def test_cli_report_prints_a_line_per_stage_on_stderr_and_only_the_page_on_stdout(tmp_path, capsys):
    from cmp_helpers import skeleton_lab, track_from

    from lab.cli import main
    from lab.pose.track import write_track
    t = np.arange(60) / 30.0
    s = np.sin(2 * np.pi * 0.5 * t)
    for name, knee in (("coach", 20 + 30 * s), ("player", 25 + 30 * s)):
        write_track(track_from(skeleton_lab(left_knee_deg=knee, right_arm_deg=40 + 20 * s), frame="lab"),
                    tmp_path / f"{name}.parquet")
    code = main(["report", str(tmp_path / "coach.parquet"), str(tmp_path / "player.parquet"), "-o",
                 str(tmp_path / "out"), "--no-video", "--mirror", "no"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip().splitlines() == [str(tmp_path / "out" / "report.html")]
    err = captured.err.strip().splitlines()
    assert err[0].startswith("lab report: coach.parquet (coach) against player.parquet (player)")
    stages = [line for line in err if re.search(r"\(\d+\.\d s\)$", line)]
    assert len(stages) >= 5, err                      # pose, models, comparison, ghost, downloads, page
    assert any("comparison:" in line for line in stages) and stages[-1].lstrip().startswith("page drawn")


def test_overlay_keeps_the_source_height_between_720_and_1080_pixels():
    import dataclasses

    from lab.report import overlay_height_px
    a = _small_analysis()
    for height, expected in ((480, 720), (994, 994), (1920, 1080), (721, 720)):
        att = dataclasses.replace(a.attempt, meta={**a.attempt.meta, "height": height})
        assert overlay_height_px(dataclasses.replace(a, attempt=att)) == expected
