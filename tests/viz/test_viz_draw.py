"""Skeleton drawing: known pixels on synthetic frames, then real footage."""

from __future__ import annotations

import numpy as np
import pytest

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.viz import (
    color_by_noise_ratio,
    deviation_colors,
    draw_ghost,
    draw_skeleton,
    frame_grid,
    render_overlay_video,
    to_png,
)
from lab.viz.draw import NOISE_GREEN_RGB, UNJUDGED_GREY_RGB

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


def _is_red(rgb) -> bool:
    r, g, b = (int(v) for v in rgb)
    return r >= 200 and g <= 100 and b <= 100


def test_noise_ratio_colours_are_never_red_inside_the_noise():
    ratios = np.concatenate([np.linspace(0.0, 1.0, 101), [np.nan, 1.05, 1.5, 2.0, 5.0]])
    cols = color_by_noise_ratio(ratios)
    assert all(c == NOISE_GREEN_RGB for c in cols[:101]), "a difference inside the noise must be green"
    assert cols[101] == UNJUDGED_GREY_RGB                  # can't be judged: grey, not a verdict
    assert not _is_red(cols[102]) and cols[102][0] > 200   # just beyond the threshold: yellow
    assert cols[103][1] < cols[102][1]                     # redder the further beyond
    assert _is_red(cols[104]) and cols[105] == cols[104]   # twice the threshold and more: red
    # the old scale, by degrees alone, is exactly what this replaces: it paints noise red
    assert _is_red(deviation_colors(np.array([40.0]), max_value=40.0)[0])


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


def test_a_track_that_starts_later_in_its_video_is_drawn_on_its_own_frames(tmp_path):
    """A live recording trimmed to its last part: its row 0 is the video's frame 2
    (``first_video_frame``). The overlay draws one frame per row, row k on video frame 2 + k, and
    the frames read for a row are the same."""
    from lab.viz.draw import read_frames

    ref_v, att_v = _tiny_video(tmp_path / "r.mp4"), _tiny_video(tmp_path / "a.mp4")
    att = _track(4)
    att.meta["first_video_frame"] = 2
    frames = list(render_overlay_video(ref_v, _track(6), att_v, att, height_px=48))
    assert len(frames) == 4
    right = [float(np.median(f[30:, 64:])) for f in frames]
    np.testing.assert_allclose(right, [40 * (2 + k) for k in range(4)], atol=6)
    read = read_frames(att_v, [0, 3], first_frame=att.first_video_frame)
    np.testing.assert_allclose([float(np.median(read[k])) for k in (0, 3)], [80, 200], atol=6)


def test_overlay_colours_joints_by_the_noise_ratio(tmp_path):
    ref_v, att_v = _tiny_video(tmp_path / "r.mp4", w=200, h=100), _tiny_video(tmp_path / "a.mp4", w=200, h=100)
    att = _track(6, w=200, h=100)
    att.image_px[:, LS] = (20.0, 60.0)
    att.image_px[:, RS] = (180.0, 60.0)
    ratio = np.full((6, K), np.nan)
    ratio[:, LS] = 0.9          # inside the noise
    ratio[:3, RS] = 3.0         # well beyond it in the first three frames, then can't be judged
    frames = list(render_overlay_video(ref_v, _track(6, w=200, h=100), att_v, att, height_px=100,
                                       noise_ratio=ratio, deviation=np.full((6, K), 90.0), max_deviation=40.0))
    for j, f in enumerate(frames):
        player = f[:, 200:]
        assert tuple(player[60, 20]) == NOISE_GREEN_RGB, "a joint inside the noise is drawn green"
        assert _is_red(player[60, 180]) if j < 3 else tuple(player[60, 180]) == UNJUDGED_GREY_RGB
        if j >= 3:  # a bone between a joint inside the noise and one that can't be judged: nothing red
            assert not np.any([_is_red(px) for px in player[55:66].reshape(-1, 3)])


def test_frame_grid_on_real_footage_draws_the_skeleton(samples, sample_tracks):
    track = sample_tracks["pose2sim/cam01.mp4"]
    grid = frame_grid(samples["pose2sim/cam01.mp4"], track, n=4, columns=2, max_side_px=320)
    h, w = 320, 180   # 1080x1920 portrait scaled to a 320 px long side
    assert grid.shape == (2 * h, 2 * w, 3)
    # the first tile is frame 0: its left hip joint is drawn in the default colour
    s = w / track.meta["width"]
    x, y = np.round(track.image_px[0, track.index("left_hip")] * s).astype(int)
    assert tuple(grid[y, x]) == (40, 200, 255)


def test_each_player_frame_is_shown_with_its_first_matched_coach_frame():
    from lab.viz.draw import match_reference_frames
    path = np.array([[3, 2], [4, 2], [5, 3], [7, 4], [8, 5]])      # open begin: player frames 0-1 unmatched
    np.testing.assert_array_equal(match_reference_frames(path, 8), [3, 3, 3, 5, 7, 8, 8, 8])
    np.testing.assert_array_equal(match_reference_frames(path), [3, 3, 3, 5, 7, 8])
