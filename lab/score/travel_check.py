"""How well the travel is measured: real footage against its motion capture.

``python -m lab.score.travel_check`` (needs ``../shared``) prints the README's
figures: the Pose2Sim views (MediaPipe, :func:`lab.features.travel.estimate_root_m`
from the pixels) against the TRC's own travel, per view and per pose model:
the clip's median travel (left, up, front) and the RMS of the per-frame
difference, in torso lengths per second.
"""

from __future__ import annotations

import numpy as np

from lab.features import compute_features
from lab.features.travel import TRAVEL_NAMES


def measure_travel_against_truth(views: dict, truth):
    """Per view: the median travel of the view and of the truth (torso lengths per second), and the RMS
    of their per-frame difference; a DataFrame. ``views`` name -> frame ``camera`` track whose frame i
    is ``truth``'s frame i (frame ``lab``)."""
    import pandas as pd

    g = compute_features(truth, travel=True).select(TRAVEL_NAMES).values
    rows = []
    for name, v in views.items():
        f = compute_features(v, travel=True).select(TRAVEL_NAMES).values
        if f.shape != g.shape:
            raise ValueError("views and truth must have the same frames")
        ok = np.isfinite(f).all(1) & np.isfinite(g).all(1)
        rows.append({"view": name, "frames": int(ok.sum()),
                     **{f"truth_{n[7:]}": float(np.median(g[ok, i])) for i, n in enumerate(TRAVEL_NAMES)},
                     **{f"seen_{n[7:]}": float(np.median(f[ok, i])) for i, n in enumerate(TRAVEL_NAMES)},
                     "rms_error": float(np.sqrt(np.mean(np.sum((f[ok] - g[ok]) ** 2, axis=1))))})
    return pd.DataFrame(rows)


def _main() -> None:  # pragma: no cover - the README's figures
    import pandas as pd

    from lab.pose.extract import extract_pose_cached
    from lab.pose.mocap import read_trc
    from lab.samples import ensure_samples, sample_path
    from lab.score.detectability import locate_shared_data

    trc = locate_shared_data() / "pose2sim_trc" / "S00_P00_T01_BalancingTrial_0-100.trc"
    ensure_samples()
    pd.set_option("display.width", 160)
    for model in ("full", "lite"):
        views = {f"cam0{i}": extract_pose_cached(sample_path(f"pose2sim/cam0{i}.mp4"), model=model, progress=False)
                 for i in range(1, 5)}
        print(f"Pose2Sim views ({model} model) against the TRC (torso lengths per second)")
        print(measure_travel_against_truth(views, read_trc(trc)).round(2).to_string(index=False))


if __name__ == "__main__":  # pragma: no cover
    _main()
