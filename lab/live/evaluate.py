"""How the live comparison holds up: the sample pairs played in real time, and repetitions counted live.

``python -m lab.live.evaluate [--model lite] [--no-realtime]`` plays each sample
pair's attempt as a camera would (:class:`lab.live.stream.VideoStream`,
``realtime=True``) through :func:`lab.live.stream.run_live` and prints, per
pair, the verdict and score of ``lab compare`` (:func:`lab.pipeline.analyze` on
the two files, the full model) beside the live run's: its running score at
the last frame, the final analysis of the poses it recorded, the frames it
processed and dropped, and its latency.

``python -m lab.live.evaluate --reps [--noise-scales 1,0.5]`` counts repetitions
live (:class:`lab.live.LiveComparison` fed frame by frame) on the repetitions
suite with known answers (:func:`lab.reps.evaluate.run_segmentation_suite`:
motion capture repeated, tempo changed, paused, filmed from 0-180 degrees with
MediaPipe-like noise) and prints the same figures for the offline search on
the same clips beside them.
"""

from __future__ import annotations

import argparse
import itertools
import warnings

from lab.live.compare import LIVE_MAX_COST_FRACTION, LIVE_NOISE_COST
from lab.live.stream import VideoStream, run_live
from lab.pipeline import analyze
from lab.samples import POSE2SIM_VIEWS, ensure_samples


def sample_pairs() -> list[tuple[str, str]]:
    """The ten sample pairs: the six Pose2Sim cross-view pairs (same) and each view against Sports2D (different)."""
    paths = ensure_samples()
    views = [str(paths[f"pose2sim/{v}.mp4"]) for v in POSE2SIM_VIEWS]
    sports = str(paths["sports2d/demo.mp4"])
    return list(itertools.combinations(views, 2)) + [(v, sports) for v in views]


def evaluate_pairs(*, model: str = "lite", realtime: bool = True, reps: bool = False) -> list[dict]:
    """One row per sample pair: ``lab compare``'s verdict and score beside the live run's."""
    rows = []
    for ref, att in sample_pairs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            offline = analyze(ref, att).comparison
            result = run_live(ref, VideoStream(att, realtime=realtime), model=model, reps=reps)
        s = result.summary()
        rows.append({"reference": ref.rsplit("/", 2)[-1], "attempt": att.rsplit("/", 2)[-1],
                     "compare_verdict": offline.verdict, "compare_score": round(float(offline.score), 1),
                     "live_verdict": s["verdict"], "live_final_score": s["score"], "live_running_score": s["live_score"],
                     "processed": s["processed"], "dropped": s["dropped"], "latency_ms_p50": s["latency_ms_p50"],
                     "latency_ms_p95": s["latency_ms_p95"], "live_reps": s["live_rep_count"]})
    return rows


def count_live(query, filmed, *, max_cost_fraction: float = LIVE_MAX_COST_FRACTION,
               noise_cost: float = LIVE_NOISE_COST) -> list:
    """The repetitions a live comparison finds in ``filmed`` fed frame by frame, as :class:`lab.reps.Repetition`.

    ``max_cost_fraction``, ``noise_cost``: the repetitions' cost limit (:class:`lab.live.LiveComparison`).
    """
    from lab.features.travel import SIGHT_NAMES, TRAVEL_NAMES
    from lab.live import LiveComparison
    from lab.reps import Repetition

    # the suite's query is the offline one; a live stream has no travel (its features are the
    # coach's for `lab live`, :func:`lab.live.prepare_live_reference`)
    query = query.select([n for n in query.names if n not in TRAVEL_NAMES + SIGHT_NAMES])
    live = LiveComparison(query, width=filmed.meta.get("width"), height=filmed.meta.get("height"),
                          max_cost_fraction=max_cost_fraction, noise_cost=noise_cost)
    for f in range(filmed.n_frames):
        live.push(float(filmed.time_s[f]), filmed.world_m[f], image_px=None if filmed.image_px is None else
                  filmed.image_px[f], visibility=filmed.visibility[f])
    live.finish()
    return [Repetition(index=r.index, start_s=r.start_s, end_s=r.end_s, partial=r.partial, cost_fraction=float("nan"))
            for r in live.repetitions]


#: The live cost limits (fraction of the statue, noise cost) tried on the tuning styles (``--tune``), and
#: the clips they are tried on.
TUNE_LIMITS = ((1.5, 0.0), (0.5, 50.0), (1.0, 40.0), (0.7, 60.0))
TUNE_COUNTS, TUNE_GAPS_DEG = (2, 5, 8), (0.0, 90.0)


def _reps_main(noise_scales: list[float], *, tune: bool = False, offline: bool = True,
               part: tuple[int, int] | None = None, end_partials: bool = True
               ) -> None:  # pragma: no cover - measurement script
    import functools

    from lab.reps.evaluate import (
        ACTIONS,
        REPORT_STYLES,
        TUNING_STYLES,
        list_repetition_takes,
        run_segmentation_suite,
        summarize_suite,
    )
    from lab.score.uncertainty import load_landmark_noise

    base = float(load_landmark_noise().get("distance_matched_scale", 1.0))
    takes = [t for t in list_repetition_takes(TUNING_STYLES if tune else REPORT_STYLES) if t.split("_")[0] in ACTIONS]
    if part is not None:  # (k, n): every n-th take from the k-th, to share the suite between processes
        takes = takes[part[0]::part[1]]
    print(f"{len(takes)} takes: {', '.join(takes)}")
    if tune:
        for fraction, noise in TUNE_LIMITS:
            df = run_segmentation_suite(takes, counts=TUNE_COUNTS, gaps_deg=TUNE_GAPS_DEG, noise_scale=base,
                                        find_in_track=functools.partial(count_live, max_cost_fraction=fraction,
                                                                        noise_cost=noise),
                                        end_partials=end_partials)
            s = summarize_suite(df)
            print(f"tuning styles, live limit {fraction:g} x statue + {noise:g}: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in s.items()), flush=True)
        return
    for factor in noise_scales:
        for label, finder in (("live", count_live), ("offline", None))[:2 if offline else 1]:
            df = run_segmentation_suite(takes, noise_scale=base * factor, find_in_track=finder,
                                        end_partials=end_partials)
            s = summarize_suite(df)
            print(f"noise x{factor:g}, {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()), flush=True)


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - measurement script
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lite")
    ap.add_argument("--no-realtime", action="store_true", help="Process every frame (no dropping).")
    ap.add_argument("--reps", action="store_true", help="Count repetitions live on the repetitions suite instead.")
    ap.add_argument("--noise-scales", default="1,0.5", help="With --reps: factors on the MediaPipe-like noise.")
    ap.add_argument("--tune", action="store_true", help="With --reps: try the live cost limits on the tuning styles.")
    ap.add_argument("--live-only", action="store_true", help="With --reps: leave out the offline search.")
    ap.add_argument("--part", default=None, help="With --reps: K/N, every N-th take from the K-th (0-based).")
    ap.add_argument("--front-partials-only", action="store_true",
                    help="With --reps: the suite as it was before clips could end with half a repetition.")
    args = ap.parse_args(argv)
    if args.reps:
        part = tuple(int(v) for v in args.part.split("/")) if args.part else None
        _reps_main([float(f) for f in args.noise_scales.split(",")], tune=args.tune, offline=not args.live_only,
                   part=part, end_partials=not args.front_partials_only)
        return
    df = pd.DataFrame(evaluate_pairs(model=args.model, realtime=not args.no_realtime))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.to_string(index=False))
    same = (df["compare_verdict"] == df["live_verdict"]).sum()
    gap = (df["live_final_score"] - df["compare_score"]).abs()
    run_gap = (df["live_running_score"] - df["live_final_score"]).abs()
    print(f"verdict as lab compare: {same} of {len(df)}; final score - compare score: median {gap.median():.1f}, "
          f"largest {gap.max():.1f}; running - final score: median {run_gap.median():.1f}, largest {run_gap.max():.1f}")


if __name__ == "__main__":  # pragma: no cover
    _main()
