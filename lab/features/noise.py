"""How much each feature disagrees with motion-capture truth: the per-feature noise that weights comparisons.

The shipped table ``noise.json`` was measured by :func:`estimate_feature_noise`
on the four Pose2Sim sample views (MediaPipe "full" model, lifted with
:mod:`lab.lift`) against the triangulated TRC ground truth of the same 100
frames: per feature, the RMS difference over frames, then the median over the
four views, in degree-equivalents (see :func:`lab.features.scale.scale_features`).
Regenerate with ``python -m lab.features.noise`` (needs ``../shared``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lab.features.angles import compute_features
from lab.features.scale import NOISE_FILE, scale_features
from lab.pose.track import PoseTrack


def estimate_feature_noise(views: list[PoseTrack], truth: PoseTrack, *, lift: bool = True) -> dict[str, float]:
    """Per-feature RMS difference between video tracks and simultaneous mocap truth.

    Parameters
    ----------
    views : list of PoseTrack
        Frame ``camera`` tracks whose frame i is the truth's frame i.
    truth : PoseTrack
        Frame ``lab`` mocap of the same frames.

    Returns
    -------
    dict
        feature name -> median over views of the RMS difference over frames
        (degree-equivalents).
    """
    g = compute_features(truth, lift=lift)
    G, _ = scale_features(g)
    errs = []
    for v in views:
        f = compute_features(v, lift=lift)
        if f.names != g.names or len(f.time_s) != len(g.time_s):
            raise ValueError("views and truth must have the same frames and features")
        F, _ = scale_features(f)
        with np.errstate(invalid="ignore"):
            errs.append(np.sqrt(np.nanmean((F - G) ** 2, axis=0)))
    med = np.nanmedian(np.array(errs), axis=0)
    return {n: round(float(s), 3) for n, s in zip(g.names, med) if np.isfinite(s)}


def _main() -> None:  # pragma: no cover - regeneration script
    import os
    import sys

    from lab.pose.extract import extract_pose_cached
    from lab.pose.mocap import read_trc
    from lab.samples import ensure_samples, project_root, sample_path

    root = project_root() or Path.cwd()
    trc = root / ".." / "shared" / "data" / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc"
    if not trc.exists():
        sys.exit(f"needs {trc}")
    ensure_samples()
    views = [extract_pose_cached(sample_path(f"pose2sim/cam0{i}.mp4"), progress=False) for i in range(1, 5)]
    noise = estimate_feature_noise(views, read_trc(trc), lift=True)
    out = {"provenance": "lab.features.noise.estimate_feature_noise: Pose2Sim cam01-04 (MediaPipe full, "
                         "lab.lift) vs S00_P00_T01_BalancingTrial TRC truth; median over views of per-frame "
                         "RMS difference, degree-equivalents",
           "noise": noise}
    NOISE_FILE.write_text(json.dumps(out, indent=1) + "\n")
    print(NOISE_FILE, len(noise), "features", os.linesep.join(f"{k} {v}" for k, v in noise.items()))


if __name__ == "__main__":  # pragma: no cover
    _main()
