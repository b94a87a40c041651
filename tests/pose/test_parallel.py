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
    # detecting everyone on every frame, the chunks meet bit for bit
    one = extract_pose(clip, workers=1, progress=False, check_every_s=0)
    two = extract_pose(clip, workers=2, progress=False, check_every_s=0)
    assert two.meta["workers"] == 2 and two.n_frames == one.n_frames == 300
    assert_same_track(one, two)
    assert [s["single_pass"] for s in two.meta["seams"]] == [True]

    # following one person with MediaPipe's tracker (alone, or checked for others), its smoothed
    # tracking never meets a pass that started earlier exactly: the earlier chunk runs on until both
    # hold the same person, then the later one (after its 1 s warm-up) takes over, and says so
    for kwargs in ({"max_people": 1}, {"check_every_s": 0.5}):
        one_1 = extract_pose(clip, workers=1, progress=False, **kwargs)
        two_1 = extract_pose(clip, workers=2, progress=False, **kwargs)
        seam = two_1.meta["seams"][0]
        assert seam["single_pass"] is None and seam["met"] and seam["frames_run_on"] == 3
        switch = seam["switch_frame"]
        np.testing.assert_array_equal(one_1.image_px[:switch], two_1.image_px[:switch])  # the single pass up to there
        err = np.linalg.norm(one_1.image_px - two_1.image_px, axis=-1)
        assert np.nanmedian(err[switch:]) < 5.0  # pixels, in a 1080x1920 frame
    assert two_1.meta["follow"]["checks"] >= 10 and two_1.meta["follow"]["frames_redone"] == 0


def assert_same_track(one, two):
    """Frame for frame, bit for bit: times, landmarks, world landmarks, visibility, presence."""
    for field in ("time_s", "image_px", "image_z", "world_m", "visibility", "presence"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field), err_msg=field)


def test_seams_on_two_people_and_a_flip_match_the_single_pass_exactly(samples, tmp_path):
    """Sports2D (a second person, a flip): chunks disagree for a while after a seam; the run-on removes it."""
    import imageio_ffmpeg

    from lab.pose.extract import extract_pose

    clip = tmp_path / "sports2d three times.mp4"  # 690 frames at 30 fps
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-stream_loop", "2",
                    "-i", str(samples["sports2d/demo.mp4"]), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    one = extract_pose(clip, workers=1, progress=False, check_every_s=0)
    for workers in (2, 3):
        many = extract_pose(clip, workers=workers, progress=False, check_every_s=0)
        assert many.meta["workers"] == workers and len(many.meta["seams"]) == workers - 1
        assert_same_track(one, many)
        assert all(s["single_pass"] for s in many.meta["seams"])
        if workers == 2:  # this seam needed the run-on: the chunks met only frames after it
            assert many.meta["seams"][0]["frames_run_on"] > 10
    cut = extract_pose(clip, workers=2, progress=False, run_on_max_s=0.0, check_every_s=0)  # seams kept where they fall
    assert cut.meta["seams"][0]["single_pass"] is False
    assert not np.array_equal(one.image_px, cut.image_px, equal_nan=True)

    # With --check-every 0.5 the man is followed by MediaPipe's tracker and everyone looked for every 0.5 s;
    # where its tracker went to the passer-by or lost him while she was seen, those frames are
    # done again detecting everyone. It follows the same person as detecting everyone on every frame.
    for workers in (1, 2):
        checked = extract_pose(clip, workers=workers, progress=False, check_every_s=0.5)
        follow = checked.meta["follow"]
        assert follow["checks_with_several_people"] > 0 and follow["frames_redone"] > 0
        assert_same_person(one, checked)


def assert_same_person(every_frame, checked):
    """Wherever both tracks hold someone, the same person: torso centres within a fifth of the body's size."""
    torso = [11, 12, 23, 24]
    a, b = every_frame.image_px[:, torso].mean(axis=1), checked.image_px[:, torso].mean(axis=1)
    both = np.isfinite(a[:, 0]) & np.isfinite(b[:, 0])
    size = np.linalg.norm(np.nanmax(every_frame.image_px, axis=1) - np.nanmin(every_frame.image_px, axis=1), axis=1)
    assert both.mean() > 0.7
    assert (np.linalg.norm(a - b, axis=1)[both] < 0.2 * size[both]).all()
    # and holds someone on about as many frames
    assert abs(checked.detected().mean() - every_frame.detected().mean()) < 0.05


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
    one = extract_pose(clip, workers=1, progress=False, check_every_s=0)
    two = extract_pose(clip, workers=2, progress=False, check_every_s=0)
    np.testing.assert_allclose(one.time_s, two.time_s)
    assert np.diff(one.time_s).max() > 0.6  # the gaps are real
    err = np.linalg.norm(one.image_px - two.image_px, axis=-1)
    assert np.nanmax(err) < 1.0
