"""The coach drawn over one frame of the player's (the live ghost): answers known in advance."""

import numpy as np
from synthetic_pose import standing

from lab.align.ghost import ghost_in_frame
from lab.pose.track import BLAZEPOSE_KEYPOINTS as KP


def _frame(turn_deg: float):
    """One synthetic pose: camera axes (origin mid-hip), its body-frame rotation and its pixels."""
    w = standing(T=1).world_m[0]
    rel = w - (w[KP.index("left_hip")] + w[KP.index("right_hip")]) / 2
    a = np.radians(turn_deg)
    R = np.array([[np.cos(a), 0, np.sin(a)], [0, -1, 0], [-np.sin(a), 0, np.cos(a)]])  # rows: body axes, camera axes
    img = 500 * rel[:, :2] + (400, 300)
    return rel, R, img


def test_the_coach_in_the_same_pose_lands_on_the_player():
    rel, R, img = _frame(30)
    body = rel @ R.T
    assert np.allclose(ghost_in_frame(body, rel, R, img, keypoints=KP), img, atol=1e-6)
    # a coach 1.5 times the player's size is drawn at the player's size
    assert np.allclose(ghost_in_frame(1.5 * body, rel, R, img, keypoints=KP), img, atol=1e-6)


def test_a_raised_wrist_is_drawn_raised_and_the_rest_stays_on_the_player():
    rel, R, img = _frame(-20)
    body = rel @ R.T
    lw = KP.index("left_wrist")
    coach = body.copy()
    coach[lw, 1] += 0.2  # 20 cm higher (body y is up)
    ghost = ghost_in_frame(coach, rel, R, img, keypoints=KP)
    assert np.allclose(np.delete(ghost, lw, 0), np.delete(img, lw, 0), atol=1e-6)
    assert np.allclose(ghost[lw], img[lw] + (0, -100), atol=1e-6)  # 0.2 m at 500 px/m, up the image


def test_too_few_landmarks_give_no_ghost():
    rel, R, img = _frame(0)
    img = img.copy()
    img[3:] = np.nan
    assert np.isnan(ghost_in_frame(rel @ R.T, rel, R, img, keypoints=KP)).all()
