"""The recording of a live run: one row per frame of the video, NaN where a frame was dropped."""

import numpy as np
import pytest
from synthetic_pose import standing

from lab.live.stream import record_track


def test_dropped_frames_are_rows_of_nan_not_frames_without_a_person():
    src = standing(T=10)
    poses = [(src.image_px[f], src.image_z[f], src.world_m[f], src.visibility[f], src.presence[f]) for f in range(10)]
    processed = [0, 2, 3, 7, 9]          # frames 1, 4, 5, 6 and 8 were dropped
    poses_taken = [poses[f] for f in processed]
    poses_taken[2] = None                 # on frame 3 nobody was found
    every = [(f, float(src.time_s[f])) for f in range(10)]
    track = record_track([every[f] for f in processed], poses_taken, width=1080, height=1920, fps=30.0,
                         source="clip.mp4", model="lite", dropped=5, all_frames=every)
    assert track.n_frames == 10 and np.allclose(track.time_s, src.time_s)
    assert list(np.flatnonzero(track.detected())) == [0, 2, 7, 9]
    np.testing.assert_array_equal(track.world_m[7], src.world_m[7])
    assert track.meta["live"] == {"processed": 5, "dropped": 5}
    assert track.detection_rate() == 0.8  # 4 of the 5 frames looked at, not 4 of 10


def test_a_camera_recording_holds_the_frames_processed():
    src = standing(T=4)
    poses = [(src.image_px[f], src.image_z[f], src.world_m[f], src.visibility[f], src.presence[f]) for f in range(4)]
    frames = [(0, 0.0), (3, 0.1), (5, 0.17), (6, 0.2)]
    track = record_track(frames, poses, width=1080, height=1920, fps=30.0, source="camera 0", model="lite", dropped=3)
    assert track.n_frames == 4 and track.detection_rate() == 1.0


def test_a_stream_longer_than_a_pose_track_keeps_its_last_part():
    from lab.pose.validate import MAX_DURATION_S

    src = standing(T=2)
    pose = (src.image_px[0], src.image_z[0], src.world_m[0], src.visibility[0], src.presence[0])
    frames = [(k, k * 1.0) for k in range(int(MAX_DURATION_S) + 61)]  # one frame a second, a minute too long
    track = record_track(frames, [pose] * len(frames), width=1080, height=1920, fps=1.0, source="camera 0",
                         model="lite", dropped=0)
    assert track.time_s[-1] - track.time_s[0] <= MAX_DURATION_S
    assert track.time_s[-1] == frames[-1][1] and track.meta["live"]["trimmed_s"] > 60
    assert track.meta["live"]["stream_processed"] == len(frames) and track.detection_rate() == 1.0



@pytest.mark.slow
def test_a_trimmed_recording_says_which_video_frame_its_first_row_is(samples, monkeypatch, tmp_path):
    """Row k of a live track is a frame of the video. A track trimmed to its last part (here to 4 s of
    the 7.7-s Sports2D clip) starts later in the video; it says where (``first_video_frame``), and
    keeps saying it once written and read back."""
    import lab.live.stream as stream_module
    from lab.live.stream import VideoStream, run_live
    from lab.pose.track import read_track, write_track
    from lab.pose.video import iter_frames

    monkeypatch.setattr(stream_module, "MAX_DURATION_S", 4.0)
    src = samples["sports2d/demo.mp4"]
    result = run_live(samples["pose2sim/cam01.mp4"], VideoStream(src, realtime=False), model="lite",
                      analyze_at_end=False)
    track = result.track
    first = track.first_video_frame
    assert track.meta["live"]["trimmed_s"] > 2.5 and first > 60
    times = {i: t for i, t, _ in iter_frames(src, max_side_px=64)}
    assert len(times) - first == track.n_frames
    assert abs(times[first] - track.time_s[0]) < 1e-6 and abs(times[len(times) - 1] - track.time_s[-1]) < 1e-6
    assert read_track(write_track(track, tmp_path / "t.parquet")).first_video_frame == first
