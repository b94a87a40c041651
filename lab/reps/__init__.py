"""Repetitions: find each repetition of the coach's movement in a clip, and judge each one."""

from lab.reps.judge import RepetitionReport, RepetitionResult, judge_repetitions, summarize_repetitions
from lab.reps.segment import (
    CAMERAS,
    NO_NOISE,
    MatchNoise,
    Repetition,
    cut_features,
    find_motif,
    find_repetitions,
    self_similarity,
    typical_repetition,
)

__all__ = ["CAMERAS", "NO_NOISE", "MatchNoise", "RepetitionReport", "RepetitionResult", "Repetition", "cut_features",
           "find_motif", "find_repetitions", "judge_repetitions", "self_similarity", "summarize_repetitions",
           "typical_repetition"]
