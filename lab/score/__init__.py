"""Scores, verdicts and feedback for a reference/attempt comparison; threshold calibration."""

from lab.score.compare import (
    ClipInfo,
    Comparison,
    Evidence,
    JointResult,
    ViewInfo,
    compare_features,
    compare_tracks,
    default_threshold,
    describe_clip,
    describe_difference,
    distance_between,
    estimate_clip_view,
    feedback_sentences,
    prepare_features,
    score_from_distance,
)

__all__ = ["ClipInfo", "Comparison", "Evidence", "JointResult", "ViewInfo", "compare_features", "compare_tracks",
           "default_threshold", "describe_clip", "describe_difference", "distance_between",
           "estimate_clip_view", "feedback_sentences", "prepare_features", "score_from_distance"]
