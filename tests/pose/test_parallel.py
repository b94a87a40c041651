"""Parallel extraction: time chunks run by landmarker threads, stitched into the single-pass track."""

import subprocess

import numpy as np
import pytest

from lab.pose.extract import auto_workers, plan_chunks

pytestmark = pytest.mark.slow


def test_plan_chunks_cover_every_frame_once_and_balance_the_warm_up():
    for n, w, warm in [(10, 2, 0), (601, 2, 60), (7, 3, 0), (1, 2, 0), (1800, 2, 60), (100, 2, 60)]:
        chunks = plan_chunks(n, w, warmup_frames=warm)
        frames = [i for a, b in chunks for i in range(a, b)]
        assert frames == list(range(n))
    (a0, b0), (a1, b1) = plan_chunks(1800, 2, warmup_frames=60)
    assert b0 - a0 == (b1 - a1) + 60  # the second chunk also runs 60 warm-up frames


def test_later_chunks_pay_for_their_seek():
    """A seek decodes from the key frame at or before (first - 16): the chunk after it is
    shortened by that cost, so every worker does the same work."""
    keys = list(range(0, 1800, 250))
    (a0, b0), (a1, b1) = plan_chunks(1800, 2, warmup_frames=64, keyframes=keys, seek_frame_cost=0.15)
    first = a1 - 64
    seek = first - max(k for k in keys if k <= first - 16)
    assert seek > 0 and b1 == 1800
    assert abs((b0 - a0) - ((b1 - a1) + 64 + 0.15 * seek)) <= 1
    assert plan_chunks(1800, 2, warmup_frames=64, keyframes=keys, seek_frame_cost=0.0) == \
        plan_chunks(1800, 2, warmup_frames=64)


def test_keyframe_indices_read_from_the_packets(samples, tmp_path):
    import imageio_ffmpeg
    from lab.pose.video import keyframe_indices

    clip = tmp_path / "gop30.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(samples["pose2sim/cam01.mp4"]),
                    "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "keyint=30:min-keyint=30:scenecut=0",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    assert keyframe_indices(clip) == [0, 30, 60, 90]


def test_short_clips_use_one_landmarker():
    assert auto_workers(100) == 1


def test_seams_agree_with_a_single_pass(samples, tmp_path):
    import imageio_ffmpeg
    from lab.pose.extract import extract_pose

    clip = tmp_path / "three times.mp4"  # 300 frames, the balance repeated three times
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-stream_loop", "2",
                    "-i", str(samples["pose2sim/cam01.mp4"]), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    one = extract_pose(clip, workers=1, progress=False)
    two = extract_pose(clip, workers=2, progress=False)
    assert two.meta["workers"] == 2 and two.n_frames == one.n_frames == 300
    np.testing.assert_array_equal(one.time_s, two.time_s)
    err = np.linalg.norm(one.image_px - two.image_px, axis=-1)
    start = plan_chunks(300, 2, warmup_frames=60)[1][0]  # the second chunk's first kept frame
    seam = slice(start - 5, start + 10)
    assert np.nanmax(err[seam]) < 1.0, "the stitched seam differs from the single pass"
    assert np.nanmedian(err) < 0.5
    np.testing.assert_array_equal(one.detected(), two.detected())


def test_variable_frame_rate_chunks_still_match_the_single_pass(samples, tmp_path):
    """Seeking by the container's index can miss on variable frame rates: each seek is checked."""
    import imageio_ffmpeg
    from lab.pose.extract import extract_pose

    clip = tmp_path / "vfr.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-stream_loop", "2",
                    "-i", str(samples["pose2sim/cam01.mp4"]), "-vf",
                    "setpts='N/(60*TB)+if(gte(N,120),0.7/TB,0)+if(gte(N,200),0.3/TB,0)'",
                    "-fps_mode", "passthrough", "-video_track_timescale", "6000",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)], check=True)
    one = extract_pose(clip, workers=1, progress=False)
    two = extract_pose(clip, workers=2, progress=False)
    np.testing.assert_allclose(one.time_s, two.time_s)
    assert np.diff(one.time_s).max() > 0.6  # the gaps are real
    err = np.linalg.norm(one.image_px - two.image_px, axis=-1)
    assert np.nanmax(err) < 1.0
