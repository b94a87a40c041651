"""The main job on the bundled samples (``lab demo``): comparison reports and the viewpoint experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from lab.samples import ensure_samples

#: The demo's pairs: the same balancing movement filmed from the front (coach) and from behind
#: (player), and the coach against a different movement (jumping jacks, another person).
DEMO_PAIRS = (
    {"name": "same_movement_front_vs_behind", "reference": "pose2sim/cam02.mp4",
     "attempt": "pose2sim/cam04.mp4", "label": "same",
     "about": "One man balancing, filmed at the same time by a camera in front of him (the coach's clip) and "
              "one behind him (the player's): the same movement, seen from opposite sides."},
    {"name": "different_movement", "reference": "pose2sim/cam02.mp4",
     "attempt": "sports2d/demo.mp4", "label": "different",
     "about": "The same balancing clip against another person doing jumping jacks on a box: a different "
              "movement."},
)

#: What the index page says about the viewpoint experiment.
EXPERIMENT_ABOUT = ("How well the comparison tells same from different as the two cameras move apart (0 to 180 "
                    "degrees), on motion capture filmed by simulated cameras, against simpler methods.")


def run_demo(output: str | Path, *, model: str = "full", experiment: bool = True,
             echo: Callable[[str], None] | None = None, workers: int = 2) -> Path:
    """Write the demo reports under ``output``; return the main report's path.

    ``output/index.html`` links a comparison report per :data:`DEMO_PAIRS`
    (``output/<name>/report.html`` + ``overlay.mp4``) and, with
    ``experiment`` and the ground truth in ``../shared``, the viewpoint
    experiment (``output/viewpoint_experiment/report.html``). ``workers``
    reports are written side by side (each in its own notebook kernel).
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    from lab.io import LabError
    from lab.report import extract_with_progress, report_entry, write_index, write_notebook_report
    from lab.score.experiments import shared_dir

    echo = echo or (lambda s: None)
    t0 = time.perf_counter()

    def elapsed() -> str:
        return f"[{time.perf_counter() - t0:.0f} s]"

    files = ensure_samples()
    out = Path(output)
    pairs = [{**p, "reference": files[p["reference"]], "attempt": files[p["attempt"]]} for p in DEMO_PAIRS]
    run_experiment = experiment and (shared_dir() / "data" / "cmu_bvh").exists()
    echo(f"lab demo: {len(pairs)} comparison reports" + (" and the viewpoint experiment" if run_experiment else "")
         + f" into {out}/")
    clips = sorted({str(p[k]) for p in pairs for k in ("reference", "attempt")})
    echo(f"1/3 pose tracks of {len(clips)} sample clips (the first run extracts them: about a minute each)")
    extract_with_progress(clips, model=model, echo=echo)   # one at a time; the reports then find them cached
    echo(f"2/3 reports, {workers} at a time: analysis, then the page and its video")

    def pair_task(p):
        e = report_entry(p, out, model=model, echo=lambda s, name=p["name"]: echo(f"  {name}: {s.strip()}"))
        echo(f"{e['name']}: " + (f"{e['summary']['verdict']} ({e['summary']['score']:.0f}/100)  "
                                 f"{out / e['href']}" if "summary" in e else e.get("error", "failed"))
             + f"  {elapsed()}")
        return e

    def experiment_task():
        try:
            page = write_notebook_report("06_viewpoint_experiment.ipynb", out / "viewpoint_experiment",
                                         title="Viewpoint experiment", back_href="../index.html")
        except LabError as exc:
            echo(f"viewpoint experiment: failed: {exc}")
            return {"name": "viewpoint_experiment", "error": f"failed: {exc}"}
        echo(f"viewpoint experiment: {page}  {elapsed()}")
        return {"name": "viewpoint_experiment", "href": "viewpoint_experiment/report.html",
                "about": EXPERIMENT_ABOUT, "summary": {"verdict": "experiment"}}

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # each report's notebook runs in its own kernel process
        futures = [pool.submit(pair_task, p) for p in pairs]
        if run_experiment:
            futures.append(pool.submit(experiment_task))
        entries = [f.result() for f in futures]
    if experiment and not run_experiment:
        echo(f"viewpoint experiment skipped: no motion capture under {shared_dir()}")
    index = write_index(out, entries, title="lab demo")
    echo(f"3/3 index: {index}  {elapsed()}")
    main = out / DEMO_PAIRS[0]["name"] / "report.html"
    if not main.exists():
        raise LabError(f"the main demo report was not written ({entries[0].get('error', 'unknown error')})",
                       exit_code=1)
    return main
