"""Repetitions: find each repetition of the coach's movement in a clip, and judge each one."""

from lab.reps.segment import (
    Repetition,
    cut_features,
    find_motif,
    find_repetitions,
    self_similarity,
    typical_repetition,
)

__all__ = ["Repetition", "cut_features", "find_motif", "find_repetitions", "self_similarity", "typical_repetition"]
