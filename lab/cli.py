"""The ``lab`` command line. Library functions return data; this module decides where outputs go.

Errors the user can act on print one line on stderr and exit non-zero
(2 bad input, 3 missing resource, 4 nothing usable in the input, 130
interrupted); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
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


# ----------------------------------------------------------------------- models
@app.command()
def models(build: Optional[list[str]] = typer.Option(None, "--get", help="Fetch/build this model (lite, full, heavy); repeatable."),
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
            max_people: int = typer.Option(2, "--max-people", help="People detected per frame; one is followed."),
            fps: Optional[float] = typer.Option(None, "--fps", help="Process at most this many frames per second."),
            workers: Optional[int] = typer.Option(None, "--workers", help="Processes (default: one per core on long clips)."),
            no_cache: bool = typer.Option(False, "--no-cache", help="Extract again even if cached.")) -> None:
    """Extract one person's pose track from a video into a Parquet pose file."""
    from lab.pose.extract import extract_pose, extract_pose_cached
    from lab.pose.track import write_track

    if output is not None and output.suffix.lower() != ".parquet":
        raise LabError(f"output must end in .parquet, got {output.name}", exit_code=2)
    fn = extract_pose if no_cache else extract_pose_cached
    track = fn(video, model=model, max_people=max_people, target_fps=fps, workers=workers)
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

    path = run_demo(output, model=model)
    _out(str(path))


# ----------------------------------------------------------------------- report
@app.command()
def report(reference: Optional[Path] = typer.Argument(None, help="Coach's clip (video or pose file)."),
           attempt: Optional[Path] = typer.Argument(None, help="Player's clip (video or pose file)."),
           output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder for the report."),
           pairs: Optional[Path] = typer.Option(None, "--pairs", help="CSV/YAML of pairs: one report each + index.html."),
           threshold: Optional[float] = typer.Option(None, "--threshold", help="Same/different distance threshold."),
           mirror: str = typer.Option("auto", "--mirror", help="Also compare the mirror image: auto, no, yes."),
           model: str = typer.Option("full", "--model", help="Pose model for videos: lite, full, heavy."),
           video: bool = typer.Option(True, "--video/--no-video", help="Write the side-by-side overlay video.")) -> None:
    """Write a shareable HTML comparison report (verdict, frames, 3D, angles, feedback, viewpoints)."""
    from lab.report import read_pairs, write_report, write_reports

    if pairs is not None:
        if reference is not None or attempt is not None:
            raise LabError("give either REFERENCE ATTEMPT or --pairs, not both", exit_code=2)
        items = read_pairs(pairs)
        index = write_reports(items, output or Path("reports") / pairs.stem, model=model, threshold=threshold,
                              mirror=mirror, video=video,
                              progress=lambda e: _out(f"{e['name']}: " + (
                                  f"{e['summary']['verdict']} ({e['summary']['score']:.0f}/100)"
                                  if "summary" in e else e.get("error", "failed"))))
        _out(str(index))
        return
    if reference is None or attempt is None:
        raise LabError("give REFERENCE and ATTEMPT clips (or --pairs FILE)", exit_code=2)
    out = output or Path("reports") / f"{reference.stem}_vs_{attempt.stem}"
    _out(str(write_report(reference, attempt, out, threshold=threshold, mirror=mirror, model=model, video=video)))


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
                                           "global tempo tried, seconds.")) -> None:
    """Compare an attempt with a reference movement from any viewpoint: score, verdict, feedback."""
    from lab.score import compare_tracks

    if mirror not in ("auto", "no", "yes"):
        raise LabError(f"--mirror must be auto, no or yes, not {mirror!r}", exit_code=2)
    if threshold is not None and not threshold > 0:
        raise LabError("--threshold must be a positive distance", exit_code=2)
    ref, att = _load_for_compare(reference), _load_for_compare(attempt)
    try:
        c = compare_tracks(ref, att, mirror=mirror, threshold=threshold, window_s=window_s,
                           reference_path=str(reference), attempt_path=str(attempt))
    except ValueError as exc:
        raise LabError(f"cannot compare these clips: {exc}", exit_code=4) from None
    if as_json:
        _out(json.dumps(c.to_dict()))
        return
    _out(f"score {c.score:.0f}/100   verdict: {c.verdict.upper()}   (distance {c.distance:.2f}, "
         f"threshold {c.threshold:.2f}{', attempt mirrored' if c.mirrored else ''})")
    if c.relative_azimuth_deg is not None:
        _out(f"viewpoints differ by {c.relative_azimuth_deg:+.0f} degrees of azimuth")
    for line in c.feedback:
        _out(f"- {line}")
    for w in c.warnings:
        _out(f"note: {w}")


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


# -------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turn known errors into one line + exit code."""
    import click

    import signal

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    # Ctrl-C and termination always interrupt cleanly (a parent shell may have
    # set SIGINT to "ignore" for background jobs): temporary files are removed
    # by the atomic writers as the KeyboardInterrupt unwinds.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def _warn(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=sys.stderr)
    warnings.showwarning = _warn
    try:
        rv = app(args=argv, standalone_mode=False)
        if rv == 130:  # click turns Ctrl-C into this return value when not standalone
            raise KeyboardInterrupt
        return rv if isinstance(rv, int) else 0
    except LabError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            raise
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("error: interrupted; nothing partial was kept", file=sys.stderr)
        return 130
    except Exception as exc:  # unexpected: still one line unless --debug
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: {exc.__class__.__name__}: {first} (run with --debug for details)", file=sys.stderr)
        return 1


def _console() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
