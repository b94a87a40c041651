"""Live comparison: a pose stream (camera or video played in real time) against a coach's stored drill.

:class:`LiveComparison` takes one pose frame at a time and says where in the
drill the player is, the running score, at most one cue and each completed
repetition; :func:`run_live` feeds it from a camera, a video file or the live
page in a browser (:mod:`lab.live.browser`) and, when the stream ends, analyses
the recorded poses as ``lab compare`` would.
"""

from lab.live.compare import LiveComparison, LiveCue, LiveRepetition, LiveUpdate, prepare_live_reference

__all__ = ["LiveComparison", "LiveCue", "LiveRepetition", "LiveUpdate", "prepare_live_reference"]
