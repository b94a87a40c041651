"""Viewpoint estimation and re-projection with answers known in advance (synthetic cameras)."""

from __future__ import annotations

import numpy as np
import pytest

from lab.align import estimate_view, project_to_view
from lab.align.synthetic import simulate_camera_track, synthetic_body_track
from lab.lift import lift_track, wrap_deg

VIEWS = [(0, 10), (45, 15), (90, 5), (-60, 20), (135, 10), (180, 25), (-150, 0), (-100, 35)]


@pytest.mark.parametrize("az,el", VIEWS)
def test_known_camera_gives_its_angles_back(az, el):
    body = synthetic_body_track(n_frames=60)
    cam = simulate_camera_track(body, azimuth_deg=az, elevation_deg=el, distance_m=3.5)
    view = estimate_view(cam)
    assert abs(wrap_deg(view.azimuth_deg - az)) < 1.5
    assert abs(view.elevation_deg - el) < 1.5
    assert abs(view.distance_m - 3.5) < 0.1
    assert view.spread_deg < 1.0 and not view.ambiguous
    assert np.nanmedian(view.reprojection_px) < 1.0


def test_camera_roll_and_other_intrinsics_do_not_matter():
    body = synthetic_body_track(n_frames=40)
    cam = simulate_camera_track(body, azimuth_deg=70, elevation_deg=15, distance_m=5, width=1920,
                                height=1080, fov_deg=50, roll_deg=12)
    from lab.align.calibration import Camera, intrinsics_from_fov
    K = intrinsics_from_fov(1920, 1080, fov_deg=50)
    view = estimate_view(cam, camera=Camera(K=K, dist=np.zeros(5), R=np.eye(3), t=np.zeros(3),
                                            width=1920, height=1080))
    assert abs(view.azimuth_deg - 70) < 1.5 and abs(view.elevation_deg - 15) < 1.5
    # a wrong field of view (the default 65 deg instead of 50) moves the distance, barely the angles
    guess = estimate_view(cam)
    assert abs(guess.azimuth_deg - 70) < 3 and abs(guess.elevation_deg - 15) < 3


def test_mirrored_clip_is_flagged_and_the_real_camera_reported():
    body = synthetic_body_track(n_frames=40)
    cam = simulate_camera_track(body, azimuth_deg=40, elevation_deg=10, distance_m=4)
    mirrored = cam.replace(image_px=cam.image_px * [-1, 1] + [cam.meta["width"], 0])
    view = estimate_view(mirrored)
    assert view.mirrored and view.ambiguous and "mirrored" in view.reason
    assert abs(wrap_deg(view.azimuth_deg - 40)) < 2
    assert not estimate_view(cam).mirrored


def test_view_with_many_flips_is_ambiguous():
    from lab.lift import flip_repaired
    body = synthetic_body_track(n_frames=60)
    cam = simulate_camera_track(body, azimuth_deg=0, elevation_deg=10, distance_m=4)
    half = np.arange(60) % 2 == 0          # every other frame flipped: no way to know which is right
    view = estimate_view(flip_repaired(cam, half))
    assert view.ambiguous and "front/back" in view.reason


def test_baseline_heading_method_on_a_centred_camera():
    body = synthetic_body_track(n_frames=40)
    cam = simulate_camera_track(body, azimuth_deg=-45, elevation_deg=0, distance_m=4)
    base = estimate_view(cam, method="heading")
    assert abs(base.azimuth_deg + 45) < 1.5


def test_ghost_lands_on_the_user():
    body = synthetic_body_track(n_frames=60)
    coach = lift_track(simulate_camera_track(body, azimuth_deg=30, elevation_deg=10, distance_m=4))
    # the user is 10 % smaller and filmed from elsewhere, off-centre in the picture
    small = body.replace(world_m=body.world_m * 0.9)
    user = simulate_camera_track(small, azimuth_deg=-110, elevation_deg=20, distance_m=3)
    user = user.replace(image_px=user.image_px + [150, -200])
    view = estimate_view(user)
    ghost = project_to_view(coach, view, target=user)
    assert ghost.shape == user.image_px.shape
    err = np.linalg.norm(ghost - user.image_px, axis=-1)
    height = np.ptp(user.image_px[..., 1])
    assert np.nanmedian(err) < 0.02 * height
    # without the user's track the ghost keeps the coach's (larger) size
    free = project_to_view(coach, view)
    k = user.index
    shin = lambda p: np.nanmedian(np.linalg.norm(p[:, k("left_knee")] - p[:, k("left_ankle")], axis=-1))  # noqa: E731
    assert shin(free) / shin(user.image_px) > 1.04
    assert shin(ghost) / shin(user.image_px) == pytest.approx(1.0, rel=0.03)


def test_ghost_follows_a_frame_mapping():
    body = synthetic_body_track(n_frames=40)
    coach = lift_track(simulate_camera_track(body, azimuth_deg=0, elevation_deg=10, distance_m=4))
    user = simulate_camera_track(body, azimuth_deg=60, elevation_deg=10, distance_m=4)
    # the user walks across the picture: the ghost of coach frame i must sit on user frame mapping[i]
    user = user.replace(image_px=user.image_px + np.arange(40)[:, None, None] * np.array([10.0, 0.0]))
    mapping = np.clip(np.arange(40) * 2, 0, 39)
    ghost = project_to_view(coach, estimate_view(user), target=user, target_frame_index=mapping)
    k = user.index
    hip_ghost = (ghost[:, k("left_hip")] + ghost[:, k("right_hip")]) / 2
    hip_user = (user.image_px[mapping, k("left_hip")] + user.image_px[mapping, k("right_hip")]) / 2
    np.testing.assert_allclose(hip_ghost, hip_user, atol=1e-6)


def test_view_camera_reprojects_the_lifted_track():
    body = synthetic_body_track(n_frames=30)
    cam = simulate_camera_track(body, azimuth_deg=120, elevation_deg=15, distance_m=4)
    lifted = lift_track(cam)
    view = estimate_view(lifted)
    proj = view.camera().project(lifted.world_m)
    assert np.nanmedian(np.linalg.norm(proj - cam.image_px, axis=-1)) < 2.0
