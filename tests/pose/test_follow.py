"""Following one of several people with MediaPipe's tracker plus a few checks (known answers).

:func:`lab.pose.extract.find_tracker_mistakes` is given per-frame tracker
output and a detector pass on some frames, built here by hand: the frames it
must send back for detecting everyone on every frame are known in advance.
"""

import numpy as np

from lab.pose.extract import find_tracker_mistakes

W, H = 1920, 1080


def person(cx: float, cy: float = 500.0, size: float = 400.0):
    """One candidate as the landmarker gives it: 33 landmarks spread over a ``size``-pixel box around (cx, cy)."""
    rng = np.random.default_rng(int(cx))
    img = np.column_stack([cx + rng.uniform(-0.3, 0.3, 33) * size, cy + rng.uniform(-0.6, 0.6, 33) * size])
    img[[11, 12, 23, 24]] = [[cx - 40, cy - 100], [cx + 40, cy - 100], [cx - 30, cy + 60], [cx + 30, cy + 60]]
    zeros = np.zeros(33)
    return img, zeros, np.zeros((33, 3)), zeros + 1, zeros + 1


A, B = 600.0, 1400.0  # where the followed person and a passer-by stand (x, pixels)
TIMES = [i / 30 for i in range(61)]  # 2 s at 30 fps, checked every 0.5 s: frames 0, 15, 30, 45, 60
CHECKED = [0, 15, 30, 45, 60]


def run(tracker_x, found_x):
    """``tracker_x[f]``: x of the tracker's person (None: nobody); ``found_x[f]``: the detector's people on checked frames."""
    cands = [[person(x)] if x is not None else [] for x in tracker_x]
    checks = {TIMES[f]: [person(x) for x in found_x.get(f, [])] for f in CHECKED}
    return find_tracker_mistakes(TIMES, cands, checks, width=W, height=H)


def test_tracker_on_the_followed_person_throughout_needs_nothing_redone():
    assert run([A] * 61, {f: [A, B] for f in CHECKED}) == []


def test_a_detector_that_misses_the_followed_person_is_not_a_mistake():
    # the detector finds only the passer-by, the tracker keeps hold of the man: nothing to redo
    assert run([A] * 61, {0: [A, B], 15: [B], 30: [B], 45: [A, B], 60: [B]}) == []


def test_a_tracker_that_jumps_to_someone_else_is_redone_from_the_last_good_check():
    # between frames 15 and 30 the tracker slides onto the passer-by and stays there
    tracker = [A] * 20 + [B] * 41
    spans = run(tracker, {f: [A, B] for f in CHECKED})
    assert spans == [(15, 60)]


def test_a_tracker_that_lets_go_while_the_followed_person_is_still_there_is_redone():
    # the detector misses the man at frame 30 while the tracker has switched to the passer-by
    tracker = [A] * 20 + [B] * 41
    spans = run(tracker, {0: [A, B], 15: [A, B], 30: [B], 45: [A, B], 60: [A, B]})
    assert spans == [(15, 60)]


def test_a_person_the_detector_sees_but_the_tracker_lost_is_redone():
    tracker = [A] * 25 + [None] * 36
    assert run(tracker, {f: [A] for f in CHECKED}) == [(15, 60)]


def test_one_re_detection_between_two_good_checks_is_trusted_two_are_not():
    once = [A] * 20 + [None] * 3 + [A] * 38  # lost and found again once between frames 15 and 30
    assert run(once, {f: [A, B] for f in CHECKED}) == []
    twice = [A] * 18 + [None] * 2 + [A] * 3 + [None] * 2 + [A] * 36  # whoever was held in 20-22 is checked nowhere
    assert run(twice, {f: [A, B] for f in CHECKED}) == [(15, 30)]


def test_a_chunk_seam_counts_as_a_re_detection():
    tracker = [A] * 18 + [None] * 2 + [A] * 41  # one re-detection in 15-30 ...
    checks = {f: [A, B] for f in CHECKED}
    cands = [[person(x)] if x is not None else [] for x in tracker]
    found = {TIMES[f]: [person(x) for x in checks[f]] for f in CHECKED}
    assert find_tracker_mistakes(TIMES, cands, found, width=W, height=H) == []
    # ... and another tracker taking over at frame 25 makes two
    assert find_tracker_mistakes(TIMES, cands, found, width=W, height=H, restarts=[25]) == [(15, 30)]


def test_nobody_anywhere_needs_nothing_redone_and_an_unchecked_clip_is_redone_whole():
    assert run([None] * 61, {}) == []
    cands = [[person(A)] for _ in TIMES]
    assert find_tracker_mistakes(TIMES, cands, {}, width=W, height=H) == [(0, 60)]


def test_at_the_start_the_followed_person_is_chosen_as_track_person_would():
    # the tracker starts on a small person at the edge; the rule picks the large, central one
    small_edge = 200.0
    cands = [[person(small_edge, size=150.0)] for _ in TIMES]
    checks = {TIMES[f]: [person(small_edge, size=150.0), person(960.0, size=400.0)] for f in CHECKED}
    spans = find_tracker_mistakes(TIMES, cands, checks, width=W, height=H)
    assert spans == [(0, 60)]
