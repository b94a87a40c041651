"""Which drill is this? 1-nearest-neighbour over the comparison distance."""

from __future__ import annotations

from typing import Any

from lab.pose.track import PoseTrack


def classify_track(track: PoseTrack, references: dict[str, PoseTrack], *, mirror: str = "auto",
                   rate_hz: float = 30.0, window_s: float | None = 0.3,
                   threshold: float | None = None) -> dict[str, Any]:
    """Label ``track`` with the name of its nearest reference (1-NN).

    Parameters
    ----------
    track : PoseTrack
    references : dict
        label -> reference track (one clip per drill).
    mirror, rate_hz, window_s
        As :func:`lab.score.compare.compare_tracks`.
    threshold : float, optional
        If the nearest distance is above it, ``verdict`` says "none of the references".

    Returns
    -------
    dict
        ``label``, ``distance``, ``mirrored``, ``verdict`` and ``ranking`` (list of
        ``reference``, ``distance``, ``mirrored``, nearest first).
    """
    from lab.score.compare import default_threshold, distance_between, prepare_features

    if not references:
        raise ValueError("classify needs at least one reference")
    thr = default_threshold()[0] if threshold is None else threshold
    fs = prepare_features(track)
    ranking = []
    for label, ref in references.items():
        d, m, _ = distance_between(prepare_features(ref), fs, rate_hz=rate_hz,
                                   window_s=window_s, mirror=mirror)
        ranking.append({"reference": label, "distance": round(float(d), 4), "mirrored": bool(m)})
    ranking.sort(key=lambda r: r["distance"])
    best = ranking[0]
    verdict = "matches" if best["distance"] <= thr else "none of the references is close (nearest shown)"
    return {"label": best["reference"], "distance": best["distance"], "mirrored": best["mirrored"],
            "threshold": thr, "verdict": verdict, "ranking": ranking}
