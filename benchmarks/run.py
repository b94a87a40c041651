"""Speed and memory, measured side by side in one run on this machine.

    python benchmarks/run.py [--quick]

Prints a table and writes it to ``reports/benchmarks.md``. The first rows are
``lab extract`` as a user runs it (defaults, whole process, empty track cache)
against the naive loop run as a process (target, issue 14: >= 1.5x). Targets (issue 6):
``lab extract`` >= 1.7x the naive loop (full model, 2 cores; the naive loop runs
the standard bundle, and the table splits the gain between lab's mask-free
bundle and the second core); >= 30 fps on
720p with the lite model; DTW within 2x of dtaidistance's C code; 1 query vs
10,000 references of 300 frames under 2 s; extraction memory independent of
the clip's length. Nothing here is a timed test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def ffmpeg(*args) -> None:
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
                   check=True)


def make_clips(tmp: Path, samples: dict) -> dict[str, Path]:
    """Longer clips from the samples: a 30 s 1080p upload (cam01 x18, 1800 frames), 720p, 4K, and 10 s / 40 s 1080p for memory."""
    clips = {"1080p": tmp / "cam01x18_1080x1920.mp4", "720p": tmp / "sports2d_x3_1280x720.mp4",
             "4k": tmp / "cam01x6_2160x3840.mp4", "mem10": tmp / "mem_10s.mp4", "mem40": tmp / "mem_40s.mp4"}
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    ffmpeg("-stream_loop", "17", "-i", samples["pose2sim/cam01.mp4"], *enc, clips["1080p"])
    ffmpeg("-stream_loop", "2", "-i", samples["sports2d/demo.mp4"], "-vf", "scale=1280:720", *enc, clips["720p"])
    ffmpeg("-stream_loop", "5", "-i", samples["pose2sim/cam01.mp4"], "-vf", "scale=2160:3840", *enc, clips["4k"])
    ffmpeg("-stream_loop", "6", "-i", samples["pose2sim/cam01.mp4"], "-t", "10", *enc, clips["mem10"])
    ffmpeg("-stream_loop", "24", "-i", samples["pose2sim/cam01.mp4"], "-t", "40", *enc, clips["mem40"])
    return clips


def naive_pair_fps(video: Path, model_path: Path, n_frames: int) -> float:
    """The ceiling for 2 processes: two naive loops side by side, one on each half of the clip.

    Each is a separate interpreter (`python run.py --naive-half`), timed like the naive loop
    (from creating its landmarker; its seek is done before); the pair's rate is all frames over
    the slower loop's time.
    """
    half = n_frames // 2
    procs = [subprocess.Popen([sys.executable, __file__, "--naive-half", str(video), str(model_path), str(a), str(half)],
                              stdout=subprocess.PIPE, text=True) for a in (0, half)]
    times = [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return 2 * half / max(times)


def _naive_half(video: str, model_path: str, start: str, count: str) -> None:
    """Child of :func:`naive_pair_fps`: the naive loop over ``count`` frames from ``start``; prints its seconds."""
    import cv2
    cap = cv2.VideoCapture(video)
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(start))
    fps, n = naive_loop_fps(Path(video), Path(model_path), max_frames=int(count), capture=cap)
    print(n / fps)


#: The naive loop as a user would run it: its own Python process, the standard bundle, one person.
NAIVE_PROCESS = """
import sys, cv2, mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision
opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=sys.argv[2]),
                                    running_mode=vision.RunningMode.VIDEO)
lm = vision.PoseLandmarker.create_from_options(opts)
cap = cv2.VideoCapture(sys.argv[1])
fps = cap.get(cv2.CAP_PROP_FPS) or 30
n, poses = 0, []
while True:
    ok, frame = cap.read()
    if not ok:
        break
    img = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    poses.append(lm.detect_for_video(img, int(n * 1000 / fps)).pose_landmarks)
    n += 1
lm.close()
print(n)
"""


def whole_process_rows(rows: list, clips: dict[str, Path], *, runs: int = 3) -> None:
    """``lab extract VIDEO`` against the naive loop, each a whole process (start to exit).

    Per clip: the defaults first, then ``--check-every 0.5``; median of
    ``runs``, the commands taken in turn; lab's track cache is emptied before
    each of its runs (the models stay cached, as after ``lab models``).
    """
    import shutil
    import statistics

    from lab.io import cache_dir
    from lab.pose.models import ensure_model
    from lab.pose.track import read_track

    full = str(ensure_model("full"))
    variants = {"with its defaults": [], "--check-every 0.5": ["--check-every", "0.5"]}
    with tempfile.TemporaryDirectory() as tmpd:
        cache = Path(tmpd) / "cache"
        shutil.copytree(cache_dir() / "models", cache / "models")
        env = {**os.environ, "LAB_CACHE_DIR": str(cache)}
        out = Path(tmpd) / "out.parquet"
        for name, clip in clips.items():
            naive, ours, meta = [], {v: [] for v in variants}, {}
            for _ in range(runs):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-c", NAIVE_PROCESS, str(clip), full], check=True,
                               capture_output=True)
                naive.append(time.perf_counter() - t0)
                for label, extra in variants.items():
                    shutil.rmtree(cache / "tracks", ignore_errors=True)
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "lab", "extract", str(clip), "-o", str(out), *extra],
                                   check=True, capture_output=True, env=env, cwd=tmpd)
                    ours[label].append(time.perf_counter() - t0)
                    meta[label] = read_track(out).meta
            a = statistics.median(naive)
            for label in variants:
                b, m = statistics.median(ours[label]), meta[label]
                follow = m.get("follow", {})
                how = (f"{follow['checks']} checks for everyone, {follow['frames_redone']} frames redone"
                       if follow.get("check_every_s") else "everyone detected on every frame")
                rows.append((f"`lab extract` {label} / the naive loop, whole process, {name} "
                             f"({m.get('frame_count')} frames; {m.get('workers')} landmarker(s); {how})",
                             f"{b:.2f} s / {a:.2f} s", f"**{a / b:.2f}x** (target >= 1.5x)"))


def naive_loop_fps(video: Path, model_path: Path, max_frames: int | None = None, *,
                   capture=None) -> tuple[float, int]:
    """What one would write first: OpenCV read, colour-convert, MediaPipe detect, one process.

    Timed end to end like ``lab extract``: from creating the landmarker and opening the video
    to the last frame's landmarks (imports excluded from both).
    """
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from lab.io import quiet_stderr

    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                        running_mode=vision.RunningMode.VIDEO)
    with quiet_stderr():
        t0 = time.perf_counter()
        lm = vision.PoseLandmarker.create_from_options(opts)
        cap = capture if capture is not None else cv2.VideoCapture(str(video))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok or (max_frames and n >= max_frames):
                break
            img = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            lm.detect_for_video(img, int(n * 1000 / fps))
            n += 1
        dt = time.perf_counter() - t0
        lm.close()
    return n / dt, n


def decode_fps(video: Path) -> float:
    import cv2
    cap = cv2.VideoCapture(str(video))
    n, t0 = 0, time.perf_counter()
    while cap.read()[0]:
        n += 1
    return n / (time.perf_counter() - t0)


def lab_extract_fps(video: Path, *, model: str, max_people: int = 1,
                    max_side_px: int | None = None, check_every_s: float | None = None) -> tuple[float, int, int]:
    """``extract_pose`` timed end to end (probe, landmarkers, every chunk, stitching); default ``max_side_px``."""
    from lab.pose.extract import DEFAULT_CHECK_EVERY_S, DEFAULT_MAX_SIDE_PX, extract_pose
    t0 = time.perf_counter()
    tr = extract_pose(video, model=model, max_people=max_people, progress=False,
                      max_side_px=max_side_px or DEFAULT_MAX_SIDE_PX,
                      check_every_s=DEFAULT_CHECK_EVERY_S if check_every_s is None else check_every_s)
    return tr.n_frames / (time.perf_counter() - t0), tr.n_frames, tr.meta["workers"]


def peak_rss_mb(video: Path) -> float:
    code = ("import resource, sys; from lab.pose.extract import extract_pose;"
            "extract_pose(sys.argv[1], progress=False, max_people=1);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, "-c", code, str(video)], capture_output=True, text=True, check=True)
    return float(r.stdout.strip().splitlines()[-1])


def numpy_dtw(x: np.ndarray, y: np.ndarray, window: int) -> float:
    """Plain NumPy reference: the local cost matrix at once, the recursion row by row."""
    n, m = len(x), len(y)
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        lo, hi = max(1, i - window), min(m, i + window)
        for j in range(lo, hi + 1):
            D[i, j] = cost[i - 1, j - 1] + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    return D[n, m]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_dtw(rows: list) -> None:
    from lab.dtw.search import dtw_banded
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(300, 30)), 0)
    y = np.cumsum(rng.normal(size=(300, 30)), 0)
    w = 30
    dtw_banded(x, y, w, np.inf)  # compile (or load the on-disk cache)
    t_lab = best_of(lambda: dtw_banded(x, y, w, np.inf), 20)
    try:
        from dtaidistance import dtw_ndim
        dtw_ndim.distance_fast(x, y, window=w)
        t_c = best_of(lambda: dtw_ndim.distance_fast(x, y, window=w), 20)
        d_c = dtw_ndim.distance_fast(x, y, window=w + 1) ** 2  # dtaidistance: sqrt of the sum; window exclusive
    except ImportError:
        t_c, d_c = float("nan"), float("nan")
    t_np = best_of(lambda: numpy_dtw(x, y, w), 2)
    d_lab, d_np = dtw_banded(x, y, w, np.inf), numpy_dtw(x, y, w)
    rows.append(("DTW 300x300 frames, 30 features, band 30: lab (numba)", f"{t_lab * 1e3:.2f} ms", ""))
    rows.append(("  dtaidistance C (`dtw_ndim.distance_fast`)", f"{t_c * 1e3:.2f} ms",
                 f"lab / C = {t_lab / t_c:.2f}x (target <= 2x)"))
    rows.append(("  plain NumPy reference", f"{t_np * 1e3:.0f} ms", f"NumPy / lab = {t_np / t_lab:.0f}x"))
    rows.append(("  same distance (lab vs NumPy, vs C)", f"{d_lab:.6g} / {d_np:.6g} / {d_c:.6g}", ""))


def bench_search(rows: list, n_refs: int) -> None:
    from lab.dtw.search import search_nearest
    rng = np.random.default_rng(1)
    refs = np.cumsum(rng.normal(size=(n_refs, 300, 30)), axis=1) / np.sqrt(300)
    t = np.linspace(0, 1, 300) ** 1.1 * 299
    target = n_refs // 3
    q = np.stack([np.interp(t, np.arange(300), refs[target][:, k]) for k in range(30)], 1)
    q += rng.normal(scale=0.02, size=q.shape)
    search_nearest(q, refs[:50], window=30)  # compile
    t0 = time.perf_counter()
    a = search_nearest(q, refs, window=30, prune=True)
    t_pruned = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = search_nearest(q, refs, window=30, prune=False)
    t_brute = time.perf_counter() - t0
    assert a.index == b.index == target
    rows.append((f"1 query vs {n_refs:,} references (300 frames, 30 features): LB_Keogh pruning",
                 f"{t_pruned:.2f} s", f"{a.full_dtw_computed} full DTWs ({a.pruned_fraction:.1%} pruned); target < 2 s"))
    rows.append(("  without pruning (every full DTW)", f"{t_brute:.2f} s", f"speed-up {t_brute / t_pruned:.0f}x, same answer"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import mediapipe
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {cores} cores, {mem:.0f} GiB, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, mediapipe {mediapipe.__version__}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--naive-half":
        _naive_half(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller search (1,000 references), skip memory")
    ap.add_argument("-o", "--output", default=str(REPO / "reports" / "benchmarks.md"))
    args = ap.parse_args()

    from lab.pose.models import ensure_model
    from lab.samples import ensure_samples

    samples = ensure_samples()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        clips = make_clips(tmp, samples)
        whole_process_rows(rows, {"Sports2D demo (7.7 s, 1768x994, a passer-by)": samples["sports2d/demo.mp4"],
                                  "Pose2Sim cam01 (1.7 s, 1080x1920)": samples["pose2sim/cam01.mp4"],
                                  "the 30 s 1080x1920 clip below": clips["1080p"]})
        full, lite = ensure_model("full"), ensure_model("lite")
        full_nomask = ensure_model("full", masks=False)
        dec = decode_fps(clips["1080p"])
        rows.append(("decode only, 1080x1920 (OpenCV), the floor", f"{dec:.0f} fps", ""))
        naive, n = naive_loop_fps(clips["1080p"], full)
        ours, n2, workers = lab_extract_fps(clips["1080p"], model="full")
        naive_nm, _ = naive_loop_fps(clips["1080p"], full_nomask)
        rows.append((f"naive loop, full model, 1080x1920, {n} frames "
                      "(create the landmarker, read, convert, detect; 1 process; end to end)",
                     f"{naive:.1f} fps", ""))
        rows.append((f"`lab extract --max-people 1` (following one person, like the naive loop), full model, same clip "
                     f"({workers} workers; end to end)", f"{ours:.1f} fps",
                     f"{ours / naive:.2f}x the naive loop (target >= 1.7x)"))
        rows.append(("  of which the model: the naive loop on lab's bundle (mask head removed, same landmarks)",
                     f"{naive_nm:.1f} fps", f"{naive_nm / naive:.2f}x the naive loop"))
        rows.append(("  of which the 2 cores: `lab extract` against that loop", "",
                     f"{ours / naive_nm:.2f}x"))
        pair = naive_pair_fps(clips["1080p"], full_nomask, n)
        rows.append(("two naive loops side by side on lab's bundle (2 processes, half the clip each): the 2-core ceiling",
                     f"{pair:.1f} fps", f"{pair / naive_nm:.2f}x the loop on lab's bundle; `lab extract` reaches "
                                        f"{ours / pair:.0%} of it"))
        small, _, _ = lab_extract_fps(clips["1080p"], model="full", max_side_px=1280)
        rows.append(("`lab extract --max-side 1280` (frames downscaled 1.5x before inference; the old default)",
                     f"{small:.1f} fps", f"{small / naive:.2f}x the naive loop"))
        ours2, _, _ = lab_extract_fps(clips["1080p"], model="full", max_people=2)
        rows.append(("`lab extract`, full model, following 1 of up to 2 people (the default: everyone detected "
                     "on every frame)", f"{ours2:.1f} fps", f"{ours2 / naive:.2f}x the naive loop"))
        checked, _, _ = lab_extract_fps(clips["1080p"], model="full", max_people=2, check_every_s=0.5)
        rows.append(("`lab extract --check-every 0.5`: MediaPipe's tracker follows one, everyone looked for "
                     "every 0.5 s", f"{checked:.1f} fps", f"{checked / naive:.2f}x the naive loop"))
        naive_4k, n4 = naive_loop_fps(clips["4k"], full)
        ours_4k, _, _ = lab_extract_fps(clips["4k"], model="full")
        rows.append((f"naive loop, full model, 2160x3840 (4K), {n4} frames", f"{naive_4k:.1f} fps", ""))
        rows.append(("`lab extract`, same 4K clip (frames halved to 1920 px before colour conversion)",
                     f"{ours_4k:.1f} fps", f"{ours_4k / naive_4k:.2f}x the naive loop"))
        naive_l, _ = naive_loop_fps(clips["720p"], lite)
        lite_fps, n3, w3 = lab_extract_fps(clips["720p"], model="lite")
        rows.append((f"naive loop, lite model, 1280x720, {n3} frames", f"{naive_l:.1f} fps", ""))
        rows.append((f"`lab extract`, lite model, 1280x720 ({w3} workers)", f"{lite_fps:.1f} fps",
                     f"{lite_fps / naive_l:.2f}x naive (target >= 30 fps)"))
        if not args.quick:
            m10, m40 = peak_rss_mb(clips["mem10"]), peak_rss_mb(clips["mem40"])
            rows.append(("peak memory of extraction (2 landmarkers, 1 process), 1080x1920: 10 s clip / 40 s clip",
                         f"{m10:.0f} MB / {m40:.0f} MB", f"ratio {m40 / m10:.2f} (streamed: ~1.0)"))
    bench_dtw(rows)
    bench_search(rows, 1_000 if args.quick else 10_000)

    run = f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python benchmarks/run.py{' --quick' if args.quick else ''}`"
    head = f"# Benchmarks\n\nMachine: {machine()}  \nRun: {run}\n\n"
    table = "| what | measured | ratio / note |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    text = head + table + "\n"
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
