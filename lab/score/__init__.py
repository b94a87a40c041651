"""Scores, verdicts and feedback for a reference/attempt comparison; threshold calibration."""

from lab.score.compare import (Comparison, compare_tracks, default_threshold, describe_difference,
                               distance_between, feedback_sentences, prepare_features,
                               score_from_distance)

__all__ = ["Comparison", "compare_tracks", "default_threshold", "describe_difference",
           "distance_between", "feedback_sentences", "prepare_features", "score_from_distance"]
