"""Parallel extraction: time chunks in worker processes, stitched into the single-pass track."""

import subprocess

import numpy as np
import pytest

from lab.pose.extract import auto_workers, plan_chunks

pytestmark = pytest.mark.slow


def test_plan_chunks_cover_every_frame_once():
    for n, w in [(10, 2), (601, 2), (7, 3), (1, 2)]:
        chunks = plan_chunks(n, w)
        frames = [i for a, b in chunks for i in range(a, b)]
        assert frames == list(range(n))


def test_short_clips_stay_in_one_process():
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
    seam = slice(145, 160)  # the second chunk starts at frame 150
    assert np.nanmax(err[seam]) < 1.0, "the stitched seam differs from the single pass"
    assert np.nanmedian(err) < 0.5
    np.testing.assert_array_equal(one.detected(), two.detected())
