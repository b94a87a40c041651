"""Shareable reports: render an :class:`lab.pipeline.Analysis` as one offline HTML page.

Nothing is computed here: :func:`write_report` calls :func:`lab.pipeline.analyze`
once, saves the analysis in the report's folder (``analysis/``), and executes
``04_compare.ipynb`` with papermill on that saved analysis only (its kernel is
not allowed to compute a stage). Outputs are built in a temporary folder
inside the destination and renamed into place at the end, the page last, so
an interrupted run never leaves a complete-looking report.
"""

from __future__ import annotations

import csv
import html
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lab.export.html import export_html, make_shareable
from lab.export.notebook import execute_notebook, notebooks_dir
from lab.io import LabError, contained_path, write_bytes_atomic
from lab.pipeline import NO_COMPUTE_ENV, Analysis, analyze

#: Notebook run by ``lab report``.
COMPARE_NOTEBOOK = "04_compare.ipynb"
REPORT_HTML = "report.html"
OVERLAY_MP4 = "overlay.mp4"
ANALYSIS_DIR = "analysis"
EXECUTED_NB = "report.ipynb"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging(out: Path) -> Path:
    """A hidden temporary folder ``.report.<pid>.*.part`` inside ``out``; leftovers of killed runs
    (their process is gone) are removed first."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(".report.*.part"):
        parts = old.name.split(".")
        if len(parts) >= 4 and parts[2].isdigit() and not _pid_alive(int(parts[2])):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f".report.{os.getpid()}.", suffix=".part", dir=out))


# ------------------------------------------------------------ report parts
_VERDICT_WORDS = {
    "same": ("lab-good", "Same movement", "The player's movement matches the coach's drill."),
    "different": ("lab-bad", "Different movement", "The player's movement does not match the coach's drill."),
    "uncertain": ("lab-mid", "Can't tell", "There is not enough reliable evidence to decide."),
}


def headline_html(report: Analysis) -> str:
    """What a coach reads first (an HTML fragment): the verdict, the score, what to work on or why
    nothing can be said, the joints these cameras can't judge, and which clips were compared.

    No tool names, module paths or provenance strings: those are in :func:`technical_details_html`.
    Every joint named is the player's own (the feedback, the joints that can't be judged); a mirrored
    match says so once, and that left and right are the player's. The probability of the same movement
    is shown when the comparison carries one (``p_same``).
    """
    c = report.comparison
    cls, title, sentence = _VERDICT_WORDS.get(c.verdict, ("lab-mid", c.verdict, ""))
    p_same = getattr(c, "p_same", None)
    chance = (f'<br><span class="lab-p-same">Probability that it is the same movement: <b>{p_same:.0%}</b></span>'
              if p_same is not None and np.isfinite(p_same) else "")
    parts = [f'<div class="lab-verdict {cls}"><b>{html.escape(title)}</b> &mdash; score '
             f'<b>{c.score:.0f}</b>/100{chance}<br><span class="lab-verdict-note">{html.escape(sentence)} '
             f'(50 is the line between same and different.)</span></div>']
    if c.mirrored:
        parts.append("<p>The player did the movement with the other side (mirror image); it was compared "
                     "as such. Left and right below are the player's own.</p>")
    if c.summary:
        parts.append(f'<p class="lab-summary">{html.escape(c.summary)}</p>')
    parts.append('<h2 class="lab-work-on">What to work on</h2>')
    if c.feedback:
        parts.append('<ul class="lab-feedback">' + "".join(f"<li>{html.escape(s)}</li>" for s in c.feedback)
                     + "</ul>")
    else:
        parts.append(f'<p class="lab-feedback">{html.escape(_NOTHING_TO_SAY.get(c.verdict, _NOTHING_TO_SAY["uncertain"]))}</p>')
    if c.cannot_judge:
        parts.append(f'<details class="lab-cannot-judge"><summary>{len(c.cannot_judge)} of {len(c.joints)} joints '
                     "can't be judged from these cameras</summary><ul>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in c.cannot_judge) + "</ul></details>")
    small = list(c.warnings) + list(report.notes)
    if small:
        parts.append('<p class="lab-notes">Notes: ' + "; ".join(html.escape(s) for s in small) + "</p>")
    parts.append(f'<p class="lab-notes">Coach: {html.escape(Path(report.reference_source).name)}'
                 f' &middot; player: {html.escape(Path(report.attempt_source).name)}</p>')
    return "\n".join(parts)


#: What the page says under "What to work on" when there is no technique sentence, per verdict.
_NOTHING_TO_SAY = {
    "same": "Nothing these cameras can show: no joint differs from the coach by more than these two "
            "recordings can measure. Grey joints below can't be judged at all from these viewpoints.",
    "different": "No technique advice: the player did a different movement, so joint-by-joint corrections "
                 "would mean nothing. Film the same drill and compare again.",
    "uncertain": "No technique advice until the comparison is sure it is the same movement (see above).",
}


def technical_details_html(report: Analysis) -> str:
    """The collapsed "How this was computed" section at the end of a report (an HTML fragment).

    Holds what a coach does not need and a developer does: how the page was made, the distance and
    the threshold with its provenance, the settings, the lab version and each pipeline stage's status.
    """
    c = report.comparison
    rows = [("made by", "lab report: the analysis was computed once and saved in analysis/; the notebook "
                        "04_compare, run with papermill, only drew it"),
            ("coach clip", str(report.reference_source)), ("player clip", str(report.attempt_source)),
            ("distance", f"{c.distance:.2f} (confidence-weighted DTW over view-invariant joint angles)"),
            ("threshold", f"{c.threshold:.2f}: {c.threshold_provenance}"),
            ("score", f"{c.score:.1f} = 100 x 2^-(distance/threshold)^2")]
    p_same = getattr(c, "p_same", None)
    if p_same is not None:
        rows.append(("p_same", f"{p_same:.3f}"))
    terms = getattr(c, "verdict_terms", None)
    if terms:
        rows.append(("verdict terms", ", ".join(f"{k} {v:.3g}" for k, v in terms.items())))
    if c.relative_azimuth_deg is not None:
        rows.append(("relative azimuth", f"{c.relative_azimuth_deg:+.0f} deg between the two cameras"))
    rows.append(("mirrored", "yes" if c.mirrored else "no"))
    rows.append(("settings", ", ".join(f"{k}={v}" for k, v in (report.settings or {}).items())))
    prov = report.provenance or {}
    if prov.get("lab_version"):
        rows.append(("lab version", str(prov["lab_version"])))
    if prov.get("created_utc"):
        rows.append(("analysed (UTC)", str(prov["created_utc"])))
    stages = prov.get("stages") or []
    if stages:
        rows.append(("stages", "; ".join(f"{s.get('stage')} ({s.get('clip', 'pair')}): {s.get('status')}"
                                          if isinstance(s, dict) else str(s) for s in stages)))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return ('<details class="lab-technical"><summary>How this was computed</summary>'
            f'<div class="lab-scroll"><table>{body}</table></div></details>')


def tint_by_noise_ratio(ratio: float) -> str:
    """A CSS background for a cell whose |difference| / threshold is ``ratio``: none inside the noise
    (below 1), pale yellow just beyond it to pale red at :data:`lab.viz.draw.NOISE_RATIO_RED` times."""
    from lab.viz.draw import color_by_noise_ratio

    if not np.isfinite(ratio) or ratio <= 1.0:
        return "background:#fff"
    rgb = color_by_noise_ratio(np.array([ratio]))[0]
    return "background:rgb({},{},{})".format(*(int(round(255 - 0.45 * (255 - v))) for v in rgb))


def _signed(value_deg: float) -> str:
    return "0" if round(value_deg) == 0 else f"{value_deg:+.0f}"


def feedback_table_html(table) -> str:
    """HTML of :func:`lab.score.deviation.build_joint_table`: a cell is shaded only where its phase's
    difference exceeds that joint's threshold (yellow just beyond it, red at twice it); a joint that
    can't be judged is grey, with "can't be judged" in words."""
    phases = [c for c in table.columns if str(c).startswith("phase ")]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in phases + ["detectable (deg)"])
    rows = []
    for name, row in table.iterrows():
        judged = bool(row.get("can judge", True))
        threshold = float(row.get("threshold (deg)", np.nan))
        cells = []
        for c in phases:
            v = float(row[c])
            if not np.isfinite(v):
                cells.append('<td style="color:#aaa">-</td>')
            elif not judged:
                cells.append(f'<td style="color:#999;text-align:right">{_signed(v)}</td>')
            else:
                style = tint_by_noise_ratio(abs(v) / threshold if threshold > 0 else np.nan)
                cells.append(f'<td style="{style};text-align:right">{_signed(v)}</td>')
        det = float(row.get("detectable (deg)", np.nan))
        if judged and np.isfinite(det):
            cells.append(f'<td style="text-align:right">{det:.0f}</td>')
        else:
            words = "can't be judged" + (f" (only a difference above {det:.0f} would show)" if np.isfinite(det)
                                         else " (not seen)")
            cells.append(f'<td class="lab-unjudged" style="color:#999">{words}</td>')
        style = "text-align:left" + ("" if judged else ";color:#999;font-weight:normal")
        rows.append(f"<tr><th style='{style}'>{html.escape(str(name))}</th>{''.join(cells)}</tr>")
    return (f'<div class="lab-scroll"><table><thead><tr><th>{html.escape(str(table.index.name or ""))}</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def measure_noise_ratio(report: Analysis) -> np.ndarray:
    """Per player frame and landmark, |difference| / that joint's threshold (NaN where no joint that can
    be judged sits); what colours the player's skeleton (:func:`lab.viz.color_by_noise_ratio`)."""
    from lab.score.deviation import measure_noise_ratio_per_frame

    c = report.comparison
    thresholds = {j.name: (j.threshold_deg if j.can_judge else None) for j in c.joints}
    return measure_noise_ratio_per_frame(c.per_step, report.attempt.time_s, report.attempt.keypoints,
                                         thresholds_deg=thresholds, mirrored=c.mirrored)


def plot_report_curves(report: Analysis, *, n_joints: int = 4):
    """The ``n_joints`` joints closest to a reported difference (those that can be judged first): coach and
    player along the matched time with their 95% bands, each titled by the player's own joint and what
    it takes to show a difference there (:func:`lab.viz.plot_angle_bands`)."""
    from lab.score.deviation import collect_angle_curves, rank_joints_by_noise_ratio
    from lab.viz import plot_angle_bands

    c = report.comparison
    names = rank_joints_by_noise_ratio(c)[:n_joints]
    by_name = {j.name: j for j in c.joints}
    titles = {}
    for n in names:
        j = by_name[n]
        own = j.attempt_joint.replace("_", " ")
        if j.detectable_deg is None:
            titles[n] = f"{own}: can't be judged (not seen)"
        elif not j.can_judge:
            titles[n] = f"{own}: can't be judged (only a difference over {j.detectable_deg:.0f} deg would show)"
        else:
            titles[n] = f"{own}: a difference of {j.detectable_deg:.0f} deg would show"
    return plot_angle_bands(collect_angle_curves(c.per_step, joints=names), titles=titles)


def side_by_side_frames(report: Analysis, *, n: int = 4, height_px: int = 360) -> np.ndarray:
    """Matched moments: coach frame | player frame with coloured skeleton and the coach's ghost.

    ``n`` rows spread over the DTW path; returns one RGB image. The player's joints
    are coloured by :func:`measure_noise_ratio` (:func:`lab.viz.color_by_noise_ratio`:
    green inside the noise, red only well beyond it, grey where it can't be judged).
    """
    from lab.viz.draw import color_by_noise_ratio, draw_ghost, draw_skeleton, fit_height, label_image, read_frames

    if report.attempt_video is None or (report.reference_video is None and report.ghost_px is None):
        raise ValueError("side-by-side frames need the player's video and the coach's video or ghost")
    p = report.path_frames[np.round(np.linspace(0, len(report.path_frames) - 1, n)).astype(int)]
    ref_frames = (read_frames(report.reference_video, p[:, 0], max_side_px=None)
                  if report.reference_video is not None else None)
    att_frames = read_frames(report.attempt_video, p[:, 1], max_side_px=None)
    rows = []
    ref, att = report.reference, report.attempt
    ratio = measure_noise_ratio(report)
    for r, a in p:
        fa = fit_height(att_frames[int(a)], height_px)
        sa = fa.shape[1] / float(att.meta.get("width") or att_frames[int(a)].shape[1])
        if ref_frames is not None:
            fr = fit_height(ref_frames[int(r)], height_px)
            sr = fr.shape[1] / float(ref.meta.get("width") or ref_frames[int(r)].shape[1])
            fr = draw_skeleton(fr, ref.image_px[r] * sr, keypoints=ref.keypoints)
            coach_label = "coach"
        else:  # the coach is a 3D recording (mocap): draw the model as the player's camera sees it
            fr = np.full_like(fa, 30)
            fr = draw_skeleton(fr, report.ghost_px[a] * sa, keypoints=att.keypoints)
            coach_label = "coach 3D, player's view,"
        if report.ghost_px is not None:
            fa = draw_ghost(fa, report.ghost_px[a] * sa, keypoints=att.keypoints)
        cols = color_by_noise_ratio(ratio[a])
        fa = draw_skeleton(fa, att.image_px[a] * sa, keypoints=att.keypoints, colors_per_joint=cols)
        fr = label_image(fr, f"{coach_label} {ref.time_s[r] - ref.time_s[0]:.2f}s")
        fa = label_image(fa, f"player {att.time_s[a] - att.time_s[0]:.2f}s")
        rows.append(np.concatenate([fr, np.zeros((height_px, 8, 3), np.uint8), fa], axis=1))
    w = max(x.shape[1] for x in rows)
    rows = [np.pad(x, ((0, 8), (0, w - x.shape[1] + 16), (0, 0)))
            for x in rows]
    columns = 2 if w < height_px * 1.2 else 1   # portrait clips: two matched moments per row
    grid_rows = [np.concatenate(rows[i:i + columns] + [np.zeros_like(rows[0])] * (i + columns - len(rows)), axis=1)
                 for i in range(0, len(rows), columns)]
    return np.concatenate(grid_rows, axis=0)


def overlay_frames(report: Analysis, *, height_px: int = 480):
    """Frames of the side-by-side overlay video (see :func:`lab.viz.render_overlay_video`), the player's
    joints coloured as in :func:`side_by_side_frames`."""
    from lab.viz import render_overlay_video

    return render_overlay_video(report.reference_video, report.reference, report.attempt_video,
                                report.attempt, path=report.path_frames, ghost_px=report.ghost_px,
                                noise_ratio=measure_noise_ratio(report), height_px=height_px)


def _media_path(report: Analysis, kind: str, suffix: str, **params: Any) -> Path:
    """Where a rendered picture or video of ``report`` is cached: keyed by everything drawn on it (tracks,
    DTW path, deviations and their colouring against the noise, ghost), the videos' content, the
    parameters and the drawing code."""
    import hashlib
    import json

    from lab.io import cache_dir, sha256_file, source_digest
    from lab.pipeline import track_digest

    h = hashlib.sha256(json.dumps([kind, params, source_digest("viz", "export", "report")], default=str).encode())
    for t in (report.reference, report.attempt):
        h.update(track_digest(t).encode())
    for a in (report.path_frames, report.deviation_deg, report.ghost_px, measure_noise_ratio(report)):
        h.update(b"-" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
    for v in (report.reference_video, report.attempt_video):
        h.update((sha256_file(v) if v and Path(v).is_file() else "-").encode())
    folder = cache_dir() / "media"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}_{h.hexdigest()[:32]}{suffix}"


def side_by_side_png(report: Analysis, *, n: int = 4, height_px: int = 360) -> bytes:
    """:func:`side_by_side_frames` as PNG bytes, cached: a report drawn again decodes no video."""
    from lab.viz import to_png

    cached = _media_path(report, "side_by_side", ".png", n=n, height_px=height_px)
    if cached.exists():
        return cached.read_bytes()
    data = to_png(side_by_side_frames(report, n=n, height_px=height_px))
    write_bytes_atomic(cached, data)
    return data


def write_overlay_video(report: Analysis, path: str | Path, *, height_px: int = 480) -> Path:
    """Write the side-by-side overlay video (:func:`overlay_frames`, H.264) to ``path``; cached, so a
    report drawn again copies the video it made before instead of decoding and encoding both clips."""
    from lab.export.video import write_h264

    cached = _media_path(report, "overlay", ".mp4", height_px=height_px)
    if not cached.exists():
        write_h264(overlay_frames(report, height_px=height_px), cached, fps=report.attempt.fps)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    shutil.copyfile(cached, tmp)
    os.replace(tmp, path)
    return make_shareable(path)


def video_html(relative_path: str) -> str:
    """An HTML5 player and a link for the overlay video written beside the report."""
    src = html.escape(relative_path, quote=True)
    return (f'<video src="{src}" controls muted playsinline style="max-width:100%"></video>'
            f'<p><a href="{src}">Download the side-by-side video</a> (coach left, player right with the '
            f'coach as a white dashed ghost; joints green = no difference these cameras can show, yellow to '
            f'red = beyond it, grey = can\'t be judged).</p>')


def load_report_analysis(analysis: str | Path | None, *, draw_only: bool = False) -> Analysis:
    """The analysis a report notebook draws: the saved one at ``analysis``; with None (a notebook
    opened by hand), the demo pair (Pose2Sim cam02 vs cam04), analysed with every stage cached.

    ``draw_only`` (what ``lab report`` passes) forbids this process, from here on, to compute any
    pipeline stage (:data:`lab.pipeline.NO_COMPUTE_ENV`): the page can only draw what it was given.
    """
    if draw_only:
        os.environ[NO_COMPUTE_ENV] = "1"
    if analysis is not None:
        return Analysis.load(analysis)
    from lab.samples import ensure_samples

    files = ensure_samples()
    return analyze(files["pose2sim/cam02.mp4"], files["pose2sim/cam04.mp4"])


# ----------------------------------------------------------------- writing
def write_analysis_report(analysis: Analysis, output_dir: str | Path, *, title: str | None = None,
                          video: bool = True) -> Path:
    """Render a computed analysis as ``output_dir/report.html``; return the page's path.

    Writes into ``output_dir``: ``report.html`` (self-contained, code hidden, no
    network reference), ``overlay.mp4`` (H.264 side-by-side, linked from the
    page, when both clips are videos) and ``analysis/`` (the analysis itself,
    :meth:`lab.pipeline.Analysis.load`). Everything is built in a hidden
    temporary folder inside ``output_dir`` and moved into place at the end,
    ``report.html`` last; other files in ``output_dir`` are left alone.
    """
    import dataclasses

    notebook = notebooks_dir() / COMPARE_NOTEBOOK
    out = Path(output_dir)
    # the notebook's kernel runs in another folder: a video named relative to this one must still be found
    analysis = dataclasses.replace(
        analysis, **{k: str(Path(v).resolve()) for k in ("reference_video", "attempt_video")
                     if (v := getattr(analysis, k)) is not None and Path(v).exists()})
    tmp = _staging(out)
    try:
        saved = analysis.save(tmp / ANALYSIS_DIR)
        params = dict(analysis=str(saved.resolve()), overlay_video=OVERLAY_MP4 if video else None,
                      draw_only=True)
        executed = execute_notebook(notebook, tmp / EXECUTED_NB, parameters=params, cwd=tmp.resolve())
        page = export_html(executed, title=title or f"{Path(analysis.reference_source).stem} vs "
                                                    f"{Path(analysis.attempt_source).stem}")
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        make_shareable(tmp / REPORT_HTML)
        if (out / REPORT_HTML).exists():  # the old page goes first: never a new page beside old files
            os.unlink(out / REPORT_HTML)
        if (out / OVERLAY_MP4).exists() and not (tmp / OVERLAY_MP4).exists():  # nor beside an older video
            os.unlink(out / OVERLAY_MP4)
        if (tmp / OVERLAY_MP4).exists():
            os.replace(tmp / OVERLAY_MP4, out / OVERLAY_MP4)
        old = None
        if (out / ANALYSIS_DIR).exists():
            old = out / f".{ANALYSIS_DIR}.old-{os.getpid()}"
            os.replace(out / ANALYSIS_DIR, old)
        os.replace(tmp / ANALYSIS_DIR, out / ANALYSIS_DIR)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp / REPORT_HTML, out / REPORT_HTML)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / REPORT_HTML


def write_report(reference: str | Path, attempt: str | Path, output_dir: str | Path, *,
                 threshold: float | None = None, mirror: str = "auto", model: str = "full",
                 title: str | None = None, video: bool = True,
                 echo: Callable[[str], None] | None = None) -> Path:
    """Analyse one pair (:func:`lab.pipeline.analyze`) and write its report; return the HTML path.

    See :func:`write_analysis_report` for what is written.
    """
    return report_pair(reference, attempt, output_dir, threshold=threshold, mirror=mirror, model=model,
                       title=title, video=video, echo=echo)[0]


def report_pair(reference: str | Path, attempt: str | Path, output_dir: str | Path, *,
                threshold: float | None = None, mirror: str = "auto", model: str = "full",
                title: str | None = None, video: bool = True,
                echo: Callable[[str], None] | None = None) -> tuple[Path, Analysis]:
    """:func:`write_report`, also returning the :class:`lab.pipeline.Analysis` it rendered."""
    for p in (reference, attempt):
        if not Path(p).exists():
            raise LabError(f"no such file: {p}", exit_code=2)
    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, got {mirror!r}", exit_code=2)
    notebooks_dir()  # a missing notebook folder fails before any work
    analysis = analyze(reference, attempt, threshold=threshold, mirror=mirror, model=model, echo=echo)
    return write_analysis_report(analysis, output_dir, title=title, video=video), analysis


def read_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Pairs to report from a CSV (header ``reference,attempt[,name,threshold,mirror,label]``) or YAML
    (a list of such mappings, or ``{pairs: [...]}``). Relative paths are relative to the file."""
    path = Path(path)
    if not path.exists():
        raise LabError(f"no such file: {path}", exit_code=2)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(path.read_text()) or []
        rows = data.get("pairs", []) if isinstance(data, dict) else data
    elif path.suffix.lower() == ".csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        raise LabError(f"pairs file must be .csv or .yaml, got {path.name}", exit_code=2)
    pairs = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not row.get("reference") or not row.get("attempt"):
            raise LabError(f"{path.name}: pair {i} needs 'reference' and 'attempt'", exit_code=2)
        p = {k: (v if v not in ("",) else None) for k, v in row.items()}
        for k in ("reference", "attempt"):
            q = Path(str(p[k])).expanduser()
            p[k] = q if q.is_absolute() else (path.parent / q)
        p["name"] = str(p.get("name") or f"{i:02d}_{Path(p['reference']).stem}_vs_{Path(p['attempt']).stem}")
        name = Path(p["name"])
        if name.is_absolute() or ".." in name.parts or not p["name"].strip() or "\0" in p["name"]:
            raise LabError(f"{path.name}: pair {i}'s name {p['name']!r} must be a folder name inside the "
                           "output folder (no absolute path, no '..')", exit_code=2)
        if p.get("threshold") is not None:
            p["threshold"] = float(p["threshold"])
        pairs.append(p)
    if not pairs:
        raise LabError(f"{path.name} lists no pairs", exit_code=4)
    names = [p["name"] for p in pairs]
    if len(set(names)) != len(names):
        raise LabError(f"{path.name}: pair names must be unique", exit_code=2)
    return pairs


def write_index(output_dir: str | Path, entries: Sequence[dict[str, Any]], *, title: str = "lab reports") -> Path:
    """``index.html`` linking each report with its verdict and score (atomic write)."""
    rows = []
    for e in entries:
        s = e.get("summary") or {}
        link = f'<a href="{html.escape(e["href"], quote=True)}">{html.escape(e["name"])}</a>' if e.get("href") \
            else html.escape(e["name"])
        verdict = s.get("verdict", e.get("error", "failed"))
        score = f'{s["score"]:.0f}' if "score" in s else "-"
        label = html.escape(str(e.get("label") or ""))
        rows.append(f"<tr><td>{link}</td><td>{html.escape(Path(str(s.get('reference', e.get('reference', '')))).name)}"
                    f"</td><td>{html.escape(Path(str(s.get('attempt', e.get('attempt', '')))).name)}</td>"
                    f"<td>{html.escape(str(verdict))}</td><td style='text-align:right'>{score}</td>"
                    f"<td>{label}</td></tr>")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse;"
            "width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><table><thead><tr><th>report</th><th>coach</th><th>player</th>"
            f"<th>verdict</th><th>score</th><th>label</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</body></html>")
    return make_shareable(write_bytes_atomic(Path(output_dir) / "index.html", page.encode("utf-8")))


def report_entry(pair: dict[str, Any], output_dir: str | Path, *, model: str = "full",
                 threshold: float | None = None, mirror: str = "auto", video: bool = True,
                 echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write one pair's report in ``output_dir/<name>/``; return its index entry (never raises
    :class:`LabError`: a failed pair's entry carries its ``error``).

    ``pair["name"]`` must stay inside ``output_dir`` (no absolute path, no ``..``).
    """
    out = Path(output_dir)
    entry = {"name": pair["name"], "reference": str(pair["reference"]), "attempt": str(pair["attempt"]),
             "label": pair.get("label")}
    try:
        folder = contained_path(out, pair["name"])
        page, analysis = report_pair(pair["reference"], pair["attempt"], folder, model=model,
                                     threshold=pair["threshold"] if pair.get("threshold") is not None else threshold,
                                     mirror=pair.get("mirror") or mirror, video=video, echo=echo)
        entry["href"] = page.relative_to(out.resolve()).as_posix()
        entry["summary"] = analysis.summary()
    except LabError as exc:
        entry["error"] = f"failed: {exc}"
    return entry


def write_reports(pairs: Sequence[dict[str, Any]], output_dir: str | Path, *, model: str = "full",
                  threshold: float | None = None, mirror: str = "auto", video: bool = True,
                  progress=None, echo: Callable[[str], None] | None = None, workers: int = 1) -> Path:
    """One report per pair in ``output_dir/<name>/`` plus ``output_dir/index.html``; return the index.

    A pair that fails is listed in the index with its error; the others go on.
    ``workers`` reports are written side by side (each notebook runs in its own
    kernel process); the index keeps the pairs' order.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(p):
        entry = report_entry(p, output_dir, model=model, threshold=threshold, mirror=mirror, video=video,
                             echo=echo)
        if progress:
            progress(entry)
        return entry

    if workers > 1 and len(pairs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            entries = list(pool.map(one, pairs))
    else:
        entries = [one(p) for p in pairs]
    return write_index(Path(output_dir), entries)


def write_notebook_report(notebook: str, output_dir: str | Path, *, parameters: dict[str, Any] | None = None,
                          title: str | None = None) -> Path:
    """Execute any stage notebook (e.g. ``06_viewpoint_experiment.ipynb``) and write it as one offline
    ``report.html`` in ``output_dir`` (atomic: the page appears only when complete)."""
    nb = notebooks_dir() / notebook
    if not nb.exists():
        raise LabError(f"no notebook {notebook} in {nb.parent}", exit_code=3)
    out = Path(output_dir)
    tmp = _staging(out)
    try:
        executed = execute_notebook(nb, tmp / EXECUTED_NB, parameters=parameters or {}, cwd=tmp.resolve())
        page = export_html(executed, title=title or nb.stem)
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        os.replace(tmp / REPORT_HTML, out / REPORT_HTML)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / REPORT_HTML
