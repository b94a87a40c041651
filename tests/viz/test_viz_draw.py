"""Skeleton drawing: known pixels on synthetic frames, then real footage."""

from __future__ import annotations

import numpy as np
import pytest

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.viz import deviation_colors, draw_ghost, draw_skeleton, frame_grid, render_overlay_video, to_png

K = len(BLAZEPOSE_KEYPOINTS)
LS, RS = BLAZEPOSE_KEYPOINTS.index("left_shoulder"), BLAZEPOSE_KEYPOINTS.index("right_shoulder")


def _two_joints(a=(20.0, 50.0), b=(180.0, 50.0)) -> np.ndarray:
    pts = np.full((K, 2), np.nan)
    pts[LS], pts[RS] = a, b
    return pts


def test_deviation_colors_green_to_red_and_grey_for_nan():
    cols = deviation_colors(np.array([0.0, 5.0, 10.0, np.nan, 50.0]), max_value=10.0)
    assert cols[0] == (0, 255, 40)        # no deviation: green
    assert cols[1] == (255, 255, 40)      # half: yellow
    assert cols[2] == (255, 0, 40)        # at max: red
    assert cols[3] == (150, 150, 150)     # unknown: grey
    assert cols[4] == cols[2]             # clipped above max


def test_draw_skeleton_draws_the_bone_in_the_joint_colour_and_skips_nan():
    frame = np.zeros((100, 200, 3), np.uint8)
    cols = [(0, 0, 0)] * K
    cols[LS] = (255, 0, 0)
    cols[RS] = (0, 255, 0)
    out = draw_skeleton(frame, _two_joints(), colors_per_joint=cols, thickness_px=3, radius_px=4)
    assert frame.max() == 0, "the input frame must not be modified"
    assert tuple(out[50, 100]) == (255, 0, 0)      # bone takes the redder end's colour
    assert tuple(out[50, 180]) == (0, 255, 0)      # joint circle
    assert out[10:40].max() == 0 and out[60:].max() == 0   # nothing else drawn
    # a missing joint: no bone, only the other joint's circle
    pts = _two_joints()
    pts[RS] = np.nan
    out2 = draw_skeleton(frame, pts, colors_per_joint=cols, thickness_px=3, radius_px=4)
    assert out2[50, 100].max() == 0
    assert tuple(out2[50, 20]) == (255, 0, 0)


def test_draw_skeleton_rejects_wrong_shape():
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((10, 10, 3), np.uint8), np.zeros((5, 2)))


def test_draw_ghost_is_dashed_and_translucent():
    frame = np.zeros((100, 200, 3), np.uint8)
    out = draw_ghost(frame, _two_joints(), color_rgb=(200, 200, 200), opacity=0.5, dash_px=20, thickness_px=1)
    row = out[50, 20:181, 0].astype(int)
    drawn = row > 0
    assert drawn.any() and (~drawn).any(), "a dashed line has both drawn and empty stretches"
    assert 90 <= row.max() <= 110                  # 200 at 50% over black
    assert 0.3 < drawn.mean() < 0.75


def test_to_png_round_trip():
    import cv2
    img = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    back = cv2.imdecode(np.frombuffer(to_png(img), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(back, img)


def _tiny_video(path, n=6, w=64, h=48, fps=10):
    """A video whose frame i is filled with grey level 40*i (known content)."""
    import imageio_ffmpeg
    wr = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                                     macro_block_size=2, output_params=["-qp", "0"], ffmpeg_log_level="error")
    wr.send(None)
    for i in range(n):
        wr.send(np.full((h, w, 3), 40 * i, np.uint8))
    wr.close()
    return path


def _track(n, w=64, h=48):
    px = np.full((n, K, 2), np.nan)
    return PoseTrack(time_s=np.arange(n) / 10.0, keypoints=BLAZEPOSE_KEYPOINTS, image_px=px,
                     meta={"width": w, "height": h})


def test_overlay_pairs_frames_by_the_dtw_path(tmp_path):
    ref_v, att_v = _tiny_video(tmp_path / "r.mp4"), _tiny_video(tmp_path / "a.mp4")
    # attempt frame j is matched to reference frame 5 - j (reversed): the left panel's grey level shows it
    path = np.array([[5 - j, j] for j in range(6)])
    frames = list(render_overlay_video(ref_v, _track(6), att_v, _track(6), path=path, height_px=48))
    assert len(frames) == 6
    assert all(f.shape == frames[0].shape for f in frames)
    assert frames[0].shape[0] % 2 == 0 and frames[0].shape[1] % 2 == 0
    left = [float(np.median(f[30:, :64])) for f in frames]     # below the label
    right = [float(np.median(f[30:, 64:])) for f in frames]
    np.testing.assert_allclose(right, [40 * j for j in range(6)], atol=6)
    np.testing.assert_allclose(left, [40 * (5 - j) for j in range(6)], atol=6)


def test_frame_grid_on_real_footage_draws_the_skeleton(samples, sample_tracks):
    track = sample_tracks["pose2sim/cam01.mp4"]
    grid = frame_grid(samples["pose2sim/cam01.mp4"], track, n=4, columns=2, max_side_px=320)
    h, w = 320, 180   # 1080x1920 portrait scaled to a 320 px long side
    assert grid.shape == (2 * h, 2 * w, 3)
    # the first tile is frame 0: its left hip joint is drawn in the default colour
    s = w / track.meta["width"]
    x, y = np.round(track.image_px[0, track.index("left_hip")] * s).astype(int)
    assert tuple(grid[y, x]) == (40, 200, 255)
