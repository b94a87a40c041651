"""Does the feedback find real differences, and stay silent without one? Measured with answers known in advance.

Motion capture (CMU in ``../shared/data/cmu_bvh``, Bandai-Namco dataset-1 in
``../shared/data/bandai_d1``) is filmed by synthetic cameras
(:func:`lab.align.synthetic.simulate_camera_track`) and given MediaPipe-like
errors (:func:`film_like_mediapipe`: the landmark noise model measured on the
Pose2Sim footage against its TRC, ``uncertainty.json``). The attempt is the
same recording seen from another camera (0, 90 or 180 degrees of azimuth from
the reference), either unchanged (a control pair: any sentence is a false
alarm) or with an elbow or a knee given more flexion during one phase
(:func:`add_flexion`): the changed joint should be named, on its own side,
within 0.3 s of the change, whenever its ``detectable_deg`` is below the
change.

``python -m lab.score.detectability`` runs the whole measurement (and the
Pose2Sim sentence counts) and prints the README's tables; the tests run a
few dozen pairs of it.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.score.uncertainty import film_like_mediapipe

#: Bandai-Namco joint names -> BlazePose landmarks (their ``_L`` is the subject's left). Their ``Head``
#: joint sits at the top of the neck, not at the nose: left out (the neck angle is not measured).
BANDAI_TO_BLAZEPOSE: dict[str, str] = {
    "UpperLeg_L": "left_hip", "LowerLeg_L": "left_knee", "Foot_L": "left_ankle", "Toes_L": "left_foot_index",
    "UpperLeg_R": "right_hip", "LowerLeg_R": "right_knee", "Foot_R": "right_ankle", "Toes_R": "right_foot_index",
    "UpperArm_L": "left_shoulder", "LowerArm_L": "left_elbow", "Hand_L": "left_wrist",
    "UpperArm_R": "right_shoulder", "LowerArm_R": "right_elbow", "Hand_R": "right_wrist",
}

#: Bandai-Namco takes used by the full measurement (content_style_take), varied movements.
BANDAI_TAKES: tuple[str, ...] = ("bow_normal_001", "byebye_normal_001", "guide_normal_001", "kick_normal_001",
                                 "punch_normal_002", "dance-short_normal_001", "slash_normal_001")

#: Bandai-Namco takes the synthetic error models are fitted on (:func:`fit_synthetic_error_model`): none of
#: them is filmed by the suite (other contents, or other styles of its contents).
TRAINING_TAKES: tuple[str, ...] = ("bye_active_001", "bye_happy_001", "walk-left_normal_001", "walk-right_normal_001",
                                   "bow_angry_001", "guide_tired_001", "byebye_old_001", "slash_normal_002")

#: Joints whose flexion is changed, and the landmarks that move with the distal segment.
FLEXION_JOINTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist", ("left_pinky", "left_index", "left_thumb")),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist", ("right_pinky", "right_index", "right_thumb")),
    "left_knee": ("left_hip", "left_knee", "left_ankle", ("left_heel", "left_foot_index")),
    "right_knee": ("right_hip", "right_knee", "right_ankle", ("right_heel", "right_foot_index")),
}

def locate_shared_data() -> Path:
    """``../shared/data`` beside the checkout (may not exist)."""
    from lab.samples import project_root

    return ((project_root() or Path.cwd()) / ".." / "shared" / "data").resolve()


# ------------------------------------------------------------------ motion capture
def read_bandai_bvh(path: str | Path) -> PoseTrack:
    """A Bandai-Namco dataset-1 take as a frame ``lab`` track (metres, Y up, times from 0).

    In these files each joint's per-frame position channels replace its
    OFFSET (adding both, as BVH readers do, doubles the bones), so the
    offsets of joints with position channels are zeroed in a temporary copy
    before :func:`lab.pose.mocap.read_bvh_joints`; centimetres.
    """
    from lab.pose.mocap import read_bvh_joints

    lines = Path(path).read_text(errors="replace").splitlines()
    out = list(lines)
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1].split()
        if line.strip().upper().startswith("OFFSET") and nxt and nxt[0].upper() == "CHANNELS" \
                and any(t.lower().endswith("position") for t in nxt[2:]):
            out[i] = line[:len(line) - len(line.lstrip())] + "OFFSET 0 0 0"
    with tempfile.TemporaryDirectory() as tmp:
        fixed = Path(tmp) / Path(path).name
        fixed.write_text("\n".join(out) + "\n")
        names, time_s, pos, rate = read_bvh_joints(fixed)
    world = np.full((len(time_s), len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    for name, bp in BANDAI_TO_BLAZEPOSE.items():
        if name in names:
            world[:, BLAZEPOSE_KEYPOINTS.index(bp)] = pos[:, names.index(name)] * 0.01
    return PoseTrack(time_s=time_s - time_s[0], keypoints=BLAZEPOSE_KEYPOINTS, world_m=world, frame="lab",
                     meta={"source": str(path), "fps": rate, "model": "mocap:bvh (Bandai-Namco)"})


def cut_window(track: PoseTrack, *, duration_s: float) -> PoseTrack:
    """The middle ``duration_s`` of a track (all of it when shorter), times from 0."""
    t = track.time_s - track.time_s[0]
    if t[-1] > duration_s:
        start = (t[-1] - duration_s) / 2
        track = track.select_frames(np.flatnonzero((t >= start) & (t <= start + duration_s)))
    return track.replace(time_s=track.time_s - track.time_s[0])


def decimate_to(track: PoseTrack, *, rate_hz: float) -> PoseTrack:
    """Every n-th frame so the rate is at most about ``rate_hz`` (a 120 Hz capture -> 30 Hz)."""
    step = max(1, int(round(track.fps / rate_hz)))
    if step == 1:
        return track
    out = track.select_frames(np.arange(0, track.n_frames, step))
    return out.replace(meta={**out.meta, "fps": track.fps / step})


def load_suite_motions(*, cmu: bool = True, bandai: tuple[str, ...] = BANDAI_TAKES,
                       duration_s: float = 6.0) -> dict[str, PoseTrack]:
    """The motion capture the suite films: CMU 131_01-03 and the named Bandai-Namco takes, at 30 Hz,
    the middle ``duration_s`` of each. Missing files are left out."""
    from lab.pose.mocap import read_bvh

    d = locate_shared_data()
    out = {}
    if cmu:
        for n in ("131_01", "131_02", "131_03"):
            p = d / "cmu_bvh" / f"{n}.bvh"
            if p.exists():
                out[f"cmu {n}"] = cut_window(decimate_to(read_bvh(p), rate_hz=30.0), duration_s=duration_s)
    for take in bandai:
        p = d / "bandai_d1" / f"dataset-1_{take}.bvh"
        if p.exists():
            out[f"bandai {take}"] = cut_window(decimate_to(read_bandai_bvh(p), rate_hz=30.0), duration_s=duration_s)
    return out


# ------------------------------------------------------------------ injected changes
def _rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rodrigues: rotate vectors v (T, 3) about unit axes (T, 3) by angles (T,)."""
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    return v * c + np.cross(axis, v) * s + axis * np.sum(axis * v, -1, keepdims=True) * (1 - c)


def add_flexion(track: PoseTrack, joint: str, *, extra_deg: float, start_s: float, stop_s: float,
                ramp_s: float = 0.15) -> PoseTrack:
    """``track`` (frame ``lab`` or ``body``) with ``joint`` (an elbow or a knee) bent ``extra_deg`` more
    between ``start_s`` and ``stop_s`` (seconds from the first frame).

    The distal segment (forearm and hand, or shank and foot) turns about the
    joint in the limb's own plane, so bone lengths are kept and the joint's
    flexion (:mod:`lab.features.angles`) grows by exactly ``extra_deg`` (less
    where the limb would fold beyond 5 degrees of inner angle); the change
    ramps in and out over ``ramp_s`` (raised cosine) inside the window. A
    nearly straight limb bends the anatomical way: the shank backwards, the
    forearm forwards (about the hips' left-right axis).
    """
    a_name, b_name, c_name, followers = FLEXION_JOINTS[joint]
    t = track.time_s - track.time_s[0]
    w = np.zeros_like(t)
    inside = (t >= start_s) & (t <= stop_s)
    ramp = max(min(ramp_s, (stop_s - start_s) / 2), 1e-6)
    up = np.clip((t - start_s) / ramp, 0, 1)
    down = np.clip((stop_s - t) / ramp, 0, 1)
    w[inside] = (0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down)))[inside]
    W = np.array(track.world_m, copy=True)
    k = track.index
    a, b, c = W[:, k(a_name)], W[:, k(b_name)], W[:, k(c_name)]
    u, v = a - b, c - b
    inner = np.degrees(np.arccos(np.clip(np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1)),
                                         -1, 1)))
    delta = np.radians(np.minimum(extra_deg * w, np.maximum(inner - 5.0, 0.0)))
    axis = np.cross(v, u)
    n = np.linalg.norm(axis, axis=-1, keepdims=True)
    left = W[:, k("left_hip")] - W[:, k("right_hip")]
    left = left / np.linalg.norm(left, axis=-1, keepdims=True)
    fallback = left if "knee" in joint else -left
    straight = (n[:, 0] < np.sin(np.radians(10.0)) * np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        axis = np.where(straight[:, None], fallback, axis / n)
    moving = delta != 0
    for name in (c_name,) + followers:
        if name in track.keypoints:
            p = W[:, k(name)] - b
            W[moving, k(name)] = b[moving] + _rotate(p[moving], axis[moving], delta[moving])
    return track.replace(world_m=W, meta={**track.meta, "injected": {"joint": joint, "extra_deg": extra_deg,
                                                                     "start_s": start_s, "stop_s": stop_s}})




# ------------------------------------------------------------------ the suite
#: A sentence about a flexion change: side, joint, amount, direction and time on the coach's clip.
_SENTENCE = re.compile(r"^(Left|Right) (elbow|knee) bends (\d+) degrees (more|less) than the coach at ([-\d.]+) s")


def find_reported_change(feedback: list[str], *, joint: str, start_s: float, stop_s: float,
                         tolerance_s: float = 0.3) -> bool:
    """True when a sentence says ``joint`` (the player's own side) bends more, timed within
    ``tolerance_s`` of the change (``start_s`` to ``stop_s`` on the coach's clip)."""
    side, name = joint.split("_", 1)
    for text in feedback:
        m = _SENTENCE.match(text)
        if m and m[1].lower() == side and m[2] == name and m[4] == "more" \
                and start_s - tolerance_s <= float(m[5]) <= stop_s + tolerance_s:
            return True
    return False


def fit_synthetic_error_model(*, noise_factor: float, takes: tuple[str, ...] = TRAINING_TAKES,
                              azimuths_deg: tuple[float, ...] = (-45.0, 0.0, 125.0, -160.0)):
    """The joint-angle error model (:func:`lab.score.uncertainty.fit_angle_error_model`) for
    ``noise_factor`` times the suite's MediaPipe-like noise: what the comparison should assume for a pose
    estimator that much better than MediaPipe.

    Fitted on synthetic views (at the Pose2Sim cameras' azimuths) of the Pose2Sim TRC and of the Bandai-Namco
    ``takes`` (:data:`TRAINING_TAKES`, none of them in the suite), each against its own motion capture.
    """
    import pandas as pd

    from lab.pose.mocap import read_trc
    from lab.score.uncertainty import fit_angle_error_model, load_landmark_noise, measure_angle_errors

    d = locate_shared_data()
    truths = {"pose2sim": read_trc(d / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc")}
    for take in takes:
        p = d / "bandai_d1" / f"dataset-1_{take}.bvh"
        if p.exists():
            truths[take] = cut_window(decimate_to(read_bandai_bvh(p), rate_hz=30.0), duration_s=6.0)
    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0)) * noise_factor
    errors = []
    for m, (name, truth) in enumerate(truths.items()):
        views = {f"{name}@{az:g}": film_like_mediapipe(truth, azimuth_deg=az, seed=3000 + 10 * m + i,
                                                       noise_scale=scale)
                 for i, az in enumerate(azimuths_deg)}
        azimuths = {n: float(n.rsplit("@", 1)[1]) for n in views}
        errors.append(measure_angle_errors(views, truth, azimuths_deg=azimuths).assign(motion=name))
    errors = pd.concat(errors, ignore_index=True)
    # the systematic part is per motion: remove each motion's mean error over its views first
    errors["error_deg"] -= errors.groupby(["motion", "joint"])["error_deg"].transform("mean")
    # calibrated on the far tail: a comparison tests 14 joints x 4 phases at once
    return fit_angle_error_model(errors, use_view=True, tail_quantile=0.999)


@dataclasses.dataclass(frozen=True)
class SuiteSettings:
    """One run of the injected-change suite.

    Attributes
    ----------
    gaps_deg : azimuth between the reference camera and the attempt's
    joints : joints whose flexion is changed (:data:`FLEXION_JOINTS`)
    changes_deg : extra flexion injected
    controls : unchanged pairs per motion and gap (different noise seeds)
    noise_factor : times the suite's MediaPipe-like noise (1 = like MediaPipe)
    n_phases : phases of the comparison; the change fills one of them (the 2nd or 3rd, alternately)
    """

    gaps_deg: tuple[float, ...] = (0.0, 90.0, 180.0)
    joints: tuple[str, ...] = tuple(FLEXION_JOINTS)
    changes_deg: tuple[float, ...] = (20.0, 30.0)
    controls: int = 2
    noise_factor: float = 1.0
    n_phases: int = 4


def run_injected_suite(motions: dict[str, PoseTrack], *, settings: SuiteSettings = SuiteSettings(),
                       error_model=None, progress: bool = False):
    """Compare every motion's reference view with unchanged and changed attempts from other cameras.

    Parameters
    ----------
    motions : dict name -> PoseTrack
        Frame ``lab`` (:func:`load_suite_motions`), times from 0.
    settings : SuiteSettings
    error_model : AngleErrorModel, optional
        What the comparison assumes about the angles' errors (default the shipped one; see
        :func:`fit_synthetic_error_model` for a better pose estimator).
    progress : bool
        Print one line per motion.

    Returns
    -------
    DataFrame
        One row per pair: ``motion, gap_deg, joint`` (None for a control), ``extra_deg, start_s, stop_s,
        verdict, distance, mirrored, sentences, feedback, detectable_deg`` (of the changed joint, the
        player's own), ``change_deg`` (how much the motion capture's own angle of that joint changed, on
        average over the window: less than ``extra_deg`` where the limb could not fold further),
        ``qualifies`` (detectable below that change, and the joint one these cameras can judge:
        :data:`lab.score.compare.JUDGEABLE_MAX_DEG`), ``hit``, ``other_sentences``.
    """
    import pandas as pd

    from lab.features import compute_features
    from lab.score.compare import compare_tracks
    from lab.score.uncertainty import load_landmark_noise

    def flexion(track):
        return compute_features(track, lift=True, positions=False, velocities=False)

    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0)) * settings.noise_factor
    rows = []
    for i, (name, mocap) in enumerate(motions.items()):
        seed = zlib.crc32(name.encode()) % 10_000
        base = float(seed % 360)
        dur = float(mocap.time_s[-1] - mocap.time_s[0])
        p = 2 + i % 2
        start, stop = dur * (p - 1) / settings.n_phases, dur * p / settings.n_phases
        # each change made once per motion, with how much the motion capture's own angle changed
        changed, change_deg = {}, {}
        if settings.joints:
            truth = flexion(mocap)
            inside = (truth.time_s - truth.time_s[0] >= start) & (truth.time_s - truth.time_s[0] <= stop)
            for j in settings.joints:
                col = truth.names.index(j)
                for d in settings.changes_deg:
                    changed[j, d] = add_flexion(mocap, j, extra_deg=d, start_s=start, stop_s=stop)
                    change_deg[j, d] = float(np.nanmean(flexion(changed[j, d]).values[inside, col]
                                                        - truth.values[inside, col]))
        for g, gap in enumerate(settings.gaps_deg):
            ref = film_like_mediapipe(mocap, azimuth_deg=base, seed=seed + 100 * g, noise_scale=scale)
            cases = [(None, 0.0, c) for c in range(settings.controls)]
            cases += [(j, d, 0) for j in settings.joints for d in settings.changes_deg]
            for joint, extra, k in cases:
                src = mocap if joint is None else changed[joint, extra]
                att = film_like_mediapipe(src, azimuth_deg=base + gap, seed=seed + 100 * g + 1 + k, noise_scale=scale)
                try:
                    c = compare_tracks(ref, att, n_phases=settings.n_phases, error_model=error_model)
                except ValueError as exc:
                    rows.append({"motion": name, "gap_deg": gap, "joint": joint, "extra_deg": extra,
                                 "verdict": f"failed: {exc}"})
                    continue
                det, other, change = None, len(c.feedback), None
                hit = qualifies = False
                if joint is not None:
                    jr = next(j for j in c.joints if j.attempt_joint == joint)
                    det, change = jr.detectable_deg, change_deg[joint, extra]
                    qualifies = bool(det is not None and det < change and jr.can_judge)
                    hit = find_reported_change(c.feedback, joint=joint, start_s=start, stop_s=stop)
                    side, kind = joint.split("_", 1)
                    other = sum(not t.lower().startswith(f"{side} {kind}") for t in c.feedback)
                rows.append({"motion": name, "gap_deg": gap, "joint": joint, "extra_deg": extra,
                             "start_s": start, "stop_s": stop, "verdict": c.verdict, "distance": c.distance,
                             "mirrored": c.mirrored, "sentences": len(c.feedback), "feedback": list(c.feedback),
                             "detectable_deg": det, "change_deg": change, "qualifies": qualifies,
                             "hit": hit, "other_sentences": other})
        if progress:
            print(f"  {name}: {len(rows)} pairs", flush=True)
    return pd.DataFrame(rows)


def summarize_suite(results) -> dict[str, Any]:
    """Hit rate, false-alarm rate and median ``detectable_deg`` per joint and view gap.

    Returns
    -------
    dict
        ``hit_rate`` (hits / changed pairs whose detectable_deg is below the change), ``qualifying``
        (their number), ``changed`` (all changed pairs), ``false_alarm_rate`` (controls with any
        sentence / controls), ``controls``, ``same_verdicts`` (share of pairs judged "same"),
        ``hit_rate_all`` (hits / all changed pairs), ``hit_rate_ci95`` and ``false_alarm_ci95``
        (:func:`estimate_binomial_interval`), and ``detectable`` (DataFrame: median detectable_deg per
        joint and gap; empty for a suite of controls alone).
    """
    import pandas as pd

    ok = results[~results["verdict"].astype(str).str.startswith("failed")]
    ctrl = ok[ok["joint"].isna()]
    chg = ok[ok["joint"].notna()]
    q = chg[chg["qualifies"].astype(bool)] if len(chg) else chg
    det = (chg.pivot_table(index="joint", columns="gap_deg", values="detectable_deg", aggfunc="median")
           if len(chg) else pd.DataFrame())
    alarms = int((ctrl["sentences"] > 0).sum()) if len(ctrl) else 0
    hits = int(q["hit"].sum()) if len(q) else 0
    return {"hit_rate": hits / len(q) if len(q) else float("nan"), "qualifying": int(len(q)),
            "hit_rate_ci95": estimate_binomial_interval(hits, len(q)),
            "changed": int(len(chg)), "hit_rate_all": float(chg["hit"].mean()) if len(chg) else float("nan"),
            "false_alarm_rate": alarms / len(ctrl) if len(ctrl) else float("nan"),
            "false_alarm_ci95": estimate_binomial_interval(alarms, len(ctrl)),
            "controls": int(len(ctrl)), "same_verdicts": float((ok["verdict"] == "same").mean()),
            "failed": int(len(results) - len(ok)), "detectable": det}


def estimate_binomial_interval(successes: int, trials: int, *, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a rate seen as ``successes`` of ``trials`` (NaN, NaN without trials)."""
    from scipy.stats import beta

    if trials <= 0:
        return (float("nan"), float("nan"))
    a = (1.0 - level) / 2
    low = float(beta.ppf(a, successes, trials - successes + 1)) if successes > 0 else 0.0
    high = float(beta.ppf(1 - a, successes + 1, trials - successes)) if successes < trials else 1.0
    return (round(low, 4), round(high, 4))


# ------------------------------------------------------------------ real footage and depth refinement
def count_pose2sim_sentences(*, error_model=None):
    """Sentences on the real sample footage: the six Pose2Sim cross-view pairs (one performance, every true
    difference zero) and each Pose2Sim view against the Sports2D clip (a different movement).

    Returns
    -------
    DataFrame
        One row per pair: ``reference, attempt, verdict, feedback`` (technique sentences), ``cannot_judge``,
        ``summary``, and ``detectable_deg`` (dict joint -> degrees).
    """
    import itertools

    import pandas as pd

    from lab.score.compare import compare_tracks
    from lab.score.experiments import load_sample_tracks

    tracks = load_sample_tracks()
    views = [f"cam0{i}" for i in range(1, 5)]
    pairs = list(itertools.combinations(views, 2)) + [(v, "sports2d") for v in views]
    rows = []
    for a, b in pairs:
        c = compare_tracks(tracks[a], tracks[b], error_model=error_model)
        rows.append({"reference": a, "attempt": b, "verdict": c.verdict, "feedback": len(c.feedback),
                     "cannot_judge": len(c.cannot_judge), "summary": c.summary,
                     "detectable_deg": {j.name: j.detectable_deg for j in c.joints}})
    return pd.DataFrame(rows)


def measure_depth_refinement():
    """Joint-angle error against the Pose2Sim TRC, per joint and view, with and without
    :func:`lab.lift.refine_depth`: the mean absolute error (degrees) of the 8 limb angles
    (:func:`lab.align.evaluate.evaluate_joint_angles`, as in the README) and of every feature angle.

    Returns
    -------
    DataFrame indexed by (method, view), one column per joint plus ``mean``.
    """
    import pandas as pd

    from lab.align.evaluate import evaluate_joint_angles
    from lab.lift import lift_track, refine_depth
    from lab.score.uncertainty import load_pose2sim_ground_truth, measure_angle_errors

    views, truth, _ = load_pose2sim_ground_truth()
    lifted = {n: lift_track(t) for n, t in views.items()}
    refined = {n: refine_depth(t) for n, t in lifted.items()}
    limbs = pd.concat({"lifted": evaluate_joint_angles(lifted, truth),
                       "refine_depth": evaluate_joint_angles(refined, truth)}, names=["method", "view"])
    every = []
    for label, refine in (("lifted", False), ("refine_depth", True)):
        e = measure_angle_errors(views, truth, refine=refine).assign(abs_deg=lambda d: d["error_deg"].abs())
        table = e.pivot_table(index="view", columns="joint", values="abs_deg", aggfunc="mean")
        table["mean"] = table.mean(axis=1)
        every.append(pd.concat({label: table}, names=["method", "view"]))
    return limbs, pd.concat(every)


def _markdown(df, *, digits: int = 1) -> str:
    return df.round(digits).to_markdown() if hasattr(df, "to_markdown") else df.round(digits).to_string()


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - measurement script
    import argparse
    import time

    import pandas as pd

    parser = argparse.ArgumentParser(prog="python -m lab.score.detectability",
                                     description="Measure the feedback against known answers: Pose2Sim sentences, "
                                                 "the injected-change suite, depth refinement.")
    parser.add_argument("--factors", default="1,0.5,0.25",
                        help="noise factors of the suite (1 = like MediaPipe, with the shipped error model; "
                             "others with an error model fitted on synthetic views at that noise)")
    parser.add_argument("--quick", action="store_true", help="three motions, one change size")
    parser.add_argument("--controls", type=int, default=SuiteSettings.controls,
                        help="unchanged pairs per motion and view gap (other noise seeds)")
    parser.add_argument("--changes", default="20,30",
                        help="comma list of injected flexions, degrees (empty: the controls only)")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: pose2sim,suite,depth")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    t0 = time.perf_counter()
    if "pose2sim" not in skip:
        real = count_pose2sim_sentences()
        print("## Pose2Sim sentences\n")
        print(real.drop(columns=["detectable_deg"]).to_string())
        det = pd.DataFrame(list(real["detectable_deg"]), index=real["reference"] + "-" + real["attempt"])
        print("\nmedian detectable_deg per joint (six same-performance pairs):")
        print(det.iloc[:6].median().round(0).to_string())
        print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
    if "suite" not in skip:
        motions = load_suite_motions()
        if args.quick:
            motions = dict(list(motions.items())[:3])
        motions = {k: v for k, v in motions.items() if v.time_s[-1] - v.time_s[0] >= 3.0}
        print(f"## Injected-change suite: {len(motions)} motions: {', '.join(motions)}\n")
        for f in (float(x) for x in args.factors.split(",")):
            model = None if f == 1.0 else fit_synthetic_error_model(noise_factor=f)
            changes = tuple(float(x) for x in args.changes.split(",") if x.strip())
            settings = SuiteSettings(noise_factor=f, changes_deg=(30.0,) if args.quick else changes,
                                     controls=args.controls, joints=SuiteSettings.joints if changes else ())
            res = run_injected_suite(motions, settings=settings, error_model=model)
            s = summarize_suite(res)
            print(f"### noise factor {f:g} ({'shipped model' if model is None else 'model fitted on synthetic views'})")
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items() if k != "detectable"})
            if not s["detectable"].empty:
                print("median detectable_deg (joint x view gap):")
                print(s["detectable"].round(0).to_string())
            by = res[res["joint"].notna()].groupby(["joint", "gap_deg"]).agg(
                hits=("hit", "sum"), pairs=("hit", "size"), qualifying=("qualifies", "sum"))
            print(by.to_string())
            fa = res[res["joint"].isna()]
            print("controls with a sentence:", [f for f in fa.loc[fa["sentences"] > 0, "feedback"]])
            print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
    if "depth" not in skip:
        limbs, every = measure_depth_refinement()
        print("## refine_depth: mean absolute joint-angle error against the TRC (degrees)\n")
        print(limbs.round(1).to_string())
        print(every.round(1).to_string())


if __name__ == "__main__":  # pragma: no cover
    _main()
