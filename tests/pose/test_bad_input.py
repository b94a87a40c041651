"""Hostile and awkward inputs, generated here from the samples with FFmpeg (nothing downloaded).

Clear failures end with a non-zero exit code and one line on stderr; recoverable
inputs give a usable result, with a warning where the evidence is weak.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lab.io import LabError
from lab.pose.track import BLAZEPOSE_KEYPOINTS, read_track

pytestmark = pytest.mark.slow

HIP = [BLAZEPOSE_KEYPOINTS.index("left_hip"), BLAZEPOSE_KEYPOINTS.index("right_hip")]


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)]
    subprocess.run(cmd, check=True, capture_output=True)


def h264(*vf_and_more: str) -> list[str]:
    return [*vf_and_more, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def lab(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "lab", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=900, **kw)


def one_error_line(r) -> str:
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def cam01(samples) -> Path:
    return samples["pose2sim/cam01.mp4"]


# ------------------------------------------------------------------ not a video
def test_truncated_mp4_without_index_is_a_clear_error(cam01, tmp_path):
    bad = tmp_path / "cut.mp4"
    data = cam01.read_bytes()  # the sample keeps its index (moov) at the end
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.parquet"
    r = lab("extract", bad, "-o", out)
    assert r.returncode == 2 and "not a video" in one_error_line(r)
    assert not out.exists()


def test_truncated_streamable_mp4_gives_the_frames_it_has_with_a_warning(cam01, tmp_path):
    fast = tmp_path / "fast.mp4"
    ffmpeg("-i", cam01, "-c", "copy", "-movflags", "+faststart", fast)
    cut = tmp_path / "cut fast.mp4"
    data = fast.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "o.parquet"
    r = lab("extract", cut, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "truncated" in r.stderr
    tr = read_track(out)
    assert 20 < tr.n_frames < 100 and tr.detection_rate() > 0.9


def test_file_with_audio_only_has_no_video_frames(tmp_path):
    audio = tmp_path / "sound.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", audio)
    r = lab("extract", audio, "-o", tmp_path / "o.parquet")
    assert r.returncode == 2
    assert "video" in one_error_line(r)
    assert not (tmp_path / "o.parquet").exists()


def test_path_with_spaces_and_non_ascii(cam01, tmp_path):
    d = tmp_path / "séance d'été 東京"
    d.mkdir()
    v = d / "prise n°1 (côté).mp4"
    shutil.copy(cam01, v)
    out = d / "pose été.parquet"
    r = lab("extract", v, "-o", out)
    assert r.returncode == 0, r.stderr
    assert read_track(out).meta["source"] == str(v)


# --------------------------------------------------------------------- people
def test_empty_scene_exits_4_with_one_line(tmp_path):
    v = tmp_path / "empty.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=1", *h264(), v)
    out = tmp_path / "o.parquet"
    r = lab("extract", v, "-o", out)
    assert r.returncode == 4
    assert "no person" in one_error_line(r)
    assert not out.exists()


def test_person_who_leaves_and_comes_back(cam01, tmp_path):
    v = tmp_path / "gone.mp4"
    ffmpeg("-i", cam01, *h264("-vf", "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(n,35,64)'"), v)
    from lab.pose.extract import extract_pose
    tr = extract_pose(v, progress=False)
    seen = tr.detected()
    assert not seen[40:60].any(), "frames with nobody must be NaN"
    assert seen[:30].all() and seen[70:].all(), "the person is picked up again after coming back"
    assert np.isnan(tr.image_px[45]).all() and (tr.visibility[45] == 0).all()


@pytest.mark.parametrize("check_every_s", [0.0, 0.5])
def test_two_people_the_track_does_not_jump(cam01, samples, tmp_path, check_every_s):
    two = tmp_path / "two.mp4"
    ffmpeg("-i", cam01, "-i", samples["pose2sim/cam04.mp4"],
           *h264("-filter_complex", "[0:v]crop=1080:1920:0:0[a];[1:v]crop=1080:1920:0:0[b];[a][b]hstack,scale=1080:960"), two)
    from lab.pose.extract import extract_pose
    tr = extract_pose(two, progress=False, check_every_s=check_every_s)
    hips_x = tr.image_px[:, HIP, 0].mean(axis=1)
    seen = np.isfinite(hips_x)
    assert seen.mean() > 0.9
    side = hips_x[seen] < tr.meta["width"] / 2
    assert side.all() or (~side).all(), "the track switched between the two people"
    if check_every_s:  # MediaPipe's tracker held one of them; every check found both
        follow = tr.meta["follow"]
        assert follow["checks"] >= 4 and follow["checks_with_several_people"] == follow["checks"]
    else:
        assert tr.meta["person"]["frames_with_several_people"] > 50


def test_person_half_in_frame_gives_a_usable_track(cam01, tmp_path):
    v = tmp_path / "half.mp4"
    ffmpeg("-i", cam01, *h264("-vf", "crop=1080:1000:0:0"), v)  # legs cut off below the hips
    from lab.pose.extract import extract_pose
    tr = extract_pose(v, progress=False)
    assert tr.detection_rate() > 0.5
    ankle = BLAZEPOSE_KEYPOINTS.index("left_ankle")
    nose = BLAZEPOSE_KEYPOINTS.index("nose")
    seen = tr.detected()
    assert np.median(tr.presence[seen, nose]) > np.median(tr.presence[seen, ankle])


# ------------------------------------------------------------------ durations
@pytest.mark.parametrize("frames", [1, 20])
def test_very_short_clips(cam01, tmp_path, frames):
    v = tmp_path / f"short{frames}.mp4"
    ffmpeg("-i", cam01, "-frames:v", frames, *h264(), v)
    out = tmp_path / "o.parquet"
    r = lab("extract", v, "-o", out)
    assert r.returncode == 0, r.stderr
    tr = read_track(out)
    assert tr.n_frames == frames and tr.detection_rate() == 1.0


def _peak_rss_mb(video: Path, env) -> float:
    code = ("import resource, sys; from lab.pose.extract import extract_pose;"
            "extract_pose(sys.argv[1], model='full', progress=False, max_people=1);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, "-c", code, str(video)], capture_output=True, text=True, env=env,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.strip().splitlines()[-1])


def test_long_clip_is_streamed_in_bounded_memory(cam01, tmp_path):
    """A 4-minute clip needs no more memory than a 20-second one (frames are never all held)."""
    short, long_ = tmp_path / "short.mp4", tmp_path / "long.mp4"
    small = "scale=144:256,fps=4"
    ffmpeg("-stream_loop", "12", "-i", cam01, *h264("-vf", small), "-t", "20", short)
    ffmpeg("-stream_loop", "150", "-i", cam01, *h264("-vf", small), "-t", "240", long_)
    env = dict(os.environ)
    a, b = _peak_rss_mb(short, env), _peak_rss_mb(long_, env)
    assert b - a < 60, f"peak RSS {a:.0f} MB for 20 s, {b:.0f} MB for 240 s"


# ----------------------------------------------------------- phone-type video
def test_portrait_phone_video_with_rotation_metadata_is_decoded_upright(cam01, sample_tracks, tmp_path):
    sideways = tmp_path / "sideways.mp4"
    ffmpeg("-i", cam01, *h264("-vf", "transpose=2"), sideways)  # stored lying on its side, 1920x1080
    phone = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "-90", "-i", sideways, "-c", "copy", phone)  # display: rotate back upright
    from lab.pose.extract import extract_pose
    tr = extract_pose(phone, progress=False)
    assert (tr.meta["width"], tr.meta["height"]) == (1080, 1920)
    assert abs(tr.meta["rotation_deg"]) in (90, 270)
    assert tr.detection_rate() > 0.95
    # decoded upright: the landmarks land where they do in the original portrait clip
    ref = sample_tracks["pose2sim/cam01.mp4"]
    err = np.linalg.norm(tr.image_px - ref.image_px, axis=-1)
    assert np.nanmedian(err) < 10


def test_variable_frame_rate_keeps_real_times(cam01, tmp_path):
    v = tmp_path / "vfr.mp4"
    # 60 fps, then a 0.5 s hole in the timestamps from frame 50 on (as when a phone drops frames)
    ffmpeg("-i", cam01, *h264("-vf", "setpts='N/(60*TB)+if(gte(N,50),0.5/TB,0)'"), "-fps_mode", "passthrough",
           "-video_track_timescale", "6000", v)
    from lab.pose.extract import extract_pose
    tr = extract_pose(v, progress=False)
    dt = np.diff(tr.time_s)
    assert np.median(dt) == pytest.approx(1 / 60, abs=2e-3)
    assert dt.max() == pytest.approx(0.5 + 1 / 60, abs=5e-3)
    assert np.argmax(dt) == 49


def test_4k_frames_are_downscaled_but_coordinates_stay_in_original_pixels(cam01, sample_tracks, tmp_path):
    v = tmp_path / "uhd.mp4"
    ffmpeg("-i", cam01, "-frames:v", "12", *h264("-vf", "scale=2160:3840"), v)
    from lab.pose.extract import extract_pose
    tr = extract_pose(v, progress=False)
    ref = sample_tracks["pose2sim/cam01.mp4"]
    assert (tr.meta["width"], tr.meta["height"]) == (2160, 3840)
    err = np.linalg.norm(tr.image_px - 2 * ref.image_px[:12], axis=-1)
    assert np.nanmedian(err) < 20  # 2x scale of the 1080p landmarks, a few px of model noise


def test_240fps_slow_motion_times(cam01, tmp_path):
    v = tmp_path / "slowmo.mp4"
    ffmpeg("-i", cam01, "-frames:v", "40", *h264("-vf", "setpts=PTS/4"), "-r", "240", v)
    from lab.pose.extract import extract_pose
    tr = extract_pose(v, progress=False)
    assert tr.fps == pytest.approx(240, rel=0.02)
    np.testing.assert_allclose(np.diff(tr.time_s), 1 / 240, atol=5e-4)


@pytest.mark.parametrize("look", ["dark", "overexposed"])
def test_very_dark_or_overexposed_frames(cam01, tmp_path, look):
    v = tmp_path / f"{look}.mp4"
    vf = "eq=brightness=-0.75" if look == "dark" else "eq=brightness=0.75:contrast=0.4"
    ffmpeg("-i", cam01, "-frames:v", "30", *h264("-vf", vf), v)
    out = tmp_path / "o.parquet"
    r = lab("extract", v, "-o", out)
    if r.returncode == 0:  # usable: says how much of the clip has the person
        assert "person on" in r.stdout
        rate = read_track(out).detection_rate()
        assert rate > 0 and (rate >= 0.5 or "warning" in r.stderr)
    else:
        assert r.returncode == 4 and "no person" in one_error_line(r)
        assert not out.exists()


# ------------------------------------------------------------------- pose files
def _pose_file(tmp_path, samples, mutate):
    from lab.pose.extract import extract_pose_cached
    df = extract_pose_cached(samples["pose2sim/cam01.mp4"], progress=False).to_dataframe()
    df = mutate(df)
    p = tmp_path / "pose.parquet"
    df.to_parquet(p)
    return p


@pytest.mark.parametrize("case,expect", [
    ("missing", "missing columns: time_s"),
    ("millimetres", "millimetres"),
    ("all_nan", "no valid landmarks"),
    ("normalized_px", "normalized"),
])
def test_bad_pose_files_are_refused_with_the_reason(tmp_path, samples, case, expect):
    from lab.pose.extract import load_track

    def mutate(df):
        if case == "missing":
            return df.drop(columns=["time_s"])
        if case == "millimetres":
            df[["x_m", "y_m", "z_m"]] *= 1000
            return df
        if case == "all_nan":
            df[["x_px", "y_px", "x_m", "y_m", "z_m"]] = np.nan
            return df
        df["x_px"], df["y_px"] = df["x_norm"], df["y_norm"]
        df[["x_m", "y_m", "z_m"]] = np.nan
        return df

    p = _pose_file(tmp_path, samples, mutate)
    if case == "normalized_px":  # a foreign file without lab metadata has no frame size: keep it
        from lab.pose.track import read_track as rt
        from lab.pose.track import write_track
        tr = rt(p)
        tr.meta.update(width=1080, height=1920)
        write_track(tr, p)
    with pytest.raises(LabError, match=expect):
        load_track(p)


# ------------------------------------------------------------ interruptions
@pytest.mark.parametrize("sig,workers", [(signal.SIGINT, 1), (signal.SIGINT, 2), (signal.SIGKILL, 1)])
def test_interrupted_extract_leaves_nothing_complete_looking_and_next_run_succeeds(samples, tmp_path, sig, workers):
    """With 2 workers, Ctrl-C reaches the main thread while both landmarker threads run."""
    env = dict(os.environ, LAB_CACHE_DIR=str(tmp_path / "cache"))
    shutil.copytree(Path(os.environ["LAB_CACHE_DIR"]) / "models", tmp_path / "cache" / "models")
    out = tmp_path / "out.parquet"
    video = samples["sports2d/demo.mp4"]
    if workers == 2:  # three times as long, so that both threads are still busy when the signal comes
        video = tmp_path / "demo x3.mp4"
        ffmpeg("-stream_loop", "2", "-i", samples["sports2d/demo.mp4"], "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", video)
    p = subprocess.Popen([sys.executable, "-m", "lab", "extract", str(video), "-o", str(out), "--workers", str(workers)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(4.0)  # mid-extraction: models loaded, frames being processed
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0
    if sig == signal.SIGINT:
        assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    tracks = tmp_path / "cache" / "tracks"
    assert not list(tracks.glob("*.parquet")) and not list(tracks.glob("*.sha256"))
    r = lab("extract", video, "-o", out, env=env)
    assert r.returncode == 0, r.stderr
    assert read_track(out).n_frames == 230 * (3 if workers == 2 else 1)


def test_two_processes_extracting_the_same_video_into_one_cache(samples, tmp_path):
    env = dict(os.environ, LAB_CACHE_DIR=str(tmp_path / "cache"))
    shutil.copytree(Path(os.environ["LAB_CACHE_DIR"]) / "models", tmp_path / "cache" / "models")
    video = samples["pose2sim/cam02.mp4"]
    procs = [subprocess.Popen([sys.executable, "-m", "lab", "extract", str(video), "-o", str(tmp_path / f"o{i}.parquet")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    a, b = read_track(tmp_path / "o0.parquet"), read_track(tmp_path / "o1.parquet")
    np.testing.assert_array_equal(a.image_px, b.image_px)
    entries = list((tmp_path / "cache" / "tracks").glob("*.parquet"))
    assert len(entries) == 1
    from lab.io import sha256_file
    assert entries[0].with_suffix(".sha256").read_text() == sha256_file(entries[0])
