"""Finding repetitions: known answers (a synthetic figure repeated), the real samples (counted by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from lab.align.synthetic import synthetic_body_track
from lab.features import compute_features, mirror_features
from lab.reps import NO_NOISE, MatchNoise, Repetition, cut_features, find_motif, find_repetitions, typical_repetition
from lab.reps.synthetic import repeat_motion, warp


def _rep():
    """One cycle of the synthetic figure (arms swing, knees bend), 1 s at 30 Hz, from one turning point
    of the swing to the next (where it is still)."""
    track = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=50.0).select_frames(np.arange(8, 39))
    return track.replace(time_s=track.time_s - track.time_s[0])


def _features(track):
    return compute_features(track, lift=False, body=track)


@pytest.mark.parametrize("count", [1, 2, 4, 7])
def test_every_repetition_is_found_at_varying_tempo_with_pauses(count):
    rep = _rep()
    clip = repeat_motion(rep, count=count, rng=np.random.default_rng(count))
    found = find_repetitions(_features(rep), _features(clip.track), noise=NO_NOISE)
    full = [r for r in found if not r.partial]
    assert len(full) == count
    assert not any(r.partial for r in found)
    assert [r.index for r in found] == list(range(1, len(found) + 1))
    errors = [abs(r.start_s - s) for r, s in zip(full, clip.starts_s)] + \
             [abs(r.end_s - e) for r, e in zip(full, clip.ends_s)]
    assert np.median(errors) <= 0.1
    assert max(errors) <= 0.3


def test_a_repetition_cut_by_the_start_is_reported_as_partial():
    rep = _rep()
    clip = repeat_motion(rep, count=3, rng=np.random.default_rng(5), partial_front=True, pause_range_s=(0.3, 0.6))
    found = find_repetitions(_features(rep), _features(clip.track), noise=NO_NOISE)
    assert [r.partial for r in found] == [True, False, False, False]
    assert found[0].start_s < 0.1 and abs(found[0].end_s - clip.partial[1]) <= 0.15


def test_a_repetition_cut_by_the_end_is_reported_as_partial():
    rep = _rep()
    clip = repeat_motion(rep, count=3, rng=np.random.default_rng(5), partial_back=True, pause_range_s=(0.3, 0.6))
    found = find_repetitions(_features(rep), _features(clip.track), noise=NO_NOISE)
    assert [r.partial for r in found] == [False, False, False, True]
    assert abs(found[-1].start_s - clip.partial_back[0]) <= 0.15 and found[-1].end_s > clip.track.time_s[-1] - 0.1


def test_a_mirrored_clip_is_searched_as_a_mirror_image():
    rep = _rep()
    asym = rep.replace(world_m=rep.world_m.copy())
    clip = repeat_motion(asym, count=3, rng=np.random.default_rng(2))
    mirrored = mirror_features(_features(clip.track))
    assert len(find_repetitions(_features(asym), mirrored, mirrored=True, noise=NO_NOISE)) == 3


def test_a_different_movement_has_no_repetition():
    """A still figure holds nothing of a swinging one."""
    rep = _rep()
    still = rep.replace(world_m=np.repeat(rep.world_m[:1], 150, axis=0), time_s=np.arange(150) / 30.0,
                        visibility=None, presence=None)
    assert find_repetitions(_features(rep), _features(still), noise=NO_NOISE) == []


def _filmed(track, *, azimuth_deg, seed):
    """``track`` (frame ``body``, which has the axes of ``lab``) filmed with MediaPipe-like noise."""
    from lab.score.compare import prepare_features
    from lab.score.uncertainty import film_like_mediapipe, load_landmark_noise

    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0))
    return prepare_features(film_like_mediapipe(track.replace(frame="lab"), azimuth_deg=azimuth_deg, seed=seed,
                                                noise_scale=scale))


def test_a_small_movement_is_counted_under_mediapipe_like_noise_and_stillness_never_is():
    """Two MediaPipe recordings of one movement never match at cost 0: the line allows for the noise
    (NOISE_COST). A figure swinging its arms 40 degrees, five times, filmed from another camera 90
    degrees round: without that allowance most repetitions are missed. A still body filmed the same
    way is never taken for repetitions, whatever the query (STILL_MOTION)."""
    counts, without, still = [], [], []
    for seed in range(6):
        rep = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=40.0).select_frames(np.arange(8, 39))
        rep = rep.replace(time_s=rep.time_s - rep.time_s[0])
        clip = repeat_motion(rep, count=5, rng=np.random.default_rng(seed))
        query = _filmed(rep, azimuth_deg=30.0, seed=seed)
        attempt = _filmed(clip.track, azimuth_deg=120.0, seed=100 + seed)
        counts.append(sum(not r.partial for r in find_repetitions(query, attempt)))
        without.append(sum(not r.partial for r in find_repetitions(query, attempt, max_cost_fraction=0.9,
                                                                    noise=MatchNoise(cost=0.0))))
        statue = rep.replace(world_m=np.repeat(rep.world_m[:1], 150, axis=0), time_s=np.arange(150) / 30.0,
                             visibility=None, presence=None)
        for swing in (15.0, 40.0):
            small = synthetic_body_track(n_frames=39, fps=30.0, swing_deg=swing).select_frames(np.arange(8, 39))
            still.append(find_repetitions(_filmed(small, azimuth_deg=30.0, seed=seed),
                                          _filmed(statue, azimuth_deg=120.0, seed=200 + seed)))
    assert sum(c == 5 for c in counts) >= 5, counts
    assert sum(c == 5 for c in without) <= 1, without
    assert all(found == [] for found in still)


def test_the_noise_allowance_follows_where_each_clip_came_from():
    from lab.reps.segment import NOISE_COST, STILL_MOTION

    assert MatchNoise.for_sources(reference_mocap=False, attempt_mocap=False) == MatchNoise()
    one = MatchNoise.for_sources(reference_mocap=True, attempt_mocap=False)
    assert one.cost == NOISE_COST / 2 and one.still_motion == STILL_MOTION  # the player's camera still jitters
    assert MatchNoise.for_sources(reference_mocap=False, attempt_mocap=True) == MatchNoise(
        cost=NOISE_COST / 2, still_motion=0.0, still_partial_motion=0.0)
    assert MatchNoise.for_sources(reference_mocap=True, attempt_mocap=True) == NO_NOISE


def test_the_period_of_a_repeated_clip_is_found_and_one_repetition_is_not_cut():
    rep = _rep()
    clip = repeat_motion(rep, count=4, rng=np.random.default_rng(1), tempo_range=(1.0, 1.0),
                         pause_range_s=(0.0, 0.0))
    motif = find_motif(_features(clip.track))
    assert motif is not None and abs(motif[1] - 1.0) <= 0.1
    assert find_motif(_features(rep)) is None
    typical, reps = typical_repetition(_features(clip.track), noise=NO_NOISE)
    assert sum(not r.partial for r in reps) == 4
    assert 0.85 <= typical.time_s[-1] - typical.time_s[0] <= 1.15


def test_warp_changes_duration_only():
    rep = _rep()
    slow = warp(rep, tempo=1.3, rate_hz=30.0)
    assert abs(slow.time_s[-1] - 1.3 * rep.time_s[-1]) <= 1 / 30
    np.testing.assert_allclose(slow.world_m[0], rep.world_m[0])
    np.testing.assert_allclose(slow.world_m[-1], rep.world_m[-1], atol=1e-9)


# ------------------------------------------------------------------ real footage
@pytest.fixture(scope="module")
def sample_features(sample_tracks):
    from lab.pipeline import features_stage, lift_stage

    out = {}
    for name, track in sample_tracks.items():
        body, method, _ = lift_stage(track)
        out[name] = features_stage(track, body, method=method)
    return out


def test_sports2d_holds_two_jumping_jacks(sample_features):
    """Counted by hand on the video, frame by frame (every third frame from 0 to 130): the man on
    the box raises his arms overhead twice (frames 18-30 and 54-63) between arms down at frames
    0-6, 42 and 78-90; then he stands until his flip at about 5.6 s. Two jumping jacks, the first
    from about 0.2 to 1.4 s, the second to about 2.6 s."""
    clip = sample_features["sports2d/demo.mp4"]
    jack = cut_features(clip, start_s=0.2, end_s=1.4)
    found = find_repetitions(jack, clip)
    assert [r.partial for r in found] == [False, False]
    assert abs(found[1].end_s - 2.6) <= 0.3
    typical, reps = typical_repetition(clip)  # the coach's clip holding both: summarized as one
    assert sum(not r.partial for r in reps) == 2
    assert 0.6 <= typical.time_s[-1] - typical.time_s[0] <= 1.6
    again = [r for r in find_repetitions(typical, clip) if not r.partial]
    assert len(again) == 2
    assert abs(again[0].end_s - 1.4) <= 0.3 and abs(again[1].end_s - 2.6) <= 0.3


def test_how_far_a_movement_stands_above_the_camera_noise(sample_features):
    """measure_motion_to_noise: a still body filmed like MediaPipe seems to move less than STILL_MOTION
    (below 1: that is what the floor is); the real drills stand well clear of it; motion capture has
    no noise."""
    from lab.reps.segment import measure_motion_to_noise

    rep = _rep()
    statue = rep.replace(world_m=np.repeat(rep.world_m[:1], 150, axis=0), time_s=np.arange(150) / 30.0,
                         visibility=None, presence=None)
    assert all(measure_motion_to_noise(_filmed(statue, azimuth_deg=30.0, seed=seed)) < 1.0 for seed in range(3))
    jack = cut_features(sample_features["sports2d/demo.mp4"], start_s=0.2, end_s=1.4)
    assert measure_motion_to_noise(jack) > 2.0
    assert all(measure_motion_to_noise(sample_features[f"pose2sim/cam0{k}.mp4"]) > 2.0 for k in range(1, 5))
    assert measure_motion_to_noise(_features(rep), noise=NO_NOISE) == np.inf
    half = MatchNoise(still_motion=2.0 * measure_motion_to_noise(jack) * MatchNoise().still_motion)
    assert measure_motion_to_noise(jack, noise=half) == pytest.approx(0.5)


def _count_both_ways(query, clip, noise=NO_NOISE):
    from lab.reps.segment import choose_repetitions, search_clip, tile_repetitions

    search = search_clip(query, clip)
    return choose_repetitions(search, noise=noise), tile_repetitions(search, noise=noise)


@pytest.mark.parametrize("count", [1, 3, 7])
def test_the_second_way_of_counting_finds_every_repetition_and_agrees(count):
    """tile_repetitions, the whole clip explained at once: the synthetic figure at varying tempo with
    pauses, with half a repetition at the start, is counted as the first way counts it, and its
    boundaries are as close to the truth."""
    from lab.reps.segment import counts_agree

    rep = _rep()
    clip = repeat_motion(rep, count=count, rng=np.random.default_rng(count), partial_front=count > 1,
                         pause_range_s=(0.3, 0.6))
    first, second = _count_both_ways(_features(rep), _features(clip.track))
    full = [r for r in second if not r.partial]
    assert len(full) == count and [r.partial for r in second] == [True] * (count > 1) + [False] * count
    errors = [abs(r.start_s - s) for r, s in zip(full, clip.starts_s)] + \
             [abs(r.end_s - e) for r, e in zip(full, clip.ends_s)]
    assert np.median(errors) <= 0.1 and max(errors) <= 0.3
    assert counts_agree(first, second)


def test_counts_agree_on_the_full_count_and_each_end():
    from lab.reps.segment import counts_agree

    def reps(*spans):
        return [Repetition(index=k + 1, start_s=a, end_s=b, partial=p, cost_fraction=0.0)
                for k, (a, b, p) in enumerate(spans)]

    three = reps((0, 1, False), (1, 2, False), (2, 3, False))
    assert counts_agree(three, reps((0.1, 1.1, False), (1.2, 2, False), (2, 2.9, False)))  # times may differ
    assert not counts_agree(three, three[:2])
    front = reps((0, 0.4, True), (0.5, 1, False), (1, 2, False), (2, 3, False))
    back = reps((0, 1, False), (1, 2, False), (2, 3, False), (3.1, 3.5, True))
    assert not counts_agree(three, front) and not counts_agree(front, back) and counts_agree(back, back)
    assert counts_agree([], []) and not counts_agree([], reps((0, 0.4, True)))


def test_sports2d_is_counted_alike_both_ways(sample_features):
    """The two jumping jacks (see above) are counted the same by the second way."""
    from lab.reps.segment import CAMERAS, counts_agree

    clip = sample_features["sports2d/demo.mp4"]
    first, second = _count_both_ways(cut_features(clip, start_s=0.2, end_s=1.4), clip, noise=CAMERAS)
    assert sum(not r.partial for r in second) == 2 and counts_agree(first, second)


def test_a_wrong_count_on_real_footage_is_never_called_sure(samples, sample_features, tmp_path):
    """The Sports2D clip played twice end to end (one video file) holds four jumping jacks, two per
    play (see above). Just after the join the man stands where the first play began, more than a
    body size from where it ended, and the extractor refuses such a jump for up to a second
    (``choose_person``), so the start of the third jumping jack has no poses. Whatever either way
    of counting makes of that, a count that is not four must not be called sure."""
    import subprocess

    import imageio_ffmpeg

    from lab.pipeline import features_stage, lift_stage
    from lab.pose.extract import extract_pose_cached
    from lab.reps.segment import CAMERAS, counts_agree

    video = tmp_path / "twice.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-stream_loop", "1",
                    "-i", str(samples["sports2d/demo.mp4"]), "-c", "copy", str(video)], check=True)
    track = extract_pose_cached(video, progress=False)
    body, method, _ = lift_stage(track)
    clip = features_stage(track, body, method=method)
    assert 15.0 <= clip.time_s[-1] <= 15.6
    coach, _ = typical_repetition(sample_features["sports2d/demo.mp4"])  # as `lab compare --reps` takes it
    first, second = _count_both_ways(coach, clip, noise=CAMERAS)
    right = sum(not r.partial for r in first) == 4 and not any(r.partial for r in first)
    assert right or not counts_agree(first, second)


@pytest.mark.parametrize("view", ["cam02", "cam03", "cam04"])
def test_pose2sim_is_one_repetition_from_every_view(sample_features, view):
    """The Pose2Sim clip is one performance of one movement (1.65 s)."""
    coach = sample_features["pose2sim/cam01.mp4"]
    player = sample_features[f"pose2sim/{view}.mp4"]
    assert find_motif(player) is None
    found = find_repetitions(coach, player)
    assert [r.partial for r in found] == [False]
    jack = cut_features(sample_features["sports2d/demo.mp4"], start_s=0.2, end_s=1.4)
    assert find_repetitions(jack, player) == []


def _suite_clip(take, *, count, gap_deg):
    """One clip of the known-answer suite (:mod:`lab.reps.evaluate`) at MediaPipe-like noise, all of it
    wandering with time (none repeated with the pose): the clips these rules were found failing on."""
    from helpers import shared_path

    from lab.reps.evaluate import generate_suite_clips
    from lab.score.uncertainty import load_landmark_noise

    shared_path("data", "bandai_d1", f"dataset-1_{take}.bvh")
    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0))
    return next(generate_suite_clips([take], counts=(count,), gaps_deg=(gap_deg,), noise_scale=scale,
                                     pose_locked_share=0.0, end_partials=False))


def test_a_repetition_whose_best_match_takes_in_the_one_before_is_found_between_the_others():
    """Twelve angry "byebye"s, the clip filmed 90 degrees round: the best match ending with the fourth
    starts inside the third, already taken, so eleven were counted; the stretches left between the
    matches are searched again on their own."""
    from lab.reps.evaluate import match_truth
    from lab.score.compare import prepare_features

    item = _suite_clip("byebye_angry_001", count=12, gap_deg=90.0)
    found = find_repetitions(item.query, prepare_features(item.filmed))
    assert [r.partial for r in found] == [False] * 12
    errors = np.array(match_truth(found, item.truth.starts_s, item.truth.ends_s))
    assert np.median(errors) <= 0.2 and errors.max() <= 0.5


@pytest.mark.parametrize("count", [2, 3])
def test_the_second_half_of_a_repetition_at_the_start_is_not_taken_for_a_whole_one(count):
    """Angry "byebye" clips starting with the second half of one: the coach's whole repetition, squeezed
    to twice its tempo, matched that half well enough to be counted as one more."""
    from lab.score.compare import prepare_features

    item = _suite_clip("byebye_angry_001", count=count, gap_deg=0.0)
    assert item.truth.partial is not None
    found = find_repetitions(item.query, prepare_features(item.filmed))
    assert sum(not r.partial for r in found) == count
    assert found[0].partial and found[0].end_s <= item.truth.starts_s[0] + 0.2


def test_half_a_repetition_just_after_the_clip_starts_is_not_taken_for_a_whole_one():
    """Five happy "bye"s (a quick raise, then waves) after the second half of one, as the suite films
    them: the best match for the half started 0.6 s into the clip, too little before it to be anything,
    but not touching the start, so it was counted as a sixth repetition."""
    from helpers import shared_path

    from lab.reps.evaluate import generate_suite_clips
    from lab.score.compare import prepare_features
    from lab.score.uncertainty import load_landmark_noise

    shared_path("data", "bandai_d1", "dataset-1_bye_happy_001.bvh")
    scale = float(load_landmark_noise().get("distance_matched_scale", 1.0))
    item = next(generate_suite_clips(["bye_happy_001"], counts=(5,), gaps_deg=(0.0,), noise_scale=scale))
    assert item.truth.partial is not None and item.truth.partial_back is None
    found = find_repetitions(item.query, prepare_features(item.filmed))
    assert [r.partial for r in found] == [True] + [False] * 5
    assert found[0].start_s == 0.0


def test_repetitions_align_onto_their_medoid_pose_for_pose():
    """Four cycles at tempos between 0.7 and 1.3, pauses between: each path onto the medoid pairs samples of
    the same pose (the same share of the cycle), whatever the tempo; the medoid's own path is the identity."""
    from lab.reps.segment import Repetition, align_repetitions

    clip = repeat_motion(_rep(), count=4, rng=np.random.default_rng(11))
    reps = [Repetition(index=k + 1, start_s=s, end_s=e, partial=False, cost_fraction=0.0)
            for k, (s, e) in enumerate(zip(clip.starts_s, clip.ends_s))]
    aligned = align_repetitions(_features(clip.track), reps)
    medoid = aligned.pieces[aligned.medoid]
    assert len(aligned.pieces) == len(aligned.paths) == 4
    assert np.array_equal(aligned.paths[aligned.medoid][:, 0], aligned.paths[aligned.medoid][:, 1])
    for piece, path in zip(aligned.pieces, aligned.paths):
        assert path[0].tolist() == [0, 0] and path[-1].tolist() == [len(medoid.time_s) - 1, len(piece.time_s) - 1]
        assert np.all(np.diff(path, axis=0) >= 0)
        medoid_share = path[:, 0] / (len(medoid.time_s) - 1)
        own_share = path[:, 1] / (len(piece.time_s) - 1)
        assert np.median(np.abs(medoid_share - own_share)) < 0.05
