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
import re
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
#: Downloads written beside every report (:func:`write_analysis_report`).
ANGLES_CSV = "joint_angles.csv"
DIFFERENCES_CSV = "aligned_differences.csv"
ANALYSIS_ZIP = "analysis.zip"
THUMBNAIL_PNG = "thumbnail.png"


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
            words = "can't be judged" + (f" (noise hides differences under {det:.0f})" if np.isfinite(det)
                                         else " (not seen)")
            cells.append(f'<td class="lab-unjudged" style="color:#999">{words}</td>')
        style = "text-align:left" + ("" if judged else ";color:#999;font-weight:normal")
        rows.append(f"<tr><th style='{style}'>{html.escape(str(name))}</th>{''.join(cells)}</tr>")
    return (f'<div class="lab-scroll"><table><thead><tr><th>{html.escape(str(table.index.name or ""))}</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


#: Row colour of a repetition per verdict (the timeline's colours, lighter).
REP_TINTS = {"same": "#e3f4e3", "different": "#fbe0e0", "uncertain": "#eeeeee", "partial": "#f6f6f6"}


def repetitions_html(report: Analysis) -> str:
    """The repetitions section (``lab report --reps``): a heading, the clip's summary and one row per
    repetition (times, verdict, score, what to work on); an empty string for an analysis without them."""
    reps = report.repetitions
    if reps is None:
        return ""
    rows = []
    for r in reps.results:
        rep = r.repetition
        words = "; ".join((*r.unlike_others, *r.feedback)) or (r.summary if r.verdict != "same" else "")
        score = "" if r.score is None else f"{r.score:.0f}"
        rows.append(f'<tr class="lab-rep" data-player-s="{rep.start_s:.3f}" '
                    f'style="background:{REP_TINTS.get(r.verdict, "#fff")};cursor:pointer"><th>{rep.index}</th>'
                    f'<td style="text-align:right">{rep.start_s:.2f}-{rep.end_s:.2f} s</td>'
                    f"<td>{html.escape(r.verdict)}</td><td style='text-align:right'>{score}</td>"
                    f"<td style='text-align:left'>{html.escape(words)}</td></tr>")
    coach = sum(not r.partial for r in reps.reference_repetitions)
    source = ("the coach's clip is one repetition" if coach <= 1 else
              f"the coach's clip holds {coach} repetitions; compared with the typical one "
              f"({reps.typical_s[0]:.1f}-{reps.typical_s[1]:.1f} s)")
    sure = " (the count may be off)" if reps.count_sure is False else ""
    return (f"<h2>Repetitions: {reps.rep_count}{sure}</h2><p><b>{html.escape(reps.summary)}</b></p>"
            f"<p style='color:#555'>Each repetition is compared on its own ({html.escape(source)}), and with the "
            "player's other repetitions: a repetition unlike the others is marked different."
            '<span class="lab-rep-hint"> Click a row to see that repetition in the player below.</span></p>'
            '<div class="lab-scroll"><table><thead><tr><th>#</th><th>time in the player\'s clip</th><th>verdict</th>'
            f"<th>score</th><th>what to work on</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            f"<script>{_REPS_JS}</script>")


#: Clicking a repetition's row pauses the side-by-side player on that repetition's first frame (the
#: first video frame whose player time reaches the row's start); without a player the hint is hidden.
_REPS_JS = r"""
(function () {
  var box = document.currentScript.parentElement;
  function player() { return document.querySelector('.lab-player'); }
  window.addEventListener('load', function () {
    if (!player()) box.querySelectorAll('.lab-rep-hint').forEach(function (e) { e.style.display = 'none'; });
  });
  box.querySelectorAll('tr.lab-rep').forEach(function (row) {
    row.onclick = function () {
      var p = player();
      if (!p) return;
      var d = JSON.parse(p.getAttribute('data-frames')), v = p.querySelector('video');
      var t = parseFloat(row.getAttribute('data-player-s')), i = 0;
      while (i < d.player.length - 1 && d.player[i] < t - 1e-3) i++;
      v.pause();
      v.currentTime = (i + 0.5) / d.fps;
      p.scrollIntoView({block: 'center'});
    };
  });
})();
"""


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
            titles[n] = f"{own}: can't be judged (noise hides differences under {j.detectable_deg:.0f} deg)"
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
    ref_frames = (read_frames(report.reference_video, p[:, 0], max_side_px=None,
                              first_frame=report.reference.first_video_frame)
                  if report.reference_video is not None else None)
    att_frames = read_frames(report.attempt_video, p[:, 1], max_side_px=None,
                             first_frame=report.attempt.first_video_frame)
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
    columns = 2 if w < height_px * 1.2 and len(rows) > 1 else 1   # portrait clips: two matched moments a row
    grid_rows = [np.concatenate(rows[i:i + columns] + [np.zeros_like(rows[0])] * (i + columns - len(rows)), axis=1)
                 for i in range(0, len(rows), columns)]
    return np.concatenate(grid_rows, axis=0)


#: Height range of the side-by-side video (pixels): the player's clip's own height, within these.
OVERLAY_HEIGHT_PX = (720, 1080)


def overlay_height_px(report: Analysis) -> int:
    """The side-by-side video's height: the player's video height (its source resolution), at least
    720 and at most 1080 pixels (two 1080p panels side by side already make a 4K-wide frame)."""
    h = report.attempt.meta.get("height") or report.reference.meta.get("height") or OVERLAY_HEIGHT_PX[0]
    return int(np.clip(int(h), *OVERLAY_HEIGHT_PX)) // 2 * 2


def overlay_frames(report: Analysis, *, height_px: int | None = None):
    """Frames of the side-by-side overlay video (see :func:`lab.viz.render_overlay_video`), the player's
    joints coloured as in :func:`side_by_side_frames`, each clip's time printed on it; ``height_px``
    defaults to :func:`overlay_height_px`."""
    from lab.viz import render_overlay_video

    height_px = height_px or overlay_height_px(report)

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
    from lab.pipeline import hashable_bytes, track_digest

    h = hashlib.sha256(json.dumps([kind, params, source_digest("viz", "export", "report")], default=str).encode())
    for t in (report.reference, report.attempt):
        h.update(track_digest(t).encode())
    for a in (report.path_frames, report.deviation_deg, report.ghost_px, measure_noise_ratio(report)):
        h.update(b"-" if a is None else hashable_bytes(a))
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


def write_overlay_video(report: Analysis, path: str | Path, *, height_px: int | None = None) -> Path:
    """Write the side-by-side overlay video (:func:`overlay_frames`, H.264) to ``path``; cached, so a
    report drawn again copies the video it made before instead of decoding and encoding both clips."""
    from lab.export.video import write_h264

    height_px = height_px or overlay_height_px(report)
    cached = _media_path(report, "overlay", ".mp4", height_px=height_px)
    if not cached.exists():
        write_h264(overlay_frames(report, height_px=height_px), cached, fps=report.attempt.fps)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    shutil.copyfile(cached, tmp)
    os.replace(tmp, path)
    return make_shareable(path)


_PLAYER_JS = r"""
(function () {
  var box = document.currentScript.previousElementSibling;
  var d = JSON.parse(box.getAttribute('data-frames'));
  var v = box.querySelector('video'), scrub = box.querySelector('.lab-scrub');
  var label = box.querySelector('.lab-times'), play = box.querySelector('.lab-play');
  var cues = Array.prototype.slice.call(box.querySelectorAll('.lab-cue'));
  var n = d.coach.length;
  function frame() { return Math.max(0, Math.min(n - 1, Math.floor(v.currentTime * d.fps + 1e-3))); }
  function show() {
    var i = frame(), c = d.coach[i];
    box.setAttribute('data-frame', i);
    scrub.value = i;
    label.textContent = 'coach ' + c.toFixed(2) + ' s · player ' + d.player[i].toFixed(2) + ' s';
    cues.forEach(function (e) {
      var on = c >= parseFloat(e.getAttribute('data-start')) && c <= parseFloat(e.getAttribute('data-end'));
      e.classList.toggle('lab-cue-now', on);
    });
    play.textContent = v.paused ? 'Play' : 'Pause';
  }
  function go(i) { v.pause(); v.currentTime = (Math.max(0, Math.min(n - 1, i)) + 0.5) / d.fps; }
  function loop() { show(); if (!v.paused) requestAnimationFrame(loop); }
  box.querySelector('.lab-prev').onclick = function () { go(frame() - 1); };
  box.querySelector('.lab-next').onclick = function () { go(frame() + 1); };
  play.onclick = function () { if (v.paused) { if (frame() >= n - 1) v.currentTime = 0; v.play(); } else v.pause(); };
  box.querySelector('.lab-speed').onchange = function (e) { v.playbackRate = parseFloat(e.target.value); };
  scrub.oninput = function () { go(parseInt(scrub.value, 10)); };
  ['seeked', 'pause', 'loadeddata', 'timeupdate'].forEach(function (k) { v.addEventListener(k, show); });
  v.addEventListener('play', loop);
  show();
})();
"""


def player_html(video_src: str, *, fps: float, coach_time_s: Sequence[float], player_time_s: Sequence[float],
                cues: Sequence[tuple[str, float, float]] = ()) -> str:
    """A side-by-side player for the overlay video (an HTML fragment, offline: no script is loaded).

    Play and pause, one frame back or forward, 0.25x/0.5x/1x speed and a scrubber; it shows the coach's
    and the player's time of the frame on screen, and highlights each sentence of ``cues`` while the
    coach's time is inside its span.

    Parameters
    ----------
    video_src : str
        The overlay video, relative to the page (one frame per player frame, coach on the left).
    fps : float
        The video's frame rate.
    coach_time_s, player_time_s : sequence of float, one per video frame
        Seconds from each clip's start of the coach and player frames shown together.
    cues : sequence of (sentence, start_s, end_s)
        Sentences and the coach's time span each is about.
    """
    import json

    frames = json.dumps({"fps": round(float(fps), 6), "coach": [round(float(t), 3) for t in coach_time_s],
                         "player": [round(float(t), 3) for t in player_time_s]})
    src = html.escape(video_src, quote=True)
    n = len(coach_time_s)
    cue_items = "".join(f'<li class="lab-cue" data-start="{a:.3f}" data-end="{b:.3f}">{html.escape(text)}</li>'
                        for text, a, b in cues)
    return (f'<div class="lab-player" data-frames="{html.escape(frames, quote=True)}" data-frame="0">'
            f'<video src="{src}" muted playsinline preload="auto"></video>'
            '<div class="lab-controls"><button class="lab-prev" type="button" title="one frame back">&#9664;|</button>'
            '<button class="lab-play" type="button">Play</button>'
            '<button class="lab-next" type="button" title="one frame forward">|&#9654;</button>'
            '<select class="lab-speed" title="speed"><option value="0.25">0.25x</option>'
            '<option value="0.5">0.5x</option><option value="1" selected>1x</option></select>'
            '<span class="lab-times"></span></div>'
            f'<input class="lab-scrub" type="range" min="0" max="{max(0, n - 1)}" step="1" value="0" '
            'aria-label="time">'
            + (f'<ul class="lab-cues">{cue_items}</ul>' if cue_items else "")
            + f"</div><script>{_PLAYER_JS}</script>")


def feedback_cues(report: Analysis) -> list[tuple[str, float, float]]:
    """Each feedback sentence with the coach's time span it is about: its phase's span (from the
    per-step table) when the sentence names a phase, else half a second either side of its time."""
    c = report.comparison
    ps = c.per_step
    out = []
    for sentence in c.feedback:
        m = re.search(r"\(phase (\d+)", sentence)
        rows = ps[ps["phase"] == int(m.group(1))] if (m and "phase" in ps.columns) else ps.iloc[:0]
        if len(rows):
            out.append((sentence, float(rows["reference_time_s"].min()), float(rows["reference_time_s"].max())))
            continue
        t = re.search(r"at (\d+(?:\.\d+)?) s", sentence)
        if t:
            out.append((sentence, float(t.group(1)) - 0.5, float(t.group(1)) + 0.5))
    return out


def report_player_html(report: Analysis, video_src: str) -> str:
    """:func:`player_html` for the overlay video of ``report`` (:func:`write_overlay_video`): the coach's
    frame shown with each player frame is the one the side-by-side video draws
    (:func:`lab.viz.draw.match_reference_frames`)."""
    from lab.viz.draw import match_reference_frames

    ref, att = report.reference, report.attempt
    match = np.clip(match_reference_frames(report.path_frames, att.n_frames), 0, ref.n_frames - 1)
    return player_html(video_src, fps=att.fps, coach_time_s=ref.time_s[match] - ref.time_s[0],
                       player_time_s=att.time_s - att.time_s[0], cues=feedback_cues(report))


def video_html(relative_path: str) -> str:
    """What the side-by-side video shows, and a link to download it (an HTML fragment)."""
    src = html.escape(relative_path, quote=True)
    return (f'<p class="lab-notes">Coach left, player right with the coach as a white dashed ghost; each clip\'s '
            f'time is printed on it. Joints green = no difference these cameras can show, yellow to red = beyond '
            f'it, grey = can\'t be judged. <a href="{src}">Download the side-by-side video</a>.</p>')


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


# --------------------------------------------------------------- downloads
def tabulate_joint_angles(report: Analysis):
    """Every frame's joint angles of both clips, as one table (what ``joint_angles.csv`` holds).

    Returns
    -------
    DataFrame, one row per clip and frame: ``clip`` ("coach" or "player"), ``frame``, ``time_s``
    (seconds from the clip's first frame), then per angle ``<angle>_deg`` and ``<angle>_confidence``
    (0-1, :func:`lab.features.compute_angles`). Angles are each clip's own joints at its own frames
    (the player's left is the player's left, also after a mirrored match), before the comparison
    resamples them.
    """
    import pandas as pd

    from lab.features import compute_angles

    tables = []
    for clip, track, body in (("coach", report.reference, report.reference_body),
                              ("player", report.attempt, report.attempt_body)):
        angles, confidence, names = compute_angles(body, camera=track if track.frame == "camera" else None)
        t = np.asarray(body.time_s, dtype=float)
        cols = {"clip": clip, "frame": np.arange(len(t)), "time_s": np.round(t - t[0], 4)}
        for i, n in enumerate(names):
            cols[f"{n}_deg"] = np.round(angles[:, i], 2)
            cols[f"{n}_confidence"] = np.round(confidence[:, i], 3)
        tables.append(pd.DataFrame(cols))
    return pd.concat(tables, ignore_index=True)


def tabulate_aligned_differences(report: Analysis):
    """Both clips' angles matched in time and their differences (what ``aligned_differences.csv`` holds).

    Returns
    -------
    DataFrame, one row per matched moment (DTW step) and joint: ``step``, ``coach_time_s``,
    ``player_time_s`` (seconds, each clip's own clock as the comparison resampled it), ``joint`` (the
    coach's), ``player_joint`` (the player's own; differs after a mirrored match), ``coach_deg``,
    ``player_deg``, ``difference_deg`` (player minus coach), ``coach_se_deg``, ``player_se_deg`` (each
    step's standard error), ``phase``.
    """
    ps = report.comparison.per_step
    names = {"reference_time_s": "coach_time_s", "attempt_time_s": "player_time_s", "attempt_joint": "player_joint",
             "reference_deg": "coach_deg", "attempt_deg": "player_deg", "reference_se_deg": "coach_se_deg",
             "attempt_se_deg": "player_se_deg"}
    keep = [c for c in ("step", "reference_time_s", "attempt_time_s", "joint", "attempt_joint", "reference_deg",
                        "attempt_deg", "difference_deg", "reference_se_deg", "attempt_se_deg", "phase")
            if c in ps.columns]
    out = ps[keep].rename(columns=names).sort_values(["step", "joint"], kind="stable").reset_index(drop=True)
    for c in out.columns:
        if c.endswith("_deg") or c.endswith("_time_s"):
            out[c] = out[c].astype(float).round(3)
    return out


def write_downloads(report: Analysis, folder: str | Path, *, analysis_dir: str | Path | None = None) -> list[Path]:
    """Write the report's downloads into ``folder``: :data:`ANGLES_CSV`, :data:`DIFFERENCES_CSV` and, from a
    saved analysis folder ``analysis_dir``, :data:`ANALYSIS_ZIP` (its files, stored under ``analysis/``).
    Returns the paths written."""
    import zipfile

    folder = Path(folder)
    written = []
    for name, table in ((ANGLES_CSV, tabulate_joint_angles(report)),
                        (DIFFERENCES_CSV, tabulate_aligned_differences(report))):
        written.append(write_bytes_atomic(folder / name, table.to_csv(index=False).encode("utf-8")))
    if analysis_dir is not None:
        tmp = folder / f".{ANALYSIS_ZIP}.part"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in sorted(Path(analysis_dir).iterdir()):
                if f.is_file():
                    z.write(f, f"{ANALYSIS_DIR}/{f.name}")
        os.replace(tmp, folder / ANALYSIS_ZIP)
        written.append(folder / ANALYSIS_ZIP)
    for f in written:
        make_shareable(f)
    return written


def downloads_html(analysis: str | Path | None, *, overlay_video: str | None = None) -> str:
    """Links to the files written beside the report (an HTML fragment); ``analysis`` is the saved
    analysis folder inside the report's folder (None: a notebook opened by hand, nothing to link)."""
    if analysis is None:
        return "<p>No downloads: this page was not written by lab report.</p>"
    folder = Path(analysis).parent
    what = [(overlay_video, "the side-by-side video (MP4)"),
            (ANGLES_CSV, "joint angles of both clips, every frame (CSV: one row per clip and frame, degrees, "
                         "with each angle's confidence 0-1)"),
            (DIFFERENCES_CSV, "both clips matched in time, joint by joint, with the difference and its "
                              "standard error (CSV, degrees)"),
            (ANALYSIS_ZIP, "the whole analysis, to open again with lab (ZIP)")]
    items = [f'<li><a href="{html.escape(name, quote=True)}" download>{html.escape(name)}</a>: {html.escape(words)}</li>'
             for name, words in what if name and (folder / name).exists()]
    if not items:
        return "<p>No downloads were written with this report.</p>"
    return '<ul class="lab-downloads">' + "".join(items) + "</ul>"


def add_back_link(page: str, href: str, *, words: str = "All reports") -> str:
    """``page`` with a link back to the index (``href``, relative) at the top and the foot of its body."""
    link = f'<nav class="lab-nav"><a href="{html.escape(href, quote=True)}">&larr; {html.escape(words)}</a></nav>'
    page = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + link, page, count=1)
    return page.replace("</body>", link + "</body>", 1)


# ----------------------------------------------------------------- writing
def write_analysis_report(analysis: Analysis, output_dir: str | Path, *, title: str | None = None,
                          video: bool = True, back_href: str | None = None,
                          echo: Callable[[str], None] | None = None) -> Path:
    """Render a computed analysis as ``output_dir/report.html``; return the page's path.

    Writes into ``output_dir``: ``report.html`` (self-contained, code hidden, no
    network reference), ``overlay.mp4`` (H.264 side-by-side, linked from the
    page, when both clips are videos), ``analysis/`` (the analysis itself,
    :meth:`lab.pipeline.Analysis.load`), the downloads linked from the page
    (:func:`write_downloads`: ``joint_angles.csv``, ``aligned_differences.csv``,
    ``analysis.zip``) and, when the player's clip is a video, ``thumbnail.png``
    (one matched moment, for an index page). Everything is built in a hidden
    temporary folder inside ``output_dir`` and moved into place at the end,
    ``report.html`` last; other files in ``output_dir`` are left alone.

    ``back_href`` (relative to the page) adds a link back to an index page at the
    top and the foot of the page. ``echo`` receives one line per stage with the
    seconds since this call began.
    """
    import dataclasses
    import time

    t0 = time.perf_counter()
    say = echo or (lambda s: None)

    notebook = notebooks_dir() / COMPARE_NOTEBOOK
    out = Path(output_dir)
    # the notebook's kernel runs in another folder: a video named relative to this one must still be found
    analysis = dataclasses.replace(
        analysis, **{k: str(Path(v).resolve()) for k in ("reference_video", "attempt_video")
                     if (v := getattr(analysis, k)) is not None and Path(v).exists()})
    tmp = _staging(out)
    try:
        saved = analysis.save(tmp / ANALYSIS_DIR)
        write_downloads(analysis, tmp, analysis_dir=saved)
        if analysis.attempt_video and (analysis.reference_video or analysis.ghost_px is not None):
            write_bytes_atomic(tmp / THUMBNAIL_PNG, side_by_side_png(analysis, n=1, height_px=180))
        say(f"  analysis saved, downloads written ({time.perf_counter() - t0:.1f} s)")
        params = dict(analysis=str(saved.resolve()), overlay_video=OVERLAY_MP4 if video else None,
                      draw_only=True)
        executed = execute_notebook(notebook, tmp / EXECUTED_NB, parameters=params, cwd=tmp.resolve())
        say(f"  page drawn{' with its side-by-side video' if (tmp / OVERLAY_MP4).exists() else ''} "
            f"({time.perf_counter() - t0:.1f} s)")
        page = export_html(executed, title=title or f"{Path(analysis.reference_source).stem} vs "
                                                    f"{Path(analysis.attempt_source).stem}")
        if back_href:
            page = add_back_link(page, back_href)
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        make_shareable(tmp / REPORT_HTML)
        if (out / REPORT_HTML).exists():  # the old page goes first: never a new page beside old files
            os.unlink(out / REPORT_HTML)
        for name in (OVERLAY_MP4, THUMBNAIL_PNG, ANGLES_CSV, DIFFERENCES_CSV, ANALYSIS_ZIP):
            if (tmp / name).exists():
                make_shareable(tmp / name)
                os.replace(tmp / name, out / name)
            elif (out / name).exists():    # nor beside an older video or download
                os.unlink(out / name)
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
                 title: str | None = None, video: bool = True, reps: bool = False,
                 echo: Callable[[str], None] | None = None) -> Path:
    """Analyse one pair (:func:`lab.pipeline.analyze`) and write its report; return the HTML path.

    See :func:`write_analysis_report` for what is written; ``reps`` adds the repetitions.
    """
    return report_pair(reference, attempt, output_dir, threshold=threshold, mirror=mirror, model=model,
                       title=title, video=video, reps=reps, echo=echo)[0]


def report_pair(reference: str | Path, attempt: str | Path, output_dir: str | Path, *,
                threshold: float | None = None, mirror: str = "auto", model: str = "full",
                title: str | None = None, video: bool = True, back_href: str | None = None,
                reps: bool = False, echo: Callable[[str], None] | None = None) -> tuple[Path, Analysis]:
    """:func:`write_report`, also returning the :class:`lab.pipeline.Analysis` it rendered (``back_href``:
    see :func:`write_analysis_report`)."""
    for p in (reference, attempt):
        if not Path(p).exists():
            raise LabError(f"no such file: {p}", exit_code=2)
    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, got {mirror!r}", exit_code=2)
    notebooks_dir()  # a missing notebook folder fails before any work
    analysis = analyze(reference, attempt, threshold=threshold, mirror=mirror, model=model, reps=reps, echo=echo)
    return (write_analysis_report(analysis, output_dir, title=title, video=video, back_href=back_href, echo=echo),
            analysis)


def extract_with_progress(clips: Sequence[str | Path], *, model: str = "full",
                          echo: Callable[[str], None], skip_failures: bool = False) -> None:
    """Extract (or find cached) the pose track of every video among ``clips``, one at a time, with a progress
    bar on stderr and one line each: the analyses that follow then find them cached. Pose files and motion
    capture (``.parquet``, ``.trc``, ``.bvh``) are left to the analysis. ``skip_failures`` leaves a clip that
    cannot be read to the analysis (which reports it) instead of raising :class:`LabError`."""
    import time

    from lab.pose.extract import extract_pose_cached

    for clip in dict.fromkeys(str(c) for c in clips):
        if Path(clip).suffix.lower() in (".parquet", ".trc", ".bvh"):
            continue
        t0 = time.perf_counter()
        try:
            extract_pose_cached(clip, model=model, progress=True)
        except LabError:
            if not skip_failures:
                raise
            continue
        echo(f"  pose track of {Path(clip).name} ({time.perf_counter() - t0:.1f} s)")


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


_INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 0 auto; padding: 1em; color: #222; }
h1 { font-size: 1.6em; margin: 0.3em 0; }
.lab-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1em; }
.lab-card { border: 1px solid #ddd; border-radius: 8px; padding: 0.8em; overflow-wrap: anywhere; }
.lab-card img { width: 100%; height: auto; border-radius: 4px; display: block; }
.lab-card h2 { font-size: 1.1em; margin: 0.5em 0 0.3em; }
.lab-badge { display: inline-block; padding: 0.15em 0.6em; border-radius: 4px; font-weight: bold; }
.lab-good { background: #e6f4ea; border-left: 6px solid #2ca02c; }
.lab-bad { background: #fdecea; border-left: 6px solid #d62728; }
.lab-mid { background: #fff7e0; border-left: 6px solid #e0a800; }
.lab-small { color: #666; font-size: 0.9em; }
.lab-links a { margin-right: 0.8em; white-space: nowrap; }
"""

#: What an index page says about each verdict (badge class, words).
_INDEX_VERDICT = {"same": ("lab-good", "Same movement"), "different": ("lab-bad", "Different movement"),
                  "uncertain": ("lab-mid", "Can't tell")}


def index_card_html(entry: dict[str, Any], output_dir: str | Path) -> str:
    """One report's card on the index page: thumbnail, what it compares, verdict and score, its summary
    in words and links to the report, the side-by-side video and the joint-angle CSV (those that exist)."""
    s = entry.get("summary") or {}
    href = entry.get("href")
    folder = Path(href).parent if href else None
    base = Path(output_dir)

    def rel(name: str) -> str | None:
        return (folder / name).as_posix() if folder is not None and (base / folder / name).exists() else None

    parts = ['<div class="lab-card">']
    thumb = rel(THUMBNAIL_PNG)
    if thumb and href:
        parts.append(f'<a href="{html.escape(href, quote=True)}"><img src="{html.escape(thumb, quote=True)}" '
                     f'alt="matched moment: coach left, player right" loading="lazy"></a>')
    name = html.escape(str(entry["name"]).replace("_", " "))
    parts.append(f'<h2><a href="{html.escape(href, quote=True)}">{name}</a></h2>' if href else f"<h2>{name}</h2>")
    if entry.get("about"):
        parts.append(f"<p>{html.escape(str(entry['about']))}</p>")
    ref, att = s.get("reference", entry.get("reference")), s.get("attempt", entry.get("attempt"))
    if ref or att:
        parts.append(f'<p class="lab-small">Coach: {html.escape(Path(str(ref or "-")).name)} &middot; '
                     f'player: {html.escape(Path(str(att or "-")).name)}</p>')
    verdict = s.get("verdict")
    if "error" in entry:
        parts.append(f'<p class="lab-badge lab-bad">Not written</p><p class="lab-small">{html.escape(entry["error"])}</p>')
    elif verdict in _INDEX_VERDICT:
        cls, words = _INDEX_VERDICT[verdict]
        score = f' &mdash; score {s["score"]:.0f}/100' if "score" in s else ""
        chance = (f", {entry['p_same']:.0%} likely the same" if entry.get("p_same") is not None else "")
        parts.append(f'<p class="lab-badge {cls}">{words}{score}{chance}</p>')
    if entry.get("label"):
        parts.append(f'<p class="lab-small">Expected: {html.escape(str(entry["label"]))}</p>')
    if entry.get("words"):
        parts.append(f"<p>{html.escape(str(entry['words']))}</p>")
    links = [(href, "Report"), (rel(OVERLAY_MP4), "Side-by-side video"), (rel(ANGLES_CSV), "Joint angles (CSV)")]
    links = [f'<a href="{html.escape(h, quote=True)}">{w}</a>' for h, w in links if h]
    if links:
        parts.append('<p class="lab-links">' + "".join(links) + "</p>")
    parts.append("</div>")
    return "".join(parts)


def write_index(output_dir: str | Path, entries: Sequence[dict[str, Any]], *, title: str = "lab reports",
                intro: str | None = None) -> Path:
    """``index.html``: what the reports are, then one card per report (:func:`index_card_html`); atomic.

    ``intro`` replaces the opening paragraph. The page has a viewport tag and
    lays its cards out in as many columns as fit (one on a phone).
    """
    intro = intro or ("Each report below compares a player's clip with a coach's drill: is it the same movement, "
                      "and if so, where does the player differ from the coach by more than the cameras can "
                      "measure? Open a report for the verdict in words, the matched moments side by side, the "
                      "joint angles and what to work on; the video shows both clips side by side in step, and "
                      "the CSV holds every frame's joint angles. \"Expected\" is the answer the person who set "
                      "up the pair gave in advance.")
    cards = "".join(index_card_html(e, output_dir) for e in entries)
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{_INDEX_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"
            f'<div class="lab-cards">{cards}</div></body></html>')
    return make_shareable(write_bytes_atomic(Path(output_dir) / "index.html", page.encode("utf-8")))


def report_entry(pair: dict[str, Any], output_dir: str | Path, *, model: str = "full",
                 threshold: float | None = None, mirror: str = "auto", video: bool = True, reps: bool = False,
                 echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write one pair's report in ``output_dir/<name>/``; return its index entry (never raises
    :class:`LabError`: a failed pair's entry carries its ``error``).

    ``pair["name"]`` must stay inside ``output_dir`` (no absolute path, no ``..``).
    """
    out = Path(output_dir)
    entry = {"name": pair["name"], "reference": str(pair["reference"]), "attempt": str(pair["attempt"]),
             "label": pair.get("label"), "about": pair.get("about")}
    try:
        folder = contained_path(out, pair["name"])
        back = "../" * len(Path(pair["name"]).parts) + "index.html"
        page, analysis = report_pair(pair["reference"], pair["attempt"], folder, model=model,
                                     threshold=pair["threshold"] if pair.get("threshold") is not None else threshold,
                                     mirror=pair.get("mirror") or mirror, video=video, back_href=back, reps=reps,
                                     echo=echo)
        entry["href"] = page.relative_to(out.resolve()).as_posix()
        entry["summary"] = analysis.summary()
        entry["words"] = analysis.comparison.summary
        entry["p_same"] = getattr(analysis.comparison, "p_same", None)
    except LabError as exc:
        entry["error"] = f"failed: {exc}"
    return entry


def write_reports(pairs: Sequence[dict[str, Any]], output_dir: str | Path, *, model: str = "full",
                  threshold: float | None = None, mirror: str = "auto", video: bool = True,
                  progress=None, echo: Callable[[str], None] | None = None, workers: int = 1,
                  reps: bool = False) -> Path:
    """One report per pair in ``output_dir/<name>/`` plus ``output_dir/index.html``; return the index.

    A pair that fails is listed in the index with its error; the others go on.
    ``reps`` adds each pair's repetitions.
    ``workers`` reports are written side by side (each notebook runs in its own
    kernel process); the index keeps the pairs' order.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(p):
        entry = report_entry(p, output_dir, model=model, threshold=threshold, mirror=mirror, video=video,
                             reps=reps, echo=(lambda s, name=p["name"]: echo(f"  {name}: {s.strip()}")) if echo else None)
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
                          title: str | None = None, back_href: str | None = None) -> Path:
    """Execute any stage notebook (e.g. ``06_viewpoint_experiment.ipynb``) and write it as one offline
    ``report.html`` in ``output_dir`` (atomic: the page appears only when complete); ``back_href`` links
    back to an index page."""
    nb = notebooks_dir() / notebook
    if not nb.exists():
        raise LabError(f"no notebook {notebook} in {nb.parent}", exit_code=3)
    out = Path(output_dir)
    tmp = _staging(out)
    try:
        executed = execute_notebook(nb, tmp / EXECUTED_NB, parameters=parameters or {}, cwd=tmp.resolve())
        page = export_html(executed, title=title or nb.stem)
        if back_href:
            page = add_back_link(page, back_href)
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        make_shareable(tmp / REPORT_HTML)
        os.replace(tmp / REPORT_HTML, out / REPORT_HTML)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / REPORT_HTML
