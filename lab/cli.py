"""The ``lab`` command line. Library functions return data; this module decides where outputs go.

Errors the user can act on print one line on stderr and exit non-zero
(2 bad input, 3 missing resource, 4 nothing usable in the input, 130
interrupted); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer

from lab.io import LabError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Movement-analysis workbench: extract, lift, compare and report.")
_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks and native logs.")) -> None:
    _state["debug"] = debug
    if debug:
        import os
        os.environ["LAB_DEBUG"] = "1"


def _out(msg: str) -> None:
    typer.echo(msg)


def _progress(msg: str) -> None:
    """A progress line on stderr: stdout keeps only the results a script reads."""
    typer.echo(msg, err=True)


# ----------------------------------------------------------------------- models
@app.command()
def models(build: Optional[list[str]] = typer.Option(None, "--get",
                                                     help="Fetch/build this model (lite, full, heavy); repeatable."),
           offline: bool = typer.Option(False, "--offline", help="Skip the official download.")) -> None:
    """Show which pose models are in the cache and where they came from."""
    from lab.pose.models import MODEL_NAMES, ensure_model, model_status

    for name in build or []:
        ensure_model(name, offline=offline or None)
    for name in MODEL_NAMES:
        s = model_status(name)
        state = "ok" if s["ok"] else ("damaged" if s["present"] else "absent")
        src = s["source"] or "-"
        _out(f"{name:6s} {state:8s} {s['path']}  source: {src}")


# ---------------------------------------------------------------------- samples
@app.command()
def samples() -> None:
    """Extract the sample footage (Pose2Sim four views, Sports2D demo) into data/samples/."""
    from lab.samples import ensure_samples

    for name, path in ensure_samples().items():
        _out(f"{name:28s} {path}")


# ---------------------------------------------------------------------- extract
@app.command()
def extract(video: Path = typer.Argument(..., help="Video file."),
            output: Optional[Path] = typer.Option(None, "-o", "--output", help="Pose file to write (.parquet)."),
            model: str = typer.Option("full", "--model", help="lite, full or heavy."),
            max_people: int = typer.Option(2, "--max-people", help="People looked for; one is followed."),
            check_every: float = typer.Option(0.0, "--check-every", min=0,
                                              help="With --max-people 2 or more: 0 detects everyone on every frame; "
                                                   "S > 0 lets MediaPipe's tracker follow one person and looks for "
                                                   "everyone every S seconds, redoing frames where the tracker went "
                                                   "astray (faster, landmarks slightly less accurate)."),
            fps: Optional[float] = typer.Option(None, "--fps", help="Process at most this many frames per second."),
            workers: Optional[int] = typer.Option(None, "--workers", help="Landmarkers run side by side, one thread each "
                                                  "(default: one per core on long clips)."),
            max_side: int = typer.Option(1920, "--max-side", min=0,
                                         help="Downscale frames whose longer side exceeds this many pixels (0: never)."),
            no_cache: bool = typer.Option(False, "--no-cache", help="Extract again even if cached.")) -> None:
    """Extract one person's pose track from a video into a Parquet pose file."""
    from lab.pose.extract import extract_pose, extract_pose_cached
    from lab.pose.track import write_track

    if output is not None and output.suffix.lower() != ".parquet":
        raise LabError(f"output must end in .parquet, got {output.name}", exit_code=2)
    fn = extract_pose if no_cache else extract_pose_cached
    track = fn(video, model=model, max_people=max_people, target_fps=fps, workers=workers,
               max_side_px=max_side or None, check_every_s=check_every)
    output = output or video.with_suffix(".pose.parquet")
    write_track(track, output)
    _out(f"{output}  ({track.n_frames} frames, person on {track.detection_rate():.1%}, "
         f"{track.meta.get('model')})")


# ------------------------------------------------------------------------- demo
@app.command()
def demo(output: Path = typer.Option(Path("reports/demo"), "-o", "--output", help="Folder for the outputs."),
         model: str = typer.Option("full", "--model")) -> None:
    """The main job on the bundled samples: extract every clip and write a report."""
    from lab.demo import run_demo

    path = run_demo(output, model=model, echo=_out)
    _out(str(path))


# ----------------------------------------------------------------------- report
@app.command()
def report(reference: Optional[Path] = typer.Argument(None, help="Coach's clip (video or pose file)."),
           attempt: Optional[Path] = typer.Argument(None, help="Player's clip (video or pose file)."),
           output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder for the report."),
           pairs: Optional[Path] = typer.Option(None, "--pairs", help="CSV/YAML of pairs: one report each + index.html."),
           threshold: Optional[float] = typer.Option(
               None, "--threshold", help="A fixed same/different distance line (default: the verdict model's line "
                                         "for this pair)."),
           mirror: str = typer.Option("auto", "--mirror", help="Also compare the mirror image: auto, no, yes."),
           model: str = typer.Option("full", "--model", help="Pose model for videos: lite, full, heavy."),
           video: bool = typer.Option(True, "--video/--no-video", help="Write the side-by-side overlay video."),
           reps: bool = typer.Option(False, "--reps", help="Also find and judge each repetition.")) -> None:
    """Write a shareable HTML comparison report (verdict, frames, 3D, angles, feedback, viewpoints)."""
    from lab.report import extract_with_progress, read_pairs, write_report, write_reports

    if mirror not in ("auto", "no", "yes"):   # before any pose is extracted
        raise LabError(f"--mirror must be auto, no or yes, got {mirror!r}", exit_code=2)

    if pairs is not None:
        if reference is not None or attempt is not None:
            raise LabError("give either REFERENCE ATTEMPT or --pairs, not both", exit_code=2)
        items = read_pairs(pairs)
        _progress(f"lab report: {len(items)} pairs; pose tracks first")
        extract_with_progress([p[k] for p in items for k in ("reference", "attempt") if Path(p[k]).is_file()],
                              model=model, echo=_progress, skip_failures=True)
        index = write_reports(items, output or Path("reports") / pairs.stem, model=model, threshold=threshold,
                              mirror=mirror, video=video, reps=reps, echo=_progress,
                              progress=lambda e: _out(f"{e['name']}: " + (
                                  f"{e['summary']['verdict']} ({e['summary']['score']:.0f}/100)"
                                  if "summary" in e else e.get("error", "failed"))))
        _out(str(index))
        return
    if reference is None or attempt is None:
        raise LabError("give REFERENCE and ATTEMPT clips (or --pairs FILE)", exit_code=2)
    out = output or Path("reports") / f"{reference.stem}_vs_{attempt.stem}"
    _progress(f"lab report: {reference.name} (coach) against {attempt.name} (player) into {out}/")
    if reference.is_file() and attempt.is_file():
        extract_with_progress([reference, attempt], model=model, echo=_progress)
    _out(str(write_report(reference, attempt, out, threshold=threshold, mirror=mirror, model=model, video=video,
                          reps=reps, echo=_progress)))


# ---------------------------------------------------------------------- compare
def _load_for_compare(path: Path):
    from lab.pose.extract import load_track

    if not path.exists():
        raise LabError(f"no such file: {path}", exit_code=2)
    track = load_track(path)
    if track.world_m is None:
        raise LabError(f"{path.name} has no 3D landmarks; compare needs a video or a pose file with 3D",
                       exit_code=4)
    return track


@app.command()
def compare(reference: Path = typer.Argument(..., help="Coach's clip: video or pose file."),
            attempt: Path = typer.Argument(..., help="Player's clip: video or pose file."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
            threshold: Optional[float] = typer.Option(None, "--threshold",
                                                      help="Distance above which the verdict is 'different'."),
            mirror: str = typer.Option("auto", "--mirror", help="auto, no or yes: compare with the "
                                       "attempt's left/right mirror image."),
            window_s: float = typer.Option(0.3, "--window-s", help="DTW band half-width around each "
                                           "global tempo tried, seconds."),
            model: str = typer.Option("full", "--model", help="Pose model for videos: lite, full, heavy."),
            save: Optional[Path] = typer.Option(None, "--save", help="Also save the whole analysis in this "
                                                "folder (read back by lab.pipeline.Analysis.load)."),
            reps: bool = typer.Option(False, "--reps", help="Find each repetition of the coach's movement in "
                                      "the attempt and judge each one.")) -> None:
    """Compare an attempt with a reference movement from any viewpoint: score, verdict, feedback."""
    from lab.pipeline import analyze, check_save_target

    if save is not None:
        check_save_target(save)
    a = analyze(reference, attempt, mirror=mirror, threshold=threshold, window_s=window_s, model=model, reps=reps)
    if save is not None:
        a.save(save)
    c = a.comparison
    if as_json:
        _out(json.dumps(a.to_dict()))
        return
    p_same = "" if c.p_same is None else f"   probability of the same movement {c.p_same:.0%}"
    _out(f"score {c.score:.0f}/100   verdict: {c.verdict.upper()}{p_same}   (distance {c.distance:.2f}, "
         f"threshold {c.threshold:.2f}{', attempt mirrored' if c.mirrored else ''})")
    if c.relative_azimuth_deg is not None:
        _out(f"viewpoints differ by {c.relative_azimuth_deg:+.0f} degrees of azimuth")
    if c.summary:
        _out(c.summary)
    for line in c.feedback:
        _out(f"- {line}")
    for line in c.cannot_judge:
        _out(f"  ({line})")
    for w in c.warnings:
        _out(f"note: {w}")
    if a.repetitions is not None:
        _out(f"repetitions: {a.repetitions.summary}")
        for r in a.repetitions.results:
            rep = r.repetition
            score = "" if r.score is None else f" score {r.score:.0f}/100"
            _out(f"  {rep.index:2d}. {rep.start_s:6.2f}-{rep.end_s:6.2f} s  {r.verdict}{score}")
            for line in (*r.unlike_others, *r.feedback):
                _out(f"      - {line}")
    if save is not None:
        _out(f"analysis saved in {save}")


@app.command()
def classify(clip: Path = typer.Argument(..., help="Clip to recognise: video or pose file."),
             references: list[Path] = typer.Argument(..., help="Reference clips, one per drill."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
             mirror: str = typer.Option("auto", "--mirror", help="auto, no or yes.")) -> None:
    """Which drill is this? 1-nearest-neighbour over the comparison distance."""
    from lab.score.classify import classify_track

    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    track = _load_for_compare(clip)
    refs = {str(p): _load_for_compare(p) for p in references}
    res = classify_track(track, refs, mirror=mirror)
    if as_json:
        _out(json.dumps(res))
        return
    _out(f"{clip.name}: closest to {Path(res['label']).name} (distance {res['distance']:.2f}, "
         f"{res['verdict']})")
    for r in res["ranking"]:
        _out(f"  {r['distance']:7.2f}  {r['reference']}")


# ------------------------------------------------------------------------- live
def _status_line(u, latency_ms: float, width: int = 24) -> str:
    """One terminal line: progress bar through the drill, phase, running score, repetitions and the cue."""
    if u.progress is None:
        return f"waiting for the player...   ({'seen' if u.seen else 'nobody in view'})"
    filled = int(round(u.progress * width))
    score = "  --" if u.score is None else f"{u.score:4.0f}"
    cue = f"  | {u.cue.text}" if u.cue is not None else ""
    return (f"[{'#' * filled}{'.' * (width - filled)}] {u.progress:4.0%} phase {u.phase}  score {score}  "
            f"reps {u.rep_count}  {latency_ms:4.0f} ms{cue}")


@app.command()
def live(reference: Optional[Path] = typer.Argument(None, help="Coach's clip: video or pose file (or use --drill)."),
         drill: Optional[str] = typer.Option(None, "--drill", help="Use this library drill's stored model as the coach."),
         player: Optional[str] = typer.Option(None, "--player", help="With --drill: store the attempt in the "
                                              "library under this player's name when the stream ends."),
         record: Optional[Path] = typer.Option(None, "--record", help="With --camera or --browser: write the "
                                              "frames processed to this new .mp4 (the final analysis draws from it)."),
         root: Optional[Path] = typer.Option(None, "--root", help="Library folder for --drill (default "
                                             "$LAB_LIBRARY_DIR or data/library)."),
         video: Optional[Path] = typer.Option(None, "--video", help="Play this video file as the player's stream."),
         camera: Optional[int] = typer.Option(None, "--camera", help="Use this camera (OpenCV device number)."),
         browser: bool = typer.Option(False, "--browser", help="Serve the live page on 127.0.0.1: the browser's "
                                      "camera is the stream, the page shows the skeleton, score and cue."),
         port: int = typer.Option(8867, "--port", help="With --browser: the page's port (0: any free one)."),
         realtime: bool = typer.Option(False, "--realtime", help="Play --video at its own frame rate, dropping "
                                       "frames when processing falls behind, as a camera would."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON line per processed frame, then "
                                      "one with the final result."),
         model: str = typer.Option("lite", "--model", help="Pose model for the stream: lite, full, heavy."),
         reference_model: str = typer.Option("full", "--reference-model", help="Pose model for the coach's video."),
         mirror: str = typer.Option("auto", "--mirror", help="auto, no or yes: also match the player's mirror image."),
         reps: bool = typer.Option(False, "--reps", help="The drill is repeated: follow one typical repetition, "
                                   "count them and judge each one."),
         save: Optional[Path] = typer.Option(None, "--save", help="Save the final analysis of the recorded "
                                             "stream in this folder (as lab compare --save)."),
         show: bool = typer.Option(False, "--show", help="Also show a window with the player's skeleton, the "
                                   "progress bar, the score and the cue (needs a display).")) -> None:
    """Compare a player with the coach while they move: from a camera, a video played as one, or a browser page."""
    from lab.live.stream import CameraStream, VideoStream, run_live
    from lab.pipeline import check_save_target

    if (video is not None) + (camera is not None) + browser != 1:
        raise LabError("give exactly one of --video FILE, --camera N or --browser", exit_code=2)
    if show and browser:
        raise LabError("--show opens a window for --video or --camera; with --browser the page shows it", exit_code=2)
    if (reference is None) == (drill is None):
        raise LabError("give the coach's clip or --drill ID, not both or neither", exit_code=2)
    if player is not None and drill is None:
        raise LabError("--player stores the attempt in the library: it needs --drill", exit_code=2)
    if record is not None:
        if video is not None:
            raise LabError("--record is for --camera or --browser: a --video file is its own recording", exit_code=2)
        if record.suffix.lower() != ".mp4":
            raise LabError(f"--record writes an .mp4 file, not {record.name}", exit_code=2)
        if record.exists() or record.is_symlink():
            raise LabError(f"{record} exists: --record writes a new file", exit_code=2)
        if not record.parent.is_dir():
            raise LabError(f"no such folder: {record.parent}", exit_code=2)
    if realtime and video is None:
        raise LabError("--realtime plays a --video file; a camera is always real time", exit_code=2)
    if model not in ("lite", "full", "heavy") or reference_model not in ("lite", "full", "heavy"):
        raise LabError("--model and --reference-model must be lite, full or heavy", exit_code=2)
    if save is not None:
        check_save_target(save)
    ref_kwargs: dict = {}
    if drill is not None:
        from lab.library import drill_mirror, drill_reference

        track, body, ref_video = drill_reference(drill, root=root)
        ref_kwargs = {"reference_body": body, "reference_video": ref_video}
        reference_source, title = track, drill
        if mirror == "auto":
            mirror = drill_mirror(drill, root=root)
    else:
        if not reference.exists():
            raise LabError(f"no such file: {reference}", exit_code=2)
        reference_source, title = reference, reference.name
    window = None
    if show:
        from lab.live.window import LiveWindow
        window = LiveWindow(title=f"lab live: {title}")
    page = None
    if browser:
        from lab.live.browser import BrowserStream, LivePageServer

        stream = BrowserStream()
        page = LivePageServer(stream, title=title, port=port)
        url = page.start()
        _progress(f"live page: open {url} in a browser on this machine; its Stop button ends the stream")
        if as_json:
            _out(json.dumps({"url": url}))
    else:
        stream = VideoStream(video, realtime=realtime) if video is not None else CameraStream(camera)
    tty = sys.stdout.isatty()
    last_print = [0.0]

    def on_update(u, latency_ms, frame, image_px):
        if as_json:
            d = u.to_dict()
            d.update(frame=frame.index, latency_ms=round(latency_ms, 1))
            _out(json.dumps(d))
        elif tty:
            sys.stdout.write("\r" + _status_line(u, latency_ms)[:150].ljust(150))
            sys.stdout.flush()
        elif u.completed is not None or u.time_s - last_print[0] >= 1.0:
            last_print[0] = u.time_s
            _out(f"{u.time_s:7.2f} s  " + _status_line(u, latency_ms))
        if window is not None:
            window.show(frame, u, image_px, width=stream.width, height=stream.height)
        if page is not None:
            page.send_update(u, latency_ms, frame, image_px)

    scratch = None  # a camera's or a page's recording for the library, when --record names none
    if player is not None and video is None and record is None:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="lab-live-"))
        record = scratch / "attempt.mp4"
    try:
        result = run_live(reference_source, stream, model=model, reference_model=reference_model, mirror=mirror,
                          reps=reps, on_update=on_update, stop=None if window is None else window.closed,
                          record_video=record, **ref_kwargs)
        summary = _finish_live(result, save=save, player=player, video=video or record, drill=drill, mirror=mirror,
                               model=model, root=root)
    except LabError as exc:
        if page is not None:
            page.send({"type": "error", "message": str(exc)})
        raise
    finally:
        if window is not None:
            window.close()
        if page is not None and not page.closed.is_set():
            page.stream.end()
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    if tty and not as_json:
        sys.stdout.write("\n")
    if page is not None:
        page.send(dict(summary, type="final"))
        page.stop()
    if as_json:
        _out(json.dumps(summary))
        return
    _out(f"final: {summary.get('verdict', '?').upper()}  score {summary.get('score', float('nan')):.0f}/100 "
         f"(live {summary['live_score'] if summary['live_score'] is not None else '--'}), "
         f"{summary['processed']} frames processed, {summary['dropped']} dropped, latency p50 "
         f"{summary['latency_ms_p50']} ms, p95 {summary['latency_ms_p95']} ms")
    if summary.get("summary"):
        _out(summary["summary"])
    for line in summary.get("feedback", []):
        _out(f"- {line}")
    for r in result.repetitions:
        _out(f"  repetition {r.index}{' (partial)' if r.partial else ''}: {r.start_s:.2f}-{r.end_s:.2f} s, "
             f"{r.verdict}, score {r.score:.0f}")
    if summary.get("repetitions_summary"):
        _out(f"repetitions (final analysis): {summary['repetitions_summary']}")
    if save is not None:
        _out(f"analysis saved in {save}")
    if player is not None:
        _out(f"stored in the library as {summary['attempt_id']}")


def _finish_live(result, *, save: Path | None, player: str | None, video: Path | None, drill: str | None,
                 mirror: str, model: str, root: Path | None) -> dict:
    """Save the live run's final analysis and store the attempt in the library, as asked; its summary."""
    if save is not None and result.analysis is not None:
        result.analysis.save(save)
    summary = result.summary()
    if save is not None:
        summary["saved"] = str(save)
    if player is not None:
        from lab.library import add_attempt

        row = add_attempt(video, drill_id=drill, player=player, mirror=mirror, model=model, root=root,
                          track=result.track)
        summary["attempt_id"] = row["id"]
    return summary


# ------------------------------------------------------------------------ batch
@app.command()
def batch(folder: Optional[Path] = typer.Argument(None, help="Folder of attempt videos (omit with --library)."),
          reference: Optional[Path] = typer.Option(None, "--reference", help="Coach's clip: video or pose file."),
          drill: Optional[str] = typer.Option(None, "--drill", help="Library drill id as the reference "
                                              "(with --library: only this drill's attempts)."),
          library: bool = typer.Option(False, "--library", help="Re-compare the library's attempts with their drills."),
          root: Optional[Path] = typer.Option(None, "--root", help="Library folder (default data/library)."),
          output: Path = typer.Option(Path("reports/batch"), "-o", "--output", help="Folder for results."),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler, e.g. tcp://host:8786 "
                                                  "(default: a local cluster)."),
          workers: int = typer.Option(2, "--workers", help="Local cluster worker processes."),
          report: bool = typer.Option(False, "--report", help="Also write each item's HTML report."),
          mirror: str = typer.Option("auto", "--mirror", help="auto, no or yes."),
          threshold: Optional[float] = typer.Option(None, "--threshold", help="Same/different distance."),
          model: str = typer.Option("full", "--model", help="lite, full or heavy."),
          reps: bool = typer.Option(False, "--reps", help="Also find and judge each repetition "
                                    "(repetitions.csv: one row per repetition).")) -> None:
    """Extract, lift, compare (and report) many clips in parallel on Dask; resumes where it stopped."""
    from lab.batch import folder_items, library_items, run_batch

    if library:
        if folder is not None or reference is not None:
            raise LabError("--library takes no FOLDER or --reference", exit_code=2)
        items = library_items(root=root, drill_id=drill)
    else:
        if folder is None or (reference is None) == (drill is None):
            raise LabError("give FOLDER and one of --reference or --drill (or --library)", exit_code=2)
        if drill is not None:
            from lab.library import show
            d = show(drill, root=root)
            if d["kind"] != "drill":
                raise LabError(f"{drill} is not a drill", exit_code=2)
            items = folder_items(folder, reference=Path(d["track_path"]))
            for it in items:
                it["reference_video"] = d.get("video_path")
                it["reference_model"] = d.get("model_path")  # the drill's stored model: never lifted again
        else:
            items = folder_items(folder, reference=reference)
    df = run_batch(items, output, scheduler=scheduler, n_workers=workers, mirror=mirror, threshold=threshold,
                   report=report, model=model, reps=reps)
    for _, r in df.iterrows():
        what = (f"{r['verdict']:9s} {r['score']:5.1f}/100" if r["status"] == "ok" else f"FAILED   {r['error']}")
        _out(f"{r['name']:24s} {what}{'  (done before)' if r['skipped'] else ''}")
    failed = int((df["status"] != "ok").sum())
    _out(f"{len(df) - failed} ok, {failed} failed; table: {output / 'results.csv'}")


# -------------------------------------------------------------------------- app
@app.command("app")
def app_(port: int = typer.Option(8866, "--port", help="Port to serve on."),
         ip: str = typer.Option("127.0.0.1", "--ip", help="Address to bind (default: this machine only)."),
         allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow an --ip other than loopback: "
                                           "the app has no authentication."),
         root: Optional[Path] = typer.Option(None, "--root", help="Library folder (default data/library).")) -> None:
    """Serve the upload app (coaches add drills, players compare attempts) with Voila.

    The app has no authentication: anyone who can reach the port can upload videos and read
    the reports, so it binds to this machine only unless --ip and --allow-remote say otherwise.
    """
    import subprocess

    from lab.app import is_loopback, voila_command, voila_environment

    cmd = voila_command(port=port, ip=ip, root=root, allow_remote=allow_remote)
    if not is_loopback(ip):
        print(f"warning: serving on {ip} without authentication: anyone who can reach port {port} can upload "
              "videos and read the reports", file=sys.stderr)
    _out(f"serving on http://{ip}:{port}/  (Ctrl-C to stop)")
    proc = subprocess.Popen(cmd, env=voila_environment(root))
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
        raise


# ---------------------------------------------------------------------- library
library_app = typer.Typer(no_args_is_help=True, help="Coaches' drills and players' attempts, processed once on add.")
app.add_typer(library_app, name="library")
_LIB_ROOT = typer.Option(None, "--root", help="Library folder (default $LAB_LIBRARY_DIR or data/library).")


@library_app.command("add-drill")
def library_add_drill(video: Path = typer.Argument(..., help="The coach's reference video."),
                      title: str = typer.Option(..., "--title", help="Drill title."),
                      coach: str = typer.Option(..., "--coach", help="Coach's name."),
                      tag: Optional[list[str]] = typer.Option(None, "--tag", help="A tag; repeatable."),
                      camera_notes: str = typer.Option("", "--camera-notes", help="Where the camera stood."),
                      sided: bool = typer.Option(False, "--sided", help="Done with one particular side: an attempt "
                                                 "matching only as its mirror image is a different movement "
                                                 "(attempts compared with --mirror no)."),
                      model: str = typer.Option("full", "--model", help="lite, full or heavy."),
                      root: Optional[Path] = _LIB_ROOT) -> None:
    """Add a drill: copy the video in, extract and lift its pose; print its id."""
    from lab.library import add_drill

    row = add_drill(video, title=title, coach=coach, tags=tag or [], camera_notes=camera_notes, sided=sided,
                    model=model, root=root)
    _out(f"{row['id']}  {row['title']!r} by {row['coach']}  ({row['frames']} frames{', sided' if sided else ''})")


@library_app.command("add-attempt")
def library_add_attempt(video: Path = typer.Argument(..., help="The player's attempt video."),
                        drill: str = typer.Option(..., "--drill", help="Drill id (see `lab library list`)."),
                        player: str = typer.Option(..., "--player", help="Player's name."),
                        mirror: Optional[str] = typer.Option(None, "--mirror", help="auto, no or yes (default: the "
                                                             "drill's setting, no for a sided drill, else auto)."),
                        threshold: Optional[float] = typer.Option(None, "--threshold", help="Same/different distance."),
                        model: str = typer.Option("full", "--model", help="lite, full or heavy."),
                        report: bool = typer.Option(False, "--report", help="Also write the full HTML report."),
                        root: Optional[Path] = _LIB_ROOT) -> None:
    """Add an attempt: process it, compare with the drill's stored track; print verdict and score."""
    from lab.library import add_attempt, write_attempt_report

    if mirror is not None and mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    row = add_attempt(video, drill_id=drill, player=player, mirror=mirror, threshold=threshold, model=model,
                      root=root)
    _out(f"{row['id']}  verdict: {row['verdict'].upper()}  score {row['score']:.0f}/100  "
         f"(distance {row['distance']:.2f}{', attempt mirrored' if row['mirrored'] else ''})")
    if report:
        _out(str(write_attempt_report(row["id"], root=root)))


@library_app.command("list")
def library_list(drills: bool = typer.Option(False, "--drills", help="Only drills."),
                 attempts: bool = typer.Option(False, "--attempts", help="Only attempts."),
                 as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
                 root: Optional[Path] = _LIB_ROOT) -> None:
    """List drills and attempts."""
    from lab.library import load_catalogue

    df = load_catalogue(root)
    if drills and not attempts:
        df = df[df["kind"] == "drill"]
    elif attempts and not drills:
        df = df[df["kind"] == "attempt"]
    for _, r in df.iterrows():
        if as_json:
            _out(json.dumps({k: (None if v is None or (isinstance(v, float) and v != v) else
                                 list(v) if k == "tags" else v.item() if hasattr(v, "item") else v)
                             for k, v in r.to_dict().items()}, default=str))
        elif r["kind"] == "drill":
            tags = f"  [{', '.join(r['tags'])}]" if len(r["tags"]) else ""
            sided = "  sided" if r["sided"] else ""
            _out(f"{r['id']}  drill    {r['title']!r} by {r['coach']}{tags}{sided}  {r['created_utc']}")
        else:
            _out(f"{r['id']}  attempt  {r['player']} at {r['drill_id']} ({r['title']!r}): "
                 f"{r['verdict']} {r['score']:.0f}/100  {r['created_utc']}")


@library_app.command("edit")
def library_edit(drill_id: str = typer.Argument(..., help="Drill id."),
                 sided: Optional[bool] = typer.Option(None, "--sided/--not-sided", help="Mark the drill sided (a "
                                                      "mirror image is a different movement) or not."),
                 root: Optional[Path] = _LIB_ROOT) -> None:
    """Change a drill's settings; attempts already added keep their comparison."""
    from lab.library import set_drill_sided

    if sided is None:
        raise LabError("nothing to change: give --sided or --not-sided", exit_code=2)
    row = set_drill_sided(drill_id, sided, root=root)
    how = "sided (attempts compared with --mirror no)" if row["sided"] else "not sided (attempts: --mirror auto)"
    _out(f"{row['id']}  {row['title']!r}: {how}")


@library_app.command("show")
def library_show(entry_id: str = typer.Argument(..., help="Drill or attempt id."),
                 root: Optional[Path] = _LIB_ROOT) -> None:
    """Everything stored about one drill or attempt (JSON)."""
    from lab.library import show

    _out(json.dumps(show(entry_id, root=root), indent=1, default=str))


@library_app.command("remove")
def library_remove(entry_id: str = typer.Argument(..., help="Drill or attempt id."),
                   with_attempts: bool = typer.Option(False, "--with-attempts", help="Also a drill's attempts."),
                   root: Optional[Path] = _LIB_ROOT) -> None:
    """Remove a drill or an attempt (and its files)."""
    from lab.library import remove

    _out("removed " + " ".join(remove(entry_id, with_attempts=with_attempts, root=root)))


@library_app.command("migrate")
def library_migrate(root: Optional[Path] = _LIB_ROOT) -> None:
    """Upgrade an older library catalogue to the current schema."""
    from lab.library import SCHEMA_VERSION, migrate

    old = migrate(root=root)
    _out(f"catalogue schema {old} -> {SCHEMA_VERSION}" if old != SCHEMA_VERSION else "already up to date")


@library_app.command("check")
def library_check(fix: bool = typer.Option(False, "--fix", help="List complete entries missing from the catalogue "
                                          "again; delete incomplete folders and builds whose process is gone."),
                  root: Optional[Path] = _LIB_ROOT) -> None:
    """Find folders not in the catalogue (interrupted adds) and entries with missing files.

    --fix never deletes a folder holding a complete entry (it is listed again), nor a build
    whose add is still running; a damaged catalogue is kept aside and rebuilt from the entries.
    """
    from lab.library import check_library, repair

    found = repair(root=root) if fix else check_library(root=root)
    for k, v in found.items():
        _out(f"{k}: {len(v)}" + "".join(f"\n  {x}" for x in v))


# -------------------------------------------------------------------- entry point
def _one_line(text: str) -> str:
    """``text`` as one printable line: newlines and other control characters escaped (``\\n``,
    ``\\x1b``), so a file name cannot forge extra ``error:`` lines or terminal escapes."""
    return "".join(c if c.isprintable() or c == " " else
                   {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\x{ord(c):02x}" if ord(c) < 256
                                                                else f"\\u{ord(c):04x}")
                   for c in str(text))


def _click_exceptions():
    """(ClickException, Exit, Abort, UsageError, NoArgsIsHelpError) classes, each a tuple: those of
    click and of the copy of click typer bundles (``typer._click``, with ``Exit``/``Abort`` in
    ``typer.exceptions``): commands raise the bundled ones, so both must be caught."""
    import importlib

    mods = []
    for name in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            mods.append(importlib.import_module(name))
        except ImportError:
            pass

    def classes(name: str) -> tuple[type, ...]:
        return tuple(dict.fromkeys(c for m in mods if isinstance(c := getattr(m, name, None), type)))
    return (classes("ClickException"), classes("Exit"), classes("Abort"), classes("UsageError"),
            classes("NoArgsIsHelpError"))


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn known errors into one line + exit code."""
    import signal

    from lab.pose.track import PoseFormatError

    click_error, click_exit, click_abort, usage_error, no_args = _click_exceptions()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    # Ctrl-C and termination always interrupt cleanly (a parent shell may have
    # set SIGINT to "ignore" for background jobs): temporary files are removed
    # by the atomic writers as the KeyboardInterrupt unwinds.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def _warn(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {_one_line(message)}", file=sys.stderr)
    warnings.showwarning = _warn
    try:
        rv = app(args=argv, standalone_mode=False)
        if rv == 130:  # click turns Ctrl-C into this return value when not standalone
            raise KeyboardInterrupt
        return rv if isinstance(rv, int) else 0
    except LabError as exc:
        if debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except PoseFormatError as exc:  # a pose file or table that does not follow the format
        if debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except click_exit as exc:
        return exc.exit_code
    except no_args:  # bare `lab` (or `lab library`): the help is printed above
        print("error: no command given; the commands are listed above", file=sys.stderr)
        return 2
    except click_error as exc:  # usage errors: unknown option, missing argument, bad value
        if debug:
            raise
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, usage_error) and ctx is not None:
            hint = f" (see '{ctx.command_path} --help'"
            option = str(getattr(exc, "option_name", "") or "")
            if exc.__class__.__name__ == "NoSuchOption" and not option.startswith("--"):
                hint += "; a file name starting with - goes after -- or as ./-name"
            hint += ")"
        print(f"error: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, *click_abort):
        # a notebook kernel cut short leaves an asyncio task whose "Kernel died" error
        # asyncio would print, with a traceback, when the task is collected
        logging.getLogger("asyncio").disabled = True
        print("error: interrupted; nothing partial was kept", file=sys.stderr)
        return 130
    except Exception as exc:  # unexpected: still one line unless --debug
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: {exc.__class__.__name__}: {_one_line(first)} (run with --debug for details)",
              file=sys.stderr)
        return 1


def exit_with(rc: int) -> None:
    """End the process with ``rc``, the exit code :func:`main` returned.

    The command's work is done and its outputs are in place, but Python still takes a moment to tear
    down. A Ctrl-C or termination then would kill the process by the signal: Python gives those signals
    back their default action as it finalizes. The shell would report a failure for a command that
    succeeded. So they are ignored from here on (SIGKILL still ends a teardown that hangs).
    """
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(rc)


def console_main() -> None:  # pragma: no cover
    """The ``lab`` command's entry point (what ``python -m lab`` runs too)."""
    exit_with(main())


if __name__ == "__main__":  # pragma: no cover
    console_main()
