"""Repetitions: how long counting takes on a long clip, measured side by side in one run.

    python benchmarks/reps.py [--runs 3] [--minutes 5]

The clip: the Sports2D sample's pose track (7.7 s: two jumping jacks, standing, a flip) laid end to
end until it lasts ``--minutes``; the repetition: its first 2 s. Lifting and features are computed
once and not timed (the pipeline caches them: "once the pose track is cached"); the rows time, in
this process (median of ``--runs``):

* counting: :func:`lab.reps.find_repetitions` of the 2 s repetition in the whole clip;
* the same on the clip's first minute, to show how it grows with length;
* counting it a second way (:func:`lab.reps.segment.tile_repetitions`, what ``count_sure`` checks the
  count against) on the same search, the search not timed;
* summarising a coach's clip: :func:`lab.reps.typical_repetition` on the 7.7 s sample.

Target (issue 19): counting a 5-minute clip under 5 s. Writes ``reports/benchmarks_reps.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def tile_track(track, *, minutes: float):
    """``track`` repeated end to end (times continued) until it lasts ``minutes``."""
    from lab.pose.track import PoseTrack

    dt = float(np.median(np.diff(track.time_s)))
    period = float(track.time_s[-1] - track.time_s[0]) + dt
    copies = int(np.ceil(minutes * 60.0 / period))
    arrays = {}
    for name in ("image_px", "world_m", "visibility", "presence", "image_z"):
        a = getattr(track, name)
        arrays[name] = None if a is None else np.concatenate([a] * copies)
    t = np.concatenate([track.time_s - track.time_s[0] + k * period for k in range(copies)])
    return PoseTrack(time_s=t, keypoints=track.keypoints, frame=track.frame, meta=dict(track.meta), **arrays)


def best_of(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()

    from lab.pipeline import features_stage, lift_stage
    from lab.pose.extract import extract_pose_cached
    from lab.reps import cut_features, find_repetitions, typical_repetition
    from lab.reps.segment import search_clip, tile_repetitions
    from lab.samples import ensure_samples

    sample = extract_pose_cached(ensure_samples()["sports2d/demo.mp4"], progress=False)
    body, method, _ = lift_stage(sample)
    short = features_stage(sample, body, method=method)
    query = cut_features(short, start_s=0.0, end_s=2.0)
    rows = []
    for minutes in (1.0, args.minutes):
        long = tile_track(sample, minutes=minutes)
        body, method, _ = lift_stage(long)
        fs = features_stage(long, body, method=method)
        find_repetitions(query, fs)  # compiles the DP once (numba caches it on disk)
        med, times = best_of(lambda fs=fs: find_repetitions(query, fs), args.runs)
        n = len(find_repetitions(query, fs))
        rows.append((f"count: 2 s repetition in a {minutes:g}-minute clip ({long.n_frames} frames, {n} found)",
                     med, times, "target < 5 s" if minutes == args.minutes else ""))
        search = search_clip(query, fs)
        tile_repetitions(search)  # compiles the tiling once
        med, times = best_of(lambda search=search: tile_repetitions(search), args.runs)
        rows.append((f"count it a second way (tiling), {minutes:g}-minute clip", med, times, ""))
    med, times = best_of(lambda: typical_repetition(short), args.runs)
    rows.append(("summarise a coach's 7.7 s clip (typical_repetition)", med, times, ""))
    lines = ["| what | median (s) | runs (s) | target |", "|---|---|---|---|"]
    lines += [f"| {w} | {m:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {tgt} |" for w, m, ts, tgt in rows]
    text = "\n".join(lines)
    print(text)
    out = REPO / "reports" / "benchmarks_reps.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
