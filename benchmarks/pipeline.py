"""One analysis, computed once: what a user waits for, whole process, measured side by side in one run.

    python benchmarks/pipeline.py [--runs 3] [--no-demo]

Rows (median wall time of ``--runs`` runs of the whole command, process start included):

* ``lab compare A B --json`` on two Pose2Sim views, both pose tracks cached, with
  (a) every stage cached (a re-run), (b) an empty stage cache (lift, views,
  features and the comparison computed), and (c) the direct path a library user
  would call without the pipeline (``load_track`` + ``lab.score.compare_tracks``,
  no stage cache) as the reference point;
* ``lab demo`` re-run (everything cached from a first run, which is not timed).

Targets (issue 14): (a) under 1.5 s; the demo re-run under 45 s. Prints a table
and writes it to ``reports/benchmarks_pipeline.md``. Nothing here is a timed
test: run it on a quiet machine and quote medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIRECT = ("import json, sys; from lab.pose.extract import load_track; from lab.score import compare_tracks; "
          "a, b = sys.argv[1:3]; c = compare_tracks(load_track(a), load_track(b), reference_path=a, attempt_path=b); "
          "print(json.dumps(c.to_dict()))")


def timed(cmd: list[str], *, env: dict[str, str], runs: int, before=None) -> tuple[float, list[float], str]:
    """Median wall seconds of ``runs`` runs of ``cmd`` (``before()`` called before each, untimed)."""
    times, out = [], ""
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-400:]}")
        out = r.stdout
    return statistics.median(times), times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-demo", action="store_true", help="skip the lab demo row (about 2 minutes)")
    args = ap.parse_args()

    from lab.io import cache_dir
    from lab.samples import ensure_samples

    files = ensure_samples()
    a, b = str(files["pose2sim/cam01.mp4"]), str(files["pose2sim/cam02.mp4"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # a cache of the benchmark's own, holding copies of the user's models and pose tracks
        cache = Path(tmp) / "cache"
        for sub in ("models", "tracks"):
            if (cache_dir() / sub).is_dir():
                shutil.copytree(cache_dir() / sub, cache / sub)
        env = {**os.environ, "LAB_CACHE_DIR": str(cache)}
        # pose tracks cached (extracted once here if need be) and every stage cached: not timed
        subprocess.run([sys.executable, "-m", "lab", "compare", a, b, "--json"], env=env, check=True,
                       capture_output=True, cwd=REPO)
        stages = cache / "stages"
        saved = Path(tmp) / "stages-saved"
        cached_s, t_cached, out_cached = timed([sys.executable, "-m", "lab", "compare", a, b, "--json"],
                                               env=env, runs=args.runs)
        shutil.copytree(stages, saved)

        def empty_stage_cache():
            shutil.rmtree(stages, ignore_errors=True)
        cold_s, t_cold, out_cold = timed([sys.executable, "-m", "lab", "compare", a, b, "--json"], env=env,
                                         runs=args.runs, before=empty_stage_cache)
        direct_s, t_direct, out_direct = timed([sys.executable, "-c", DIRECT, a, b], env=env, runs=args.runs)
        shutil.rmtree(stages, ignore_errors=True)
        shutil.copytree(saved, stages)
        same = out_cached.strip() == out_cold.strip() == out_direct.strip()
        rows.append(("lab compare cam01 cam02 --json, every stage cached", cached_s, t_cached, "target < 1.5 s"))
        rows.append(("lab compare, empty stage cache (pose tracks cached)", cold_s, t_cold, ""))
        rows.append(("direct: load_track + compare_tracks, no stage cache", direct_s, t_direct, ""))
        if not args.no_demo:
            out_dir = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "lab", "demo", "-o", str(out_dir)], env=env, check=True,
                           capture_output=True, cwd=REPO)
            demo_s, t_demo, _ = timed([sys.executable, "-m", "lab", "demo", "-o", str(out_dir)], env=env, runs=1)
            rows.append(("lab demo, re-run", demo_s, t_demo, "target < 45 s"))
    lines = ["| command | median s | runs (s) | note |", "|---|---|---|---|"]
    for name, med, ts, note in rows:
        lines.append(f"| {name} | {med:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {note} |")
    lines.append("")
    lines.append(f"ratio empty-cache / cached: {cold_s / cached_s:.2f}x; direct / cached: {direct_s / cached_s:.2f}x; "
                 f"identical JSON from all three: {same}")
    lines.append(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end")
    text = "\n".join(lines)
    print(text)
    out = REPO / "reports" / "benchmarks_pipeline.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"# Pipeline benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n{text}\n")
    if not same:
        raise SystemExit("the three paths printed different JSON")


if __name__ == "__main__":
    main()
