"""Shareable reports: execute a stage notebook with papermill, export one offline HTML page.

The orchestration lives here; the CLI only calls :func:`write_report`,
:func:`write_reports` and :func:`write_index`. Outputs are built in a
temporary folder beside the destination and renamed into place at the end,
so an interrupted run never leaves a complete-looking report.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import csv
import html
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from lab.io import LabError, write_bytes_atomic

#: Notebook run by ``lab report``.
COMPARE_NOTEBOOK = "04_compare.ipynb"

# nbconvert's lab template loads require.js, MathJax, Mermaid and the widget
# manager from CDNs; the report needs none of them (plotly.js is inlined by the
# "notebook" renderer, figures do not depend on require.js), so the blocks are
# emptied and the page makes no network request.
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block extra_css -%}
<style>
body { max-width: 1200px; margin: 0 auto; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.lab-verdict { font-size: 1.4em; padding: 0.6em 1em; border-radius: 8px; margin: 0.5em 0; }
.lab-good { background: #e6f4ea; border-left: 8px solid #2ca02c; }
.lab-bad { background: #fdecea; border-left: 8px solid #d62728; }
.lab-mid { background: #fff7e0; border-left: 8px solid #e0a800; }
</style>
{%- endblock extra_css -%}
"""

_EXTERNAL_REF = re.compile(
    r"""<(?:script|link|img|iframe|video|source|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE)
_REQUIRE_CDN = re.compile(r"""require(?:js)?\.config\([^)]*https?://""", re.IGNORECASE | re.DOTALL)


def notebooks_dir() -> Path:
    """The checkout's ``notebooks/`` folder (the stage notebooks)."""
    from lab.samples import project_root

    env = os.environ.get("LAB_NOTEBOOKS_DIR")
    root = Path(env) if env else ((project_root() or Path.cwd()) / "notebooks")
    if not root.is_dir():
        raise LabError(f"notebooks folder not found at {root} (set LAB_NOTEBOOKS_DIR)", exit_code=3)
    return root


# ------------------------------------------------------------------ export
def find_external_references(page: str) -> list[str]:
    """Snippets of ``page`` that would make a browser fetch something from the network.

    Looks for ``src``/``href`` attributes of script, link, img, iframe, media
    tags pointing at ``http(s)://`` or ``//`` URLs, and require.js configs
    with remote paths. URLs merely mentioned inside inlined JavaScript (the
    plotly.js bundle names map-tile servers it never contacts unless a map
    is drawn) are not references.
    """
    hits = [page[m.start():m.end() + 60] for m in _EXTERNAL_REF.finditer(page)]
    hits += [page[m.start():m.start() + 120] for m in _REQUIRE_CDN.finditer(page)]
    return hits


def export_html(notebook, *, title: str | None = None) -> str:
    """One self-contained HTML page from an executed notebook (code cells hidden).

    Parameters
    ----------
    notebook : nbformat.NotebookNode or path
    title : str, optional
        Page title.

    Raises
    ------
    LabError
        If the page would still reference a remote resource.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb = _strip_remote_mathjax(nb)
    nb.metadata.pop("widgets", None)  # widget state needs the CDN widget manager
    if title:
        nb.metadata["title"] = title
    from nbconvert.preprocessors import TagRemovePreprocessor

    # cells tagged "remove-output" hold live widgets: they need a kernel, so the page leaves them out
    nb, _ = TagRemovePreprocessor(remove_all_outputs_tags={"remove-output"}, enabled=True).preprocess(nb, {})
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True,
                            extra_loaders=[jinja2.DictLoader({"lab_report.html.j2": _TEMPLATE})],
                            template_file="lab_report.html.j2")
    body, _resources = exporter.from_notebook_node(nb)
    body = neutralize_bundled_urls(body)
    bad = find_external_references(body)
    if bad:
        raise LabError(f"report HTML would load remote resources: {bad[0][:100]}", exit_code=1)
    return body


_BUNDLED_CDN_URL = re.compile(r"""https?://[A-Za-z0-9.-]*cdn[A-Za-z0-9.-]*(?:/[^"'`\s)<>]*)?""", re.IGNORECASE)


def neutralize_bundled_urls(page: str) -> str:
    """Replace CDN URLs written inside inlined libraries with an inert ``about:blank#offline``.

    The inlined plotly.js names map-style, tile and icon servers (cartocdn,
    jsdelivr, cdn.plot.ly topojson) that it would contact only to draw a map;
    the report draws none. Rewriting them makes the page carry no CDN
    reference at all, so it cannot reach one even if a future figure asked.
    """
    return _BUNDLED_CDN_URL.sub("about:blank#offline", page)


_MATHJAX_TAG = re.compile(r"""<script\s+src=["']https?://[^"']*mathjax[^"']*["']\s*>\s*</script>""", re.IGNORECASE)


def _strip_remote_mathjax(nb):
    """Drop the MathJax CDN ``<script>`` plotly's notebook renderer puts before every figure.

    The figures have no LaTeX, so nothing is lost; the page then loads nothing remote.
    """
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/html"] = _MATHJAX_TAG.sub("", text)
    return nb


def execute_notebook(notebook: str | Path, output: str | Path, *, parameters: dict[str, Any],
                     cwd: str | Path | None = None, kernel_name: str = "python3",
                     timeout_s: float = 1200) -> Path:
    """Run a notebook with papermill (parameters injected after the ``parameters`` cell)."""
    import logging

    import papermill

    from lab.io import quiet_stderr

    logging.getLogger("papermill").setLevel(logging.ERROR)
    try:
        with quiet_stderr():  # the kernel inherits fd 2: its logs stay off the terminal (LAB_DEBUG=1 shows them)
            papermill.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name=kernel_name,
                                       cwd=str(cwd) if cwd else None, progress_bar=False, log_output=False,
                                       execution_timeout=timeout_s,
                                       extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no TCP warning noise
    except papermill.PapermillExecutionError as exc:
        raise LabError(f"{Path(notebook).name} failed in cell {exc.exec_count}: {exc.ename}: "
                       f"{str(exc.evalue).splitlines()[0] if exc.evalue else ''}", exit_code=1) from None
    return Path(output)


# ------------------------------------------------------------------- video
def write_h264(frames: Iterable[np.ndarray], path: str | Path, *, fps: float) -> Path:
    """Write RGB frames to a browser-playable H.264 mp4 (yuv420p, faststart), atomically.

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8, all the same size (H, W even)
    path : destination ``.mp4``
    fps : frames per second
    """
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    writer = None
    n = 0
    try:
        for f in frames:
            f = np.ascontiguousarray(f, dtype=np.uint8)
            if writer is None:
                h, w = f.shape[:2]
                if h % 2 or w % 2:
                    raise ValueError(f"H.264 yuv420p needs even frame sizes, got {w}x{h}")
                writer = imageio_ffmpeg.write_frames(tmp, (w, h), fps=float(fps), codec="libx264",
                                                     pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=6,
                                                     macro_block_size=2,
                                                     output_params=["-movflags", "+faststart"],
                                                     ffmpeg_log_level="error")
                writer.send(None)
            writer.send(f)
            n += 1
        if writer is None:
            raise ValueError("no frames to write")
        writer.close()
        writer = None
        _shareable(tmp)
        os.replace(tmp, path)
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _shareable(path: str | Path) -> Path:
    """Give a written output the usual read permissions (temporary files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return Path(path)


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


# ---------------------------------------------------------- atomic folders
@contextlib.contextmanager
def staging_dir(final: str | Path):
    """Yield a temporary folder beside ``final``; on success it replaces ``final``.

    An existing ``final`` is moved aside and deleted only after the new one
    is in place; on failure the temporary folder is removed and ``final`` is
    untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        yield tmp
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ------------------------------------------------------- comparison bundle
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".3gp")


@dataclasses.dataclass
class ComparisonReport:
    """Everything the comparison report shows, computed once (:func:`compare_for_report`).

    Attributes
    ----------
    reference_path, attempt_path : str
        Inputs as given (video or pose file).
    reference_video, attempt_video : Path or None
        The videos, when the inputs are videos (frames are drawn from them).
    reference, attempt : PoseTrack
        Extracted tracks (frame ``camera`` for videos).
    reference_body, attempt_body : PoseTrack
        The same in the body frame (:func:`lab.features.lift_or_basic`).
    comparison : lab.score.compare.Comparison
    path_frames : ndarray, shape (L, 2), int
        DTW path as frame indices ``(reference_frame, attempt_frame)``.
    deviation_deg : ndarray, shape (T_attempt, K)
        Per attempt frame and landmark, the largest absolute angle difference
        (degrees) of the angles at that landmark, NaN where no angle sits.
    ghost_px : ndarray, shape (T_attempt, K, 2) or None
        The coach's matched pose re-projected into the attempt's view, pixels.
    views : dict name -> camera position (3,) in the body frame, metres
    notes : list of str
        What could not be shown and why.
    """

    reference_path: str
    attempt_path: str
    reference_video: Path | None
    attempt_video: Path | None
    reference: Any
    attempt: Any
    reference_body: Any
    attempt_body: Any
    comparison: Any
    path_frames: np.ndarray
    deviation_deg: np.ndarray
    ghost_px: np.ndarray | None
    views: dict[str, np.ndarray]
    notes: list[str]


def _as_video(path: str | Path) -> Path | None:
    p = Path(path)
    return p if p.suffix.lower() in VIDEO_SUFFIXES else None


def _nearest_index(time_s: np.ndarray, query_s: np.ndarray) -> np.ndarray:
    t = np.asarray(time_s, dtype=float) - float(time_s[0])
    q = np.asarray(query_s, dtype=float)
    i = np.clip(np.searchsorted(t, q), 1, len(t) - 1)
    left_closer = (q - t[i - 1]) <= (t[i] - q)
    return np.where(left_closer, i - 1, i).astype(int)


def path_to_frames(path_time_s: np.ndarray, reference_time_s: np.ndarray,
                   attempt_time_s: np.ndarray) -> np.ndarray:
    """DTW path in seconds from each clip's start (L, 2) -> nearest frame indices (L, 2)."""
    p = np.asarray(path_time_s, dtype=float)
    return np.stack([_nearest_index(reference_time_s, p[:, 0]), _nearest_index(attempt_time_s, p[:, 1])], 1)


def _angle_keypoints() -> dict[str, tuple[str, ...]]:
    """Angle name -> landmarks it is drawn on (its vertex; body angles on their segment)."""
    from lab.features import JOINT_ANGLES

    out = {n: (v[1],) for n, v in JOINT_ANGLES.items()}
    out.update({"trunk_lean": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
                "left_hip_abduction": ("left_hip",), "right_hip_abduction": ("right_hip",),
                "neck": ("nose",)})
    return out


def _swap_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def deviation_per_frame(per_step, attempt_time_s: np.ndarray, keypoints: Sequence[str], *,
                        mirrored: bool = False) -> np.ndarray:
    """Per attempt frame and landmark, the largest |angle difference| there (degrees).

    Parameters
    ----------
    per_step : DataFrame
        ``Comparison.per_step`` (columns ``step, attempt_time_s, joint, difference_deg``).
    attempt_time_s : ndarray (T,)
    keypoints : landmark names (K)
    mirrored : bool
        The attempt was compared as its mirror image: its left joints carry
        the reference's right-joint differences.

    Returns
    -------
    ndarray, shape (T, K); NaN where no angle sits on the landmark.
    """
    T, K = len(attempt_time_s), len(keypoints)
    out = np.full((T, K), np.nan)
    if per_step is None or len(per_step) == 0:
        return out
    kp_index = {k: i for i, k in enumerate(keypoints)}
    where = _angle_keypoints()
    steps = per_step.drop_duplicates("step").sort_values("step")
    step_t = steps["attempt_time_s"].to_numpy(float)
    frame_t = np.asarray(attempt_time_s, float) - float(attempt_time_s[0])
    # each attempt frame takes the DTW step nearest in attempt time
    nearest_step = steps["step"].to_numpy()[
        np.clip(np.searchsorted(step_t, frame_t), 0, len(step_t) - 1)]
    for joint, g in per_step.groupby("joint", sort=True):
        name = _swap_side(joint) if mirrored else joint
        kps = [kp_index[k] for k in where.get(name, ()) if k in kp_index]
        if not kps:
            continue
        d = np.abs(g.set_index("step")["difference_deg"].reindex(nearest_step).to_numpy(float))
        for k in kps:
            out[:, k] = np.fmax(out[:, k], d)
    return out


def compare_for_report(reference: str | Path, attempt: str | Path, *, threshold: float | None = None,
                       mirror: str = "auto", model: str = "full") -> ComparisonReport:
    """Load/extract both clips, compare them and prepare every view of the report.

    Parameters
    ----------
    reference, attempt : path
        Video (extracted with ``model``, cached) or pose file.
    threshold : float, optional
        Same/different distance threshold (default: the shipped one).
    mirror : {"auto", "no", "yes"}
    model : {"lite", "full", "heavy"}
    """
    from lab.features import lift_or_basic
    from lab.pose.extract import load_track
    from lab.score.compare import compare_tracks

    notes: list[str] = []
    ref = load_track(reference, model=model, progress=False) if _as_video(reference) else load_track(reference)
    att = load_track(attempt, model=model, progress=False) if _as_video(attempt) else load_track(attempt)
    comp = compare_tracks(ref, att, mirror=mirror, threshold=threshold,
                          reference_path=str(reference), attempt_path=str(attempt))
    ref_body, how_ref = lift_or_basic(ref)
    att_body, how_att = lift_or_basic(att)
    if "basic" in (how_ref + how_att):
        notes.append(f"3D body frame: reference {how_ref}, attempt {how_att}")
    path_frames = path_to_frames(comp.path_time_s, ref.time_s, att.time_s)
    deviation = deviation_per_frame(comp.per_step, att.time_s, att.keypoints, mirrored=comp.mirrored)
    from lab.align import estimate_view, project_to_view

    views: dict[str, np.ndarray] = {}
    ghost = None
    try:
        ghost, att_view = _ghost_px(project_to_view, estimate_view, ref_body, att, path_frames,
                                    mirrored=comp.mirrored, notes=notes)
    except LabError as exc:  # no camera pose for the attempt: report without the ghost
        notes.append(f"no ghost: {exc}")
    for name, tr in (("coach camera", ref), ("player camera", att)):
        if tr.frame != "camera" or tr.image_px is None:
            continue
        try:
            views[name] = camera_position_body_m(estimate_view(tr))
        except LabError as exc:
            notes.append(f"{name}: viewpoint not estimated ({exc})")
    return ComparisonReport(reference_path=str(reference), attempt_path=str(attempt),
                            reference_video=_as_video(reference), attempt_video=_as_video(attempt),
                            reference=ref, attempt=att, reference_body=ref_body, attempt_body=att_body,
                            comparison=comp, path_frames=path_frames, deviation_deg=deviation,
                            ghost_px=ghost, views=views, notes=notes)


def camera_position_body_m(view) -> np.ndarray:
    """Camera centre (3,) in the body frame, metres, from a :class:`lab.align.ViewEstimate`."""
    from lab.align import view_direction

    return view_direction(view.azimuth_deg, view.elevation_deg) * float(view.distance_m)


def warp_track(track, frame_index: np.ndarray, time_s: np.ndarray):
    """``track``'s frames ``frame_index`` (repeats allowed) re-timed at ``time_s`` (a DTW-warped copy)."""
    idx = np.asarray(frame_index, dtype=int)

    def pick(a):
        return None if a is None else a[idx]
    return track.replace(time_s=np.asarray(time_s, dtype=float), image_px=pick(track.image_px),
                         world_m=pick(track.world_m), visibility=pick(track.visibility),
                         presence=pick(track.presence), image_z=pick(track.image_z), meta=dict(track.meta))


def reference_frame_per_attempt_frame(path_frames: np.ndarray, n_attempt: int) -> np.ndarray:
    """For each attempt frame, the reference frame the DTW path matches it to (first match; held
    before/after the matched part)."""
    p = np.asarray(path_frames, dtype=int)
    out = np.full(n_attempt, -1)
    for r, a in p[::-1]:  # reversed so the first match wins
        out[a] = r
    known = np.flatnonzero(out >= 0)
    if known.size == 0:
        return np.clip(np.arange(n_attempt), 0, None)
    # fill gaps with the nearest earlier match, and the start with the first match
    filled = np.maximum.accumulate(np.where(out >= 0, np.arange(n_attempt), 0))
    out = np.where(out >= 0, out, out[filled])
    out[:known[0]] = out[known[0]]
    return out


def _ghost_px(project_to_view, estimate_view, ref_body, att, path_frames, *, mirrored, notes):
    """The coach's DTW-matched pose in the player's pixels (T_att, K, 2), or None with a note."""
    if att.image_px is None or att.world_m is None or att.frame != "camera":
        notes.append("no ghost: the attempt is not a video track (needs 2D and camera-frame 3D)")
        return None, None
    if mirrored:
        from lab.features import mirror_track
        ref_body = mirror_track(ref_body)
    ridx = reference_frame_per_attempt_frame(path_frames, att.n_frames)
    warped = warp_track(ref_body, ridx, att.time_s)
    view = estimate_view(att)
    ghost = project_to_view(warped, view, target=att)
    return ghost, view


# ------------------------------------------------------------ report parts
_VERDICT_WORDS = {
    "same": ("lab-good", "Same movement", "The player's movement matches the coach's drill."),
    "different": ("lab-bad", "Different movement", "The player's movement does not match the coach's drill."),
    "uncertain": ("lab-mid", "Can't tell", "There is not enough reliable evidence to decide."),
}


def headline_html(report: ComparisonReport) -> str:
    """Verdict, score and the top feedback in words a coach reads (an HTML fragment)."""
    c = report.comparison
    cls, title, sentence = _VERDICT_WORDS.get(c.verdict, ("lab-mid", c.verdict, ""))
    parts = [f'<div class="lab-verdict {cls}"><b>{html.escape(title)}</b> &mdash; score '
             f'<b>{c.score:.0f}</b>/100<br><span style="font-size:0.7em">{html.escape(sentence)} '
             f'(50 is the same/different line.)</span></div>']
    if c.mirrored:
        parts.append("<p>The player did the movement with the other side (mirror image); it was compared "
                     "as such.</p>")
    if c.feedback:
        parts.append("<p><b>What to work on</b></p><ul>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in c.feedback) + "</ul>")
    small = list(c.warnings) + list(report.notes)
    if small:
        parts.append('<p style="color:#666;font-size:0.85em">Notes: '
                     + "; ".join(html.escape(s) for s in small) + "</p>")
    parts.append(f'<p style="color:#666;font-size:0.85em">Coach: {html.escape(Path(report.reference_path).name)}'
                 f' &middot; player: {html.escape(Path(report.attempt_path).name)} &middot; distance '
                 f'{c.distance:.1f} (threshold {c.threshold:.1f}, {html.escape(c.threshold_provenance)})</p>')
    return "\n".join(parts)


def feedback_table(per_step, *, joints: Sequence[str] | None = None):
    """Mean signed angle difference (player minus coach, degrees) per joint and phase.

    Parameters
    ----------
    per_step : DataFrame, ``Comparison.per_step``
    joints : order of the rows (default: by largest mean absolute difference)

    Returns
    -------
    DataFrame, index joint, columns ``phase 1..n``, values degrees (confidence-weighted).
    """
    import pandas as pd

    df = per_step[np.isfinite(per_step["difference_deg"]) & (per_step["confidence"] > 0)].copy()
    df["w"] = df["confidence"]
    df["wd"] = df["difference_deg"] * df["w"]
    g = df.groupby(["joint", "phase"])[["wd", "w"]].sum()
    table = (g["wd"] / g["w"]).unstack("phase")
    table.columns = [f"phase {int(p)}" for p in table.columns]
    if joints is None:
        joints = table.abs().mean(axis=1).sort_values(ascending=False).index
    table = table.reindex([j for j in joints if j in table.index])
    table.index = [j.replace("_", " ") for j in table.index]
    table.index.name = "joint (player - coach, deg)"
    return pd.DataFrame(table).round(1)


def feedback_table_html(table, *, max_deg: float = 30.0) -> str:
    """HTML table with cells shaded white -> red by the size of the difference."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for name, row in table.iterrows():
        cells = []
        for v in row.to_numpy(dtype=float):
            if not np.isfinite(v):
                cells.append('<td style="color:#aaa">-</td>')
                continue
            u = min(1.0, abs(v) / max_deg)
            bg = f"rgb(255,{int(255 - 150 * u)},{int(255 - 150 * u)})"
            cells.append(f'<td style="background:{bg};text-align:right">{v:+.0f}</td>')
        rows.append(f"<tr><th style='text-align:left'>{html.escape(str(name))}</th>{''.join(cells)}</tr>")
    return (f"<table><thead><tr><th>{html.escape(str(table.index.name or ''))}</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def aligned_angles(per_step, *, joints: Sequence[str]) -> tuple[dict, dict, np.ndarray]:
    """Coach and player angle curves along the DTW path, from ``Comparison.per_step``.

    Returns ``(reference, attempt, path)`` for :func:`lab.viz.plot_joint_angles`:
    dicts joint -> (L,) degrees, and the identity path (L, 2) over the steps.
    """
    ref, att = {}, {}
    for j in joints:
        g = per_step[per_step["joint"] == j].sort_values("step")
        ref[j.replace("_", " ")] = g["reference_deg"].to_numpy(float)
        att[j.replace("_", " ")] = g["attempt_deg"].to_numpy(float)
    n = len(next(iter(ref.values()))) if ref else 0
    return ref, att, np.stack([np.arange(n), np.arange(n)], 1)


def side_by_side_frames(report: ComparisonReport, *, n: int = 4, height_px: int = 360,
                        max_deviation_deg: float = 40.0) -> np.ndarray:
    """Matched moments: coach frame | player frame with coloured skeleton and the coach's ghost.

    ``n`` rows spread over the DTW path; returns one RGB image.
    """
    from lab.viz.draw import (_fit_height, _label, deviation_colors, draw_ghost, draw_skeleton,
                              read_frames)

    if report.attempt_video is None or (report.reference_video is None and report.ghost_px is None):
        raise ValueError("side-by-side frames need the player's video and the coach's video or ghost")
    p = report.path_frames[np.round(np.linspace(0, len(report.path_frames) - 1, n)).astype(int)]
    ref_frames = (read_frames(report.reference_video, p[:, 0], max_side_px=None)
                  if report.reference_video is not None else None)
    att_frames = read_frames(report.attempt_video, p[:, 1], max_side_px=None)
    rows = []
    ref, att = report.reference, report.attempt
    for r, a in p:
        fa = _fit_height(att_frames[int(a)], height_px)
        sa = fa.shape[1] / float(att.meta.get("width") or att_frames[int(a)].shape[1])
        if ref_frames is not None:
            fr = _fit_height(ref_frames[int(r)], height_px)
            sr = fr.shape[1] / float(ref.meta.get("width") or ref_frames[int(r)].shape[1])
            fr = draw_skeleton(fr, ref.image_px[r] * sr, keypoints=ref.keypoints)
            coach_label = "coach"
        else:  # the coach is a 3D recording (mocap): draw the model as the player's camera sees it
            fr = np.full_like(fa, 30)
            fr = draw_skeleton(fr, report.ghost_px[a] * sa, keypoints=att.keypoints)
            coach_label = "coach 3D, player's view,"
        if report.ghost_px is not None:
            fa = draw_ghost(fa, report.ghost_px[a] * sa, keypoints=att.keypoints)
        cols = deviation_colors(report.deviation_deg[a], max_value=max_deviation_deg)
        fa = draw_skeleton(fa, att.image_px[a] * sa, keypoints=att.keypoints, colors_per_joint=cols)
        fr = _label(fr, f"{coach_label} {ref.time_s[r] - ref.time_s[0]:.2f}s")
        fa = _label(fa, f"player {att.time_s[a] - att.time_s[0]:.2f}s")
        rows.append(np.concatenate([fr, np.zeros((height_px, 8, 3), np.uint8), fa], axis=1))
    w = max(x.shape[1] for x in rows)
    rows = [np.pad(x, ((0, 8), (0, w - x.shape[1] + 16), (0, 0)))
            for x in rows]
    columns = 2 if w < height_px * 1.2 else 1   # portrait clips: two matched moments per row
    grid_rows = [np.concatenate(rows[i:i + columns] + [np.zeros_like(rows[0])] * (i + columns - len(rows)), axis=1)
                 for i in range(0, len(rows), columns)]
    return np.concatenate(grid_rows, axis=0)


def overlay_frames(report: ComparisonReport, *, height_px: int = 480, max_deviation_deg: float = 40.0):
    """Frames of the side-by-side overlay video (see :func:`lab.viz.render_overlay_video`)."""
    from lab.viz import render_overlay_video

    return render_overlay_video(report.reference_video, report.reference, report.attempt_video,
                                report.attempt, path=report.path_frames, ghost_px=report.ghost_px,
                                deviation=report.deviation_deg, max_deviation=max_deviation_deg,
                                height_px=height_px)


def video_html(relative_path: str) -> str:
    """An HTML5 player and a link for the overlay video written beside the report."""
    src = html.escape(relative_path, quote=True)
    return (f'<video src="{src}" controls muted playsinline style="max-width:100%"></video>'
            f'<p><a href="{src}">Download the side-by-side video</a> (coach left, player right with the '
            f'coach as a white dashed ghost; joints green = close to the coach, red = far).</p>')


def summary_of(report: ComparisonReport) -> dict[str, Any]:
    """Small JSON-able summary of a report (for the index page)."""
    c = report.comparison
    return {"reference": report.reference_path, "attempt": report.attempt_path, "verdict": c.verdict,
            "score": round(float(c.score), 1), "distance": round(float(c.distance), 2),
            "threshold": round(float(c.threshold), 2), "mirrored": bool(c.mirrored),
            "feedback": list(c.feedback)}


# ----------------------------------------------------------------- writing
REPORT_HTML = "report.html"
OVERLAY_MP4 = "overlay.mp4"
SUMMARY_JSON = "summary.json"
EXECUTED_NB = "report.ipynb"


def write_report(reference: str | Path, attempt: str | Path, output_dir: str | Path, *,
                 threshold: float | None = None, mirror: str = "auto", model: str = "full",
                 title: str | None = None, video: bool = True) -> Path:
    """Execute ``04_compare.ipynb`` for one pair and write the shareable report; return the HTML path.

    Writes into ``output_dir``: ``report.html`` (self-contained, code hidden,
    no network reference), ``overlay.mp4`` (H.264 side-by-side, linked from
    the page) and ``summary.json``. Everything
    is built in a hidden temporary folder inside ``output_dir`` and moved
    into place at the end, ``report.html`` last, so an interrupted run never
    leaves a complete-looking report (other files in ``output_dir`` are left alone).
    """
    for p in (reference, attempt):
        if not Path(p).exists():
            raise LabError(f"no such file: {p}", exit_code=2)
    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, got {mirror!r}", exit_code=2)
    notebook = notebooks_dir() / COMPARE_NOTEBOOK
    out = Path(output_dir)
    tmp = _staging(out)
    try:
        params = dict(reference=str(Path(reference).resolve()), attempt=str(Path(attempt).resolve()),
                      threshold=None if threshold is None else float(threshold), mirror=mirror, model=model,
                      overlay_video=OVERLAY_MP4 if video else None, summary_json=SUMMARY_JSON)
        executed = execute_notebook(notebook, tmp / EXECUTED_NB, parameters=params, cwd=tmp)
        page = export_html(executed, title=title or f"{Path(reference).stem} vs {Path(attempt).stem}")
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        names = [n for n in (OVERLAY_MP4, SUMMARY_JSON) if (tmp / n).exists()]
        if (out / REPORT_HTML).exists():  # the old page goes first: never a new page beside old files
            os.unlink(out / REPORT_HTML)
        for n in (OVERLAY_MP4, SUMMARY_JSON):  # nor beside an older run's video or summary
            if n not in names and (out / n).exists():
                os.unlink(out / n)
        for n in names + [REPORT_HTML]:
            os.replace(tmp / n, out / n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / REPORT_HTML


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
    return _shareable(write_bytes_atomic(Path(output_dir) / "index.html", page.encode("utf-8")))


def write_reports(pairs: Sequence[dict[str, Any]], output_dir: str | Path, *, model: str = "full",
                  threshold: float | None = None, mirror: str = "auto", video: bool = True,
                  progress=None) -> Path:
    """One report per pair in ``output_dir/<name>/`` plus ``output_dir/index.html``; return the index.

    A pair that fails is listed in the index with its error; the others go on.
    """
    import json

    out = Path(output_dir)
    entries = []
    for p in pairs:
        entry = {"name": p["name"], "reference": str(p["reference"]), "attempt": str(p["attempt"]),
                 "label": p.get("label")}
        try:
            page = write_report(p["reference"], p["attempt"], out / p["name"], model=model,
                                threshold=p.get("threshold", threshold) if p.get("threshold") is not None
                                else threshold, mirror=p.get("mirror") or mirror, video=video)
            entry["href"] = f"{p['name']}/{REPORT_HTML}"
            entry["summary"] = json.loads((page.parent / SUMMARY_JSON).read_text())
        except LabError as exc:
            entry["error"] = f"failed: {exc}"
        if progress:
            progress(entry)
        entries.append(entry)
    return write_index(out, entries)


# --------------------------------------------------------------- viewpoints
def estimate_views(tracks: dict[str, Any]) -> tuple[dict[str, np.ndarray], Any]:
    """Each clip's camera viewpoint: positions (3,) in the body frame and a summary table.

    Parameters
    ----------
    tracks : dict name -> PoseTrack (frame ``camera``, with ``image_px``)

    Returns
    -------
    (dict name -> position_m (3,), DataFrame name x azimuth_deg, elevation_deg, distance_m, spread_deg,
    ambiguous, reason); a clip whose view cannot be solved is in the table with NaN and its reason.
    """
    import pandas as pd

    from lab.align import estimate_view

    positions, rows = {}, []
    for name, tr in tracks.items():
        try:
            v = estimate_view(tr)
        except LabError as exc:
            rows.append({"clip": name, "azimuth_deg": np.nan, "elevation_deg": np.nan, "distance_m": np.nan,
                         "spread_deg": np.nan, "ambiguous": True, "reason": str(exc)})
            continue
        positions[name] = camera_position_body_m(v)
        rows.append({"clip": name, "azimuth_deg": round(v.azimuth_deg, 1), "elevation_deg": round(v.elevation_deg, 1),
                     "distance_m": round(v.distance_m, 2), "spread_deg": round(v.spread_deg, 1),
                     "ambiguous": bool(v.ambiguous), "reason": v.reason})
    return positions, pd.DataFrame(rows).set_index("clip")


def true_camera_positions(truth, cameras: dict[str, Any]) -> dict[str, np.ndarray]:
    """Calibrated cameras' positions (3,) in the subject's body frame (clip medians), from mocap truth.

    Parameters
    ----------
    truth : PoseTrack, frame ``lab`` (e.g. the Pose2Sim TRC)
    cameras : dict name -> :class:`lab.align.calibration.Camera`
    """
    from lab.align import view_direction
    from lab.align.evaluate import true_views
    from lab.lift.circular import circular_median_deg

    tv = true_views(truth, cameras)
    out = {}
    for name, g in tv.groupby("camera", sort=True):
        az = float(circular_median_deg(g["azimuth_deg"].to_numpy(float)))
        el = float(np.nanmedian(g["elevation_deg"]))
        out[name] = view_direction(az, el) * float(np.nanmedian(g["distance_m"]))
    return out


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
        executed = execute_notebook(nb, tmp / EXECUTED_NB, parameters=parameters or {}, cwd=tmp)
        page = export_html(executed, title=title or nb.stem)
        (tmp / REPORT_HTML).write_text(page, encoding="utf-8")
        os.replace(tmp / REPORT_HTML, out / REPORT_HTML)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / REPORT_HTML
