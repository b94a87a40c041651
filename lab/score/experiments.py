"""Experiments behind the comparison's claims: real-footage ROC table, synthetic view-gap sweep, threshold.

Functions return tables (pandas) for a notebook; none writes files except
:func:`write_threshold_file` which the regeneration script calls
(``python -m lab.score.experiments``).

Synthetic views
---------------
:func:`synthetic_view` turns a mocap track (frame ``lab``) into what MediaPipe
would give for a camera at a chosen azimuth/elevation around the subject: the
2D landmarks in pixels (pinhole projection) *and* "world landmarks" in the
camera's axes (x right, y down, z away), hip-centred, with Gaussian noise that
is larger along the line of sight (MediaPipe's depth is a guess). The result
goes through the same :func:`lab.lift.lift_track` path as real footage.
"""

from __future__ import annotations

import dataclasses
import itertools
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lab.pose.track import PoseTrack


# ----------------------------------------------------------------- synthetic
def synthetic_view(track: PoseTrack, *, azimuth_deg: float, elevation_deg: float = 10.0,
                   distance_m: float = 7.0, width: int = 1080, height: int = 1920,
                   fov_deg: float = 65.0, noise_px: float = 3.0, noise_m: float = 0.02,
                   noise_depth_m: float = 0.06, seed: int = 0) -> PoseTrack:
    """A mocap track as a camera at (``azimuth_deg``, ``elevation_deg``) would see it through MediaPipe.

    Azimuth follows :mod:`lab.align.view`: 0 = in front of the subject (its
    clip-median facing), +90 = on its left. The camera aims at the clip's mean
    mid-hip from ``distance_m``.

    Returns
    -------
    PoseTrack
        Frame ``camera``: ``image_px`` (T, K, 2) with ``noise_px`` Gaussian
        noise; ``world_m`` camera axes, hip-centred, noise ``noise_m`` across
        and ``noise_depth_m`` along the line of sight; visibility 0.9 where
        the landmark exists; ``meta`` width/height/fps and ``synthetic``.
    """
    from lab.align.view import camera_looking_at_subject
    from lab.lift import lift_mocap
    from lab.pose.camera import intrinsics_from_fov

    if track.frame != "lab":
        raise ValueError("synthetic_view expects a mocap track (frame 'lab')")
    body = lift_mocap(track, enforce_bones=False)
    root = np.array([[np.nan if v is None else v for v in r] for r in body.meta["lift"]["root_m"]], float)
    X = body.world_m + root[:, None, :]
    X = X - np.nanmean(root, axis=0)
    K = intrinsics_from_fov(width, height, fov_deg=fov_deg)
    cam = camera_looking_at_subject(azimuth_deg=azimuth_deg, elevation_deg=elevation_deg,
                                    distance_m=distance_m, K=K, width=width, height=height)
    rng = np.random.default_rng(seed)
    img = cam.project(X.reshape(-1, 3)).reshape(X.shape[:2] + (2,))
    img = img + rng.normal(0.0, noise_px, img.shape)
    kp = track.keypoints
    mid = (X[:, kp.index("left_hip")] + X[:, kp.index("right_hip")]) / 2
    W = np.einsum("ij,tkj->tki", cam.R, X - mid[:, None])
    W = W + rng.normal(0.0, 1.0, W.shape) * np.array([noise_m, noise_m, noise_depth_m])
    ok = np.isfinite(W).all(-1)
    vis = np.where(ok, 0.9, 0.0)
    meta = {"source": f"{track.meta.get('source', 'mocap')}@az{azimuth_deg:g}el{elevation_deg:g}",
            "width": width, "height": height, "fps": track.fps,
            "synthetic": {"azimuth_deg": azimuth_deg, "elevation_deg": elevation_deg,
                          "distance_m": distance_m, "noise_px": noise_px, "noise_m": noise_m,
                          "noise_depth_m": noise_depth_m, "seed": seed}}
    return PoseTrack(time_s=track.time_s.copy(), keypoints=kp, image_px=np.where(ok[..., None], img, np.nan),
                     world_m=np.where(ok[..., None], W, np.nan), visibility=vis, presence=vis,
                     frame="camera", meta=meta)


def time_window(track: PoseTrack, start_s: float, stop_s: float) -> PoseTrack:
    """Frames with ``start_s <= t - t0 < stop_s`` (times kept)."""
    t = track.time_s - track.time_s[0]
    sel = np.flatnonzero((t >= start_s) & (t < stop_s))
    out = track.select_frames(sel)
    out.meta["window_s"] = [start_s, stop_s]
    return out


def decimate(track: PoseTrack, step: int) -> PoseTrack:
    """Every ``step``-th frame (e.g. 60 fps -> 30 fps with step 2)."""
    out = track.select_frames(np.arange(0, track.n_frames, step))
    if track.meta.get("fps"):
        out.meta["fps"] = float(track.meta["fps"]) / step
    return out


# ----------------------------------------------------------------- data sets
def shared_dir() -> Path:
    from lab.samples import project_root
    return ((project_root() or Path.cwd()) / ".." / "shared").resolve()


def load_sample_tracks(*, model: str = "full") -> dict[str, PoseTrack]:
    """The five sample clips' pose tracks: ``cam01``..``cam04`` (Pose2Sim), ``sports2d``."""
    from lab.pose.extract import extract_pose_cached
    from lab.samples import ensure_samples, sample_path

    ensure_samples()  # fetched and checked on first use
    out = {f"cam0{i}": extract_pose_cached(sample_path(f"pose2sim/cam0{i}.mp4"), model=model, progress=False)
           for i in range(1, 5)}
    out["sports2d"] = extract_pose_cached(sample_path("sports2d/demo.mp4"), model=model, progress=False)
    return out


def load_mocap() -> dict[str, PoseTrack]:
    """Ground-truth mocap from ../shared: ``walk1``, ``walk2``, ``hop`` (CMU 131), ``balance`` (Pose2Sim TRC)."""
    from lab.pose.mocap import read_bvh, read_trc

    d = shared_dir() / "data"
    return {"walk1": read_bvh(d / "cmu_bvh" / "131_01.bvh"), "walk2": read_bvh(d / "cmu_bvh" / "131_02.bvh"),
            "hop": read_bvh(d / "cmu_bvh" / "131_03.bvh"),
            "balance": read_trc(d / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc")}


@dataclasses.dataclass
class Pair:
    reference: str
    attempt: str
    same: bool
    group: str


def real_pairs(tracks: dict[str, PoseTrack], *, segment_s: float = 2.5,
               mocap: dict[str, PoseTrack] | None = None,
               mocap_azimuths_deg: tuple[float, ...] = (0.0, 90.0, 180.0)
               ) -> tuple[list[Pair], dict[str, PoseTrack]]:
    """Pairs on real footage: every Pose2Sim cross-view pair is "same"; every view
    against the Sports2D clip, its ``segment_s`` sub-segments (both orders) and,
    if given, synthetic views of other mocap movements is "different".

    Returns the pairs and the dictionary of all tracks they name.
    """
    views = [k for k in sorted(tracks) if k.startswith("cam")]
    allt = dict(tracks)
    pairs = [Pair(a, b, True, "pose2sim cross-view") for a, b in itertools.combinations(views, 2)]
    s2d = tracks["sports2d"]
    dur = s2d.time_s[-1] - s2d.time_s[0]
    others = ["sports2d"]
    k = 0
    while k * segment_s < dur - 0.5:
        name = f"sports2d[{k * segment_s:g}-{min((k + 1) * segment_s, dur):.1f}s]"
        allt[name] = time_window(s2d, k * segment_s, (k + 1) * segment_s)
        others.append(name)
        k += 1
    for v in views:
        for o in others:
            pairs.append(Pair(v, o, False, "vs sports2d"))
            pairs.append(Pair(o, v, False, "vs sports2d"))
    if mocap:
        for name, tr in mocap.items():
            if name == "balance":
                continue  # the same movement as the Pose2Sim views
            for az in mocap_azimuths_deg:
                key = f"{name}@{az:g}"
                allt[key] = synthetic_view(tr, azimuth_deg=az, seed=int(az) + 7)
                for v in views:
                    pairs.append(Pair(v, key, False, "vs mocap synthetic"))
    return pairs, allt


# ---------------------------------------------------------------- evaluation
def _ours(rate_hz: float = 30.0, window_s: float | None = 0.3) -> Callable:
    from lab.score.compare import distance_between, prepare_features
    cache: dict[int, Any] = {}

    def prep(tr):
        if id(tr) not in cache:
            cache[id(tr)] = (tr, prepare_features(tr))
        return cache[id(tr)][1]

    def dist(ref, att):
        return distance_between(prep(ref), prep(att), rate_hz=rate_hz, window_s=window_s)[0]
    return dist


def methods(*, baselines: bool = True) -> dict[str, Callable[[PoseTrack, PoseTrack], float]]:
    """Distance functions compared: ``ours`` (lifted, weighted, open-end DTW, auto mirror) and the baselines."""
    from lab.score.baselines import BASELINES
    out = {"ours_lifted": _ours()}
    if baselines:
        out.update(BASELINES)
    return out


def pair_distances(pairs: list[Pair], tracks: dict[str, PoseTrack], *,
                   method_fns: dict[str, Callable] | None = None):
    """Long table: one row per pair x method with ``distance``."""
    import pandas as pd
    fns = method_fns or methods()
    rows = []
    for p in pairs:
        for m, fn in fns.items():
            try:
                d = float(fn(tracks[p.reference], tracks[p.attempt]))
            except ValueError:
                d = float("nan")
            rows.append({"reference": p.reference, "attempt": p.attempt, "same": p.same,
                         "group": p.group, "method": m, "distance": d})
    return pd.DataFrame(rows)


def summarize(distances) -> "Any":
    """Per method: AUC, equal-error rate, farthest same pair, closest different pair, separable."""
    import pandas as pd

    from lab.score.calibrate import calibrate_threshold
    rows = []
    for m, g in distances.groupby("method", sort=False):
        g = g[np.isfinite(g["distance"])]
        cal = calibrate_threshold(g["distance"].to_numpy(), g["same"].to_numpy())
        pos, neg = g[g["same"]]["distance"], g[~g["same"]]["distance"]
        rows.append({"method": m, "auc": round(cal.auc, 4), "eer": round(cal.eer, 4),
                     "n_same": cal.n_same, "n_different": cal.n_different,
                     "same_max": round(float(pos.max()), 3), "different_min": round(float(neg.min()), 3),
                     "separable": cal.separable, "threshold": round(cal.threshold, 3),
                     "n_failed": int(len(distances[distances["method"] == m]) - len(g))})
    return pd.DataFrame(rows)


def real_footage_table(*, segment_s: float = 2.5, with_mocap: bool = True, baselines: bool = True):
    """The real-footage ROC table (ours vs baselines) and the per-pair distances.

    Returns
    -------
    (summary DataFrame, distances DataFrame)
    """
    tracks = load_sample_tracks()
    mocap = None
    if with_mocap and (shared_dir() / "data").exists():
        mocap = load_mocap()
    pairs, allt = real_pairs(tracks, segment_s=segment_s, mocap=mocap)
    dist = pair_distances(pairs, allt, method_fns=methods(baselines=baselines))
    return summarize(dist), dist


def view_gap_sweep_cached(**params):
    """:func:`view_gap_sweep` on the shared motion capture, cached (``$LAB_CACHE_DIR/experiments``) by
    the parameters, the content of ``../shared``'s mocap files and the source of every stage it runs:
    a re-run recomputes nothing that did not change. Returns the same (summary, distances)."""
    import hashlib
    import json

    import pandas as pd

    from lab.io import atomic_path, cache_dir, source_digest

    h = hashlib.sha256(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in sorted(params.items())},
                                  default=str).encode())
    h.update(source_digest("pose", "lift", "features", "align", "dtw", "score").encode())
    for sub in ("cmu_bvh", "pose2sim_trc"):
        for f in sorted((shared_dir() / "data" / sub).glob("*")):
            if f.is_file():
                h.update(f.name.encode())
                h.update(hashlib.sha256(f.read_bytes()).digest())
    folder = cache_dir() / "experiments"
    paths = [folder / f"view_gap_{h.hexdigest()[:32]}_{n}.parquet" for n in ("summary", "distances")]
    if all(p.exists() for p in paths):
        try:
            return tuple(pd.read_parquet(p) for p in paths)
        except (OSError, ValueError):
            pass
    summary, distances = view_gap_sweep(**params)
    folder.mkdir(parents=True, exist_ok=True)
    for df, p in zip((summary, distances), paths):
        with atomic_path(p) as tmp:
            df.to_parquet(tmp, index=False)
    return summary, distances


def view_gap_sweep(*, gaps_deg=(0, 30, 60, 90, 120, 150, 180), segment_s: float = 3.0,
                   n_segments: int = 2, base_azimuth_deg: float = 30.0, noise_scale: float = 1.0,
                   baselines: bool = True, mocap: dict[str, PoseTrack] | None = None):
    """Same-vs-different ROC AUC at each view gap, on mocap seen through synthetic cameras.

    Items: ``n_segments`` windows of ``segment_s`` from the middle of each CMU
    clip (walk1, walk2, hop) and the whole Pose2Sim balancing trial. "Same" =
    two items of the same movement class (walk/walk across files and
    segments, hop/hop, and the balancing trial against itself); "different" =
    across classes. The reference is seen at ``base_azimuth_deg``, the attempt
    at ``base_azimuth_deg + gap`` (different noise seeds).

    The summary has two rows per gap and method: ``positives`` = "same
    recording" (only an item against itself from the other view counts as
    same: the pure view-invariance test; same-class pairs of different
    recordings left out) and "same class" (all same-class pairs count as same;
    note CMU 131_01 "walk" includes a crouch and a 100 degree turn, so
    walk1/walk2 segments are not the same drill in a coach's sense).

    Returns
    -------
    (summary DataFrame with gap_deg, positives, method, auc, ...; distances DataFrame)
    """
    import pandas as pd

    mocap = mocap or load_mocap()
    items: dict[str, tuple[str, PoseTrack]] = {}
    for name, tr in mocap.items():
        cls = "walk" if name.startswith("walk") else name
        dur = tr.time_s[-1] - tr.time_s[0]
        if dur < segment_s * 1.5:
            items[name] = (cls, tr)
            continue
        centre = dur / 2
        starts = centre - segment_s * n_segments / 2 + segment_s * np.arange(n_segments)
        for k, s in enumerate(starts):
            items[f"{name}#{k}"] = (cls, time_window(tr, float(s), float(s) + segment_s))
    names = sorted(items)
    pairs = [(a, b) for a, b in itertools.combinations_with_replacement(names, 2)]
    rows = []
    for gap in gaps_deg:
        views = {}
        for n in names:
            seed = zlib.crc32(n.encode()) % 1000
            views[(n, 0)] = synthetic_view(items[n][1], azimuth_deg=base_azimuth_deg, seed=seed,
                                           noise_px=3.0 * noise_scale, noise_m=0.02 * noise_scale,
                                           noise_depth_m=0.06 * noise_scale)
            views[(n, 1)] = synthetic_view(items[n][1], azimuth_deg=base_azimuth_deg + gap, seed=seed + 1,
                                           noise_px=3.0 * noise_scale, noise_m=0.02 * noise_scale,
                                           noise_depth_m=0.06 * noise_scale)
        fns = methods(baselines=baselines)
        for a, b in pairs:
            same = items[a][0] == items[b][0]
            for m, fn in fns.items():
                try:
                    d = float(fn(views[(a, 0)], views[(b, 1)]))
                except ValueError:
                    d = float("nan")
                rows.append({"gap_deg": gap, "reference": a, "attempt": b, "same": same,
                             "same_item": a == b, "method": m, "distance": d})
    dist = pd.DataFrame(rows)
    summ = []
    for (gap, ), g in dist.groupby(["gap_deg"]):
        for label, sel in (("same recording", g["same_item"] | ~g["same"]), ("same class", g.index == g.index)):
            s = summarize(g[sel])
            s.insert(0, "positives", label)
            s.insert(0, "gap_deg", gap)
            summ.append(s)
    return pd.concat(summ, ignore_index=True), dist


def noise_holdout_check(*, segment_s: float = 2.5):
    """How much the real-footage result owes to the noise table being measured on the same views.

    For each way of splitting the four Pose2Sim views into two "training"
    views and two "test" views: the per-feature noise is re-estimated
    (:func:`lab.features.noise.estimate_feature_noise`) from the training views
    only, and the test pair (same) is compared with the test views against
    the Sports2D clip and its segments, both orders (different).

    Returns
    -------
    DataFrame
        ``train``, ``test``, ``same_distance``, ``closest_different``,
        ``separable`` and the same numbers with the shipped table.
    """
    import pandas as pd

    from lab.features.noise import estimate_feature_noise
    from lab.pose.mocap import read_trc
    from lab.score.compare import distance_between, prepare_features

    tracks = load_sample_tracks()
    truth = read_trc(shared_dir() / "data" / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc")
    s2d = tracks["sports2d"]
    dur = s2d.time_s[-1] - s2d.time_s[0]
    others = {"sports2d": s2d}
    k = 0
    while k * segment_s < dur - 0.5:
        others[f"seg{k}"] = time_window(s2d, k * segment_s, (k + 1) * segment_s)
        k += 1
    fs = {n: prepare_features(t) for n, t in {**tracks, **others}.items()}
    views = [f"cam0{i}" for i in range(1, 5)]
    rows = []
    for train in itertools.combinations(views, 2):
        test = tuple(v for v in views if v not in train)
        for label, noise in (("held out", estimate_feature_noise([tracks[v] for v in train], truth)),
                             ("shipped (all four views)", None)):
            same = distance_between(fs[test[0]], fs[test[1]], noise=noise)[0]
            neg = [distance_between(fs[v], fs[o], noise=noise)[0] for v in test for o in others]
            neg += [distance_between(fs[o], fs[v], noise=noise)[0] for v in test for o in others]
            rows.append({"noise_table": label, "train": "+".join(train), "test": "+".join(test),
                         "same_distance": round(same, 3), "closest_different": round(min(neg), 3),
                         "separable": same < min(neg)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- threshold
def calibration_set(*, with_mocap: bool = True, with_synthetic: bool = True):
    """Distances (ours) and labels used to calibrate the shipped threshold, as a DataFrame.

    Same: Pose2Sim cross-view pairs, the same pairs with the attempt at 30 fps
    (every other frame), each view against a 1.25x time-stretched copy of
    another view; different: views against Sports2D (whole + segments) and
    synthetic views of CMU walk/hop; with ``with_synthetic`` also the view-gap
    sweep pairs at 0, 90 and 180 degrees.
    """
    import pandas as pd

    tracks = load_sample_tracks()
    mocap = load_mocap() if with_mocap and (shared_dir() / "data").exists() else None
    pairs, allt = real_pairs(tracks, mocap=mocap)
    views = [k for k in sorted(tracks) if k.startswith("cam")]
    for a, b in itertools.combinations(views, 2):
        allt[f"{b}@30fps"] = decimate(tracks[b], 2)
        pairs.append(Pair(a, f"{b}@30fps", True, "pose2sim cross-view 60/30 fps"))
        st = tracks[b].replace(time_s=tracks[b].time_s * 1.25, meta={**tracks[b].meta, "fps": tracks[b].fps / 1.25})
        allt[f"{b}x1.25"] = st
        pairs.append(Pair(a, f"{b}x1.25", True, "pose2sim cross-view time-stretched"))
    dist = pair_distances(pairs, allt, method_fns={"ours_lifted": _ours()})
    if with_synthetic and mocap is not None:
        _, sweep = view_gap_sweep(gaps_deg=(0, 90, 180), baselines=False, mocap=mocap)
        sweep = sweep[sweep["same_item"] | ~sweep["same"]]
        sweep = sweep.assign(group=lambda d: "synthetic gap " + d["gap_deg"].astype(str)).drop(
            columns=["gap_deg", "same_item"])
        dist = pd.concat([dist, sweep], ignore_index=True)
    return dist


def write_threshold_file(path: Path | None = None) -> dict[str, Any]:
    """Calibrate on :func:`calibration_set` and write ``lab/score/threshold.json``."""
    import json

    from lab.io import write_bytes_atomic
    from lab.score.calibrate import calibrate_threshold
    from lab.score.compare import THRESHOLD_FILE

    dist = calibration_set()
    ok = dist[np.isfinite(dist["distance"])]
    cal = calibrate_threshold(ok["distance"].to_numpy(), ok["same"].to_numpy())
    groups = ok.groupby(["group", "same"])["distance"].agg(["count", "min", "max"]).reset_index()
    out = {"threshold": round(cal.threshold, 4), "auc": round(cal.auc, 4), "eer": round(cal.eer, 4),
           "separable": cal.separable, "rule": cal.rule, "n_same": cal.n_same,
           "n_different": cal.n_different,
           "provenance": "lab.score.experiments.write_threshold_file: calibrate_threshold over "
                         "calibration_set() (Pose2Sim cross-view pairs at 60/30 fps and time-stretched = same; "
                         "vs Sports2D clip/segments and synthetic CMU walk/hop views = different; synthetic "
                         "view-gap pairs of CMU walk/walk/hop + Pose2Sim TRC at 0/90/180 deg)",
           "groups": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                      for r in groups.to_dict("records")]}
    write_bytes_atomic(path or THRESHOLD_FILE, (json.dumps(out, indent=1) + "\n").encode())
    return out


if __name__ == "__main__":  # pragma: no cover - regeneration script
    import json
    print(json.dumps(write_threshold_file(), indent=1))
