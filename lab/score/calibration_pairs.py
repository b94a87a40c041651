"""The set the verdict is calibrated on: motion capture of many movements and styles, filmed by synthetic cameras.

Takes come from ``../shared/data`` (:func:`lab.score.detectability.locate_shared_data`):
the Bandai-Namco dataset-1 (16 motions in up to 15 styles) and CMU subject 131
(two walks, a hop). Each take is filmed like MediaPipe would see it
(:func:`lab.score.uncertainty.film_like_mediapipe`: the landmark noise measured
on the Pose2Sim footage against its TRC, biased per clip, correlated in time and
down each limb, worse for the side turned away) by a camera standing still while
the subject travels. A pair is "same" when both
takes show the same motion (another style, or another take of the same style)
and "different" otherwise, near-twins included (walking forward, sideways and
backwards, running and dashing; a wave and a goodbye). The attempt is filmed
from another camera, ``gap_deg`` of azimuth away, and is either the take's
middle part or a shorter segment from elsewhere in it, so clip lengths differ.

:func:`measure_calibration_pairs` compares every pair as the product does
(:func:`lab.score.compare.match_features`) and records what the verdict model
(:mod:`lab.score.verdict`) may use: the distance and how much each clip moves.
Everything is cached in ``$LAB_CACHE_DIR/experiments`` by the parameters, the
mocap files' content and the source of the stages it runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import zlib
from pathlib import Path

import numpy as np

from lab.pose.track import PoseTrack

#: Movements that look alike; pairs across them are the hard negatives.
NEAR_TWINS: tuple[frozenset[str], ...] = (
    frozenset({"walk", "walk-left", "walk-right", "walk-back", "run", "dash", "cmu-walk"}),
    frozenset({"bye", "byebye", "call", "guide", "respond"}),
    frozenset({"kick", "punch", "slash", "dance-short", "cmu-hop"}),
)


@dataclasses.dataclass(frozen=True)
class Take:
    """One motion-capture take: ``motion`` (content label), ``style``, ``path``."""

    name: str
    motion: str
    style: str
    path: str


def list_calibration_takes(*, min_duration_s: float = 1.5) -> list[Take]:
    """Every Bandai-Namco dataset-1 and CMU 131 take in ``../shared/data`` at least ``min_duration_s`` long."""
    from lab.score.detectability import locate_shared_data

    d = locate_shared_data()
    takes = []
    for p in sorted((d / "bandai_d1").glob("dataset-1_*.bvh")):
        motion, style, take = p.stem[len("dataset-1_"):].rsplit("_", 2)
        frames, dt = _bvh_length(p)
        if frames * dt >= min_duration_s:
            takes.append(Take(name=f"{motion}_{style}_{take}", motion=motion, style=style, path=str(p)))
    for stem, motion in (("131_01", "cmu-walk"), ("131_02", "cmu-walk"), ("131_03", "cmu-hop")):
        p = d / "cmu_bvh" / f"{stem}.bvh"
        if p.exists():
            takes.append(Take(name=f"cmu_{stem}", motion=motion, style="cmu", path=str(p)))
    return takes


def _bvh_length(path) -> tuple[int, float]:
    frames, dt = 0, 1.0
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("Frames:"):
                frames = int(line.split()[1])
            elif line.startswith("Frame Time:"):
                dt = float(line.split()[2])
                break
    return frames, dt


def near_twins(a: str, b: str) -> bool:
    """Whether two different motions belong to one family of look-alikes (:data:`NEAR_TWINS`)."""
    return a != b and any(a in f and b in f for f in NEAR_TWINS)


def load_take(take: Take, *, rate_hz: float = 30.0) -> PoseTrack:
    """The take as a frame ``lab`` track at about ``rate_hz``, times from 0."""
    from lab.pose.mocap import read_bvh
    from lab.score.detectability import decimate_to, read_bandai_bvh

    track = read_bvh(take.path) if take.style == "cmu" else read_bandai_bvh(take.path)
    track = decimate_to(track, rate_hz=rate_hz)
    return track.replace(time_s=track.time_s - track.time_s[0])


def cut(track: PoseTrack, *, start_s: float, duration_s: float) -> PoseTrack:
    """Frames with ``start_s <= t < start_s + duration_s``, times from 0."""
    t = track.time_s - track.time_s[0]
    out = track.select_frames(np.flatnonzero((t >= start_s - 1e-9) & (t < start_s + duration_s - 1e-9)))
    return out.replace(time_s=out.time_s - out.time_s[0])


def choose_pairs(takes: list[Take], *, gaps_deg: tuple[float, ...], positives_per_gap: int,
                 negatives_per_gap: int, seed: int = 0):
    """Pairs of takes to compare at each view gap (a DataFrame).

    Positives: two takes of one motion (another style or another take), both
    orders possible. Negatives: two different motions, half of them near-twins
    (:data:`NEAR_TWINS`). Pairs across CMU's and Bandai-Namco's walks are left
    out (neither clearly the same drill nor a different one). Drawn without
    replacement per gap, with ``seed``.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    pos, twin, other = [], [], []
    for a, b in itertools.permutations(range(len(takes)), 2):
        ma, mb = takes[a].motion, takes[b].motion
        if {ma, mb} == {"walk", "cmu-walk"}:
            continue
        if ma == mb:
            pos.append((a, b))
        elif near_twins(ma, mb):
            twin.append((a, b))
        else:
            other.append((a, b))
    rows = []
    for gap in gaps_deg:
        picks = [(pos, positives_per_gap, True), (twin, negatives_per_gap // 2, False),
                 (other, negatives_per_gap - negatives_per_gap // 2, False)]
        for pool, n, same in picks:
            for k in rng.choice(len(pool), size=min(n, len(pool)), replace=False):
                a, b = pool[k]
                rows.append({"gap_deg": float(gap), "reference": takes[a].name, "attempt": takes[b].name,
                             "reference_motion": takes[a].motion, "attempt_motion": takes[b].motion,
                             "same": same, "near_twin": near_twins(takes[a].motion, takes[b].motion)})
    return pd.DataFrame(rows)


def _clip_windows(duration_s: float, *, rng, max_s: float) -> dict[str, tuple[float, float]]:
    """The reference window (the middle, at most ``max_s``) and the attempt's (the same, or a
    segment of 60-90% of it from a random place of the take)."""
    ref_len = min(duration_s, max_s)
    ref = ((duration_s - ref_len) / 2, ref_len)
    if rng.random() < 0.5:
        att = ref
    else:
        seg = ref_len * rng.uniform(0.6, 0.9)
        att = (float(rng.uniform(0.0, max(duration_s - seg, 0.0))), seg)
    return {"reference": ref, "attempt": att}


def measure_calibration_pairs(*, gaps_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0, 180.0),
                              positives_per_gap: int = 150, negatives_per_gap: int = 300,
                              max_clip_s: float = 5.0, seed: int = 0, baselines: bool = True,
                              noise_factor: float = 1.0, progress: bool = False):
    """Compare every calibration pair (:func:`choose_pairs`) as the product does; one row per pair.

    Each take gets a reference camera at a random azimuth (elevation 10 deg);
    the attempt camera is ``gap_deg`` further round, with its own noise seed.

    Returns
    -------
    DataFrame
        The pair's columns plus ``distance`` (degree-equivalents), ``speed``
        (global tempo chosen), ``extreme_speed`` (the slowest or fastest tried),
        ``mirrored``, ``reference_motion_deg`` / ``attempt_motion_deg``
        (:func:`lab.features.scale.measure_motion_amplitude`), ``reference_s`` /
        ``attempt_s`` (clip lengths), ``matched_fraction`` (share of the
        reference's time the path covers).
    """
    import pandas as pd

    from lab.score.baselines import BASELINES
    from lab.score.compare import match_features, prepare_features
    from lab.score.uncertainty import film_like_mediapipe, load_landmark_noise

    takes = list_calibration_takes()
    by_name = {t.name: t for t in takes}
    pairs = choose_pairs(takes, gaps_deg=gaps_deg, positives_per_gap=positives_per_gap,
                         negatives_per_gap=negatives_per_gap, seed=seed)
    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0)) * noise_factor
    tracks: dict[str, PoseTrack] = {}
    features: dict[tuple, object] = {}

    def view(name: str, role: str, gap: float, windows):
        key = (name, role, gap if role == "attempt" else 0.0)
        if key not in features:
            if name not in tracks:
                tracks[name] = load_take(by_name[name])
            tr = tracks[name]
            start, length = windows[role]
            h = zlib.crc32(name.encode())
            azimuth = float(h % 360) + (gap if role == "attempt" else 0.0)
            filmed = film_like_mediapipe(cut(tr, start_s=start, duration_s=length), azimuth_deg=azimuth,
                                         seed=h % 100_000 + (1 + int(gap) if role == "attempt" else 0),
                                         noise_scale=scale, travel=True)
            features[key] = (prepare_features(filmed), length, filmed)
        return features[key]

    rows = []
    for i, p in enumerate(pairs.itertuples(index=False)):
        wins = {n: _clip_windows(float(np.prod(_bvh_length(by_name[n].path))),
                                 rng=np.random.default_rng(zlib.crc32(n.encode())), max_s=max_clip_s)
                for n in (p.reference, p.attempt)}
        ref_fs, ref_s, ref_track = view(p.reference, "reference", p.gap_deg, wins[p.reference])
        att_fs, att_s, att_track = view(p.attempt, "attempt", p.gap_deg, wins[p.attempt])
        row = p._asdict() | {"reference_s": ref_s, "attempt_s": att_s}
        for method, fn in (BASELINES.items() if baselines else ()):
            try:
                row[method] = float(fn(ref_track, att_track))
            except ValueError:
                row[method] = np.nan
        try:
            m = match_features(ref_fs, att_fs)
        except ValueError:
            rows.append(row | {"distance": np.nan})
            continue
        rows.append(row | _describe_pair(m, ref_fs, att_fs))
        if progress and (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(pairs)} pairs", flush=True)
    return pd.DataFrame(rows)


def _mean_square_along_path(match) -> tuple[np.ndarray, np.ndarray]:
    """Per feature of the match, the mean squared difference along its path (scaled units, NaN where the
    feature has no finite pair) and the feature's weight in the distance
    (:func:`lab.features.scale.scale_features`)."""
    from lab.features.scale import scale_features

    x, w = scale_features(match.reference)
    y, _ = scale_features(match.attempt)
    path = match.alignment.path
    d2 = (x[path[:, 0]] - y[path[:, 1]]) ** 2
    ok = np.isfinite(d2)
    per = np.where(ok, d2, 0.0).sum(0) / np.maximum(ok.sum(0), 1)
    per[~ok.any(0)] = np.nan
    return per, w


def _describe_pair(match, reference, attempt) -> dict:
    """A calibration row's match columns: :func:`lab.score.compare.describe_match`, ``mirrored``, the
    distance split by kind and by joint (the squared differences along the path computed once), ``tried``."""
    from lab.score.compare import describe_match

    split = _mean_square_along_path(match)
    return (describe_match(match, reference, attempt) | {"mirrored": bool(match.mirrored)}
            | measure_distance_by_kind(match, split=split) | measure_distance_by_joint(match, split=split)
            | {"tried": json.dumps(match.tried)})


def measure_distance_by_kind(match, *, split=None) -> dict[str, float]:
    """The match's distance split by feature kind: ``{kind}_distance`` = the weighted RMS difference of that
    kind's features along the path (degree-equivalents), NaN where the kind has no finite pair. ``split``:
    :func:`_mean_square_along_path` of the match, if already computed."""
    per, w = split if split is not None else _mean_square_along_path(match)
    out = {}
    for kind in ("angle", "position", "velocity"):
        cols = [i for i, n in enumerate(match.reference.names) if match.reference.kind(n) == kind]
        has = [i for i in cols if np.isfinite(per[i])]
        out[f"{kind}_distance"] = (float(np.sqrt(np.sum(w[has] * per[has]) / np.sum(w[has])))
                                   if has else float("nan"))
    return out


#: Column prefix of :func:`measure_distance_by_joint`'s columns.
JOINT_DISTANCE_PREFIX = "joint_distance:"


def measure_distance_by_joint(match, *, split=None) -> dict[str, float]:
    """The match's distance split by feature, both sides together: ``joint_distance:{feature}`` = the RMS
    difference along the path of that feature on the left and the right (``knee``: both knees' angles,
    ``pos:wrist:y``: both wrists' heights; degree-equivalents), NaN where neither side has a finite pair.
    Features outside the distance (the travel) are left out. Sides are pooled so that a mirrored match and
    a left-handed player weigh alike. ``split``: as for :func:`measure_distance_by_kind`."""
    from lab.pose.sides import unsided

    per, w = split if split is not None else _mean_square_along_path(match)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(match.reference.names):
        if w[i] > 0:
            groups.setdefault(unsided(name), []).append(i)
    out = {}
    for name, idx in groups.items():
        vals = per[idx][np.isfinite(per[idx])]
        out[JOINT_DISTANCE_PREFIX + name] = float(np.sqrt(vals.mean())) if len(vals) else float("nan")
    return out


def measure_calibration_pairs_cached(**params):
    """:func:`measure_calibration_pairs`, cached by its parameters, the mocap files and the stages' source."""
    import pandas as pd

    from lab.io import atomic_path, cache_dir, source_digest
    from lab.score.detectability import locate_shared_data

    h = hashlib.sha256(json.dumps(sorted((k, v) for k, v in params.items() if k != "progress"),
                                  default=str).encode())
    # every stage a distance depends on (not the verdict model fitted on them)
    h.update(source_digest("pose", "lift", "features", "align", "dtw", "score/compare", "score/uncertainty",
                           "score/baselines", "score/detectability", "score/calibration_pairs").encode())
    h.update((Path(__file__).parent / "uncertainty.json").read_bytes())
    for sub in ("bandai_d1", "cmu_bvh"):
        for f in sorted((locate_shared_data() / sub).glob("*.bvh")):
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    path = cache_dir() / "experiments" / f"calibration_pairs_{h.hexdigest()[:32]}.parquet"
    if path.exists():
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError):
            pass
    df = measure_calibration_pairs(**params)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return df


def measure_sample_pairs(*, baselines: bool = True):
    """The real-footage pairs of the samples, compared as :func:`measure_calibration_pairs` compares.

    Same (motion "balance"): every Pose2Sim cross-view pair, also with the
    attempt at 30 fps (every other frame) and slowed down 1.25x. Different:
    each Pose2Sim view against the Sports2D clip and its 2.5 s segments (motion
    "jumping jacks"), both orders. ``gap_deg`` is NaN (the views' true gap is
    not used); ``near_twin`` False.
    """
    import pandas as pd

    from lab.score.baselines import BASELINES
    from lab.score.compare import match_features, prepare_features
    from lab.score.experiments import Pair, decimate, load_sample_tracks, real_pairs

    tracks = load_sample_tracks()
    pairs, allt = real_pairs(tracks)
    views = [k for k in sorted(tracks) if k.startswith("cam")]
    for a, b in itertools.combinations(views, 2):
        allt[f"{b}@30fps"] = decimate(tracks[b], 2)
        st = tracks[b].replace(time_s=tracks[b].time_s * 1.25, meta={**tracks[b].meta, "fps": tracks[b].fps / 1.25})
        allt[f"{b}x1.25"] = st
        pairs += [Pair(a, f"{b}@30fps", True, "pose2sim cross-view 60/30 fps"),
                  Pair(a, f"{b}x1.25", True, "pose2sim cross-view time-stretched")]
    feats = {}
    rows = []
    for p in pairs:
        for n in (p.reference, p.attempt):
            if n not in feats:
                feats[n] = prepare_features(allt[n])
        motions = ["balance" if n.startswith("cam") else "jumping jacks" for n in (p.reference, p.attempt)]
        row = {"gap_deg": np.nan, "reference": p.reference, "attempt": p.attempt, "reference_motion": motions[0],
               "attempt_motion": motions[1], "same": p.same, "near_twin": False, "group": p.group,
               "reference_s": float(np.ptp(allt[p.reference].time_s)),
               "attempt_s": float(np.ptp(allt[p.attempt].time_s))}
        for method, fn in (BASELINES.items() if baselines else ()):
            try:
                row[method] = float(fn(allt[p.reference], allt[p.attempt]))
            except ValueError:
                row[method] = np.nan
        try:
            m = match_features(feats[p.reference], feats[p.attempt])
        except ValueError:
            rows.append(row | {"distance": np.nan})
            continue
        rows.append(row | _describe_pair(m, feats[p.reference], feats[p.attempt]))
    return pd.DataFrame(rows)
