"""Plotly figures: contents checked against values known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseTrack
from lab.viz import (
    animate_skeleton_3d,
    confusion_at,
    plot_angle_bands,
    plot_bone_lengths,
    plot_dtw_path,
    plot_joint_angles,
    plot_pose_quality,
    plot_threshold_explorer,
    plot_viewpoints,
)

K = len(BLAZEPOSE_KEYPOINTS)


def _track(n, *, frame="body", seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, K, 3)) * 0.3
    return PoseTrack(time_s=np.arange(n) / 30.0, keypoints=BLAZEPOSE_KEYPOINTS, world_m=w, frame=frame)


def _joint_xyz(fig_frame, trace_index, k):
    t = fig_frame.data[trace_index]
    return np.array([t.x[k], t.y[k], t.z[k]], dtype=float)


def test_animation_follows_the_dtw_path():
    a, b = _track(10, seed=1), _track(7, seed=2)
    path = np.array([[0, 0], [1, 0], [2, 1], [3, 2], [4, 2], [5, 3], [6, 4], [7, 5], [8, 6], [9, 6]])
    fig = animate_skeleton_3d([a, b], ["coach", "player"], path=path, max_frames=100)
    assert len(fig.frames) == len(path)
    assert fig.layout.updatemenus[0].buttons[0].label == "Play"
    assert len(fig.layout.sliders[0].steps) == len(path)
    nose = BLAZEPOSE_KEYPOINTS.index("nose")
    for s, (r, t) in enumerate(path):
        # traces per step: coach lines, coach joints, player lines, player joints
        np.testing.assert_allclose(_joint_xyz(fig.frames[s], 1, nose), a.world_m[r, nose], atol=1e-4)
        np.testing.assert_allclose(_joint_xyz(fig.frames[s], 3, nose), b.world_m[t, nose], atol=1e-4)
    assert fig.layout.scene.camera.up.y == 1


def test_animation_turns_camera_frame_to_y_up_and_subsamples():
    a = _track(50, frame="camera")
    fig = animate_skeleton_3d([a], ["x"], max_frames=10)
    assert len(fig.frames) == 10
    nose = BLAZEPOSE_KEYPOINTS.index("nose")
    np.testing.assert_allclose(_joint_xyz(fig.frames[0], 1, nose), a.world_m[0, nose] * [1, -1, -1], atol=1e-4)
    last = fig.frames[-1]
    np.testing.assert_allclose(_joint_xyz(last, 1, nose), a.world_m[49, nose] * [1, -1, -1], atol=1e-4)


def test_threshold_explorer_steps_carry_the_right_roc_point_and_counts():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([True, True, False, False])
    assert confusion_at(d, y, 2.5) == dict(tp=2, fp=0, fn=0, tn=2)
    assert confusion_at(d, y, 3.5) == dict(tp=2, fp=1, fn=0, tn=1)
    fig = plot_threshold_explorer(d, y, thresholds=np.array([0.5, 2.5, 3.5]))
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0.5", "2.5", "3.5"]
    expected = {0: ([0.0], [0.0]), 1: ([0.0], [1.0]), 2: ([0.5], [1.0])}
    for i, (fx, fy) in expected.items():
        data, layout, traces = steps[i].args
        assert list(traces) == [2, 3, 4]
        assert list(data["x"][0]) == fx and list(data["y"][0]) == fy
        assert list(data["x"][2]) == [[0.5, 2.5, 3.5][i]] * 2
    # at 3.5 the pair at distance 3 (really different) is called same: wrong (red), the others right
    colors = steps[2].args[0]["marker.color"][1]
    assert list(colors) == ["#2ca02c", "#2ca02c", "#d62728", "#2ca02c"]
    assert "accuracy 75%" in steps[2].args[1]["annotations"][-1]["text"]
    assert "accuracy 100%" in steps[1].args[1]["annotations"][-1]["text"]
    # the initial state is the middle step's
    assert list(fig.data[2].x) == [0.0] and list(fig.data[2].y) == [1.0]


def test_threshold_explorer_rejects_mismatched_inputs():
    with pytest.raises(ValueError):
        plot_threshold_explorer(np.array([1.0, 2.0]), np.array([True]))


def test_pose_quality_shows_detection_per_frame():
    tr = _track(20, frame="camera")
    tr.world_m[5:8] = np.nan
    tr = PoseTrack(time_s=tr.time_s, keypoints=tr.keypoints, world_m=tr.world_m, frame="camera")
    fig = plot_pose_quality(tr)
    np.testing.assert_array_equal(np.asarray(fig.data[0].y), tr.detected().astype(float))
    assert "85%" in fig.layout.annotations[0].text
    assert {t.name.split(" ")[0] for t in fig.data[1:]} == {"face", "arms", "legs"}


def test_bone_lengths_constant_for_a_rigid_pose():
    base = np.random.default_rng(3).normal(size=(K, 3))
    w = np.repeat(base[None], 5, axis=0) + np.arange(5)[:, None, None] * 0.1  # translated, rigid
    tr = PoseTrack(time_s=np.arange(5) / 30, keypoints=BLAZEPOSE_KEYPOINTS, world_m=w, frame="body")
    fig = plot_bone_lengths(tr)
    for t in fig.data:
        assert np.ptp(np.asarray(t.y, float)) < 1e-9
        assert t.name.endswith(" 0.0%")  # the spread (cv) of each bone
    names = {t.name.rsplit(" ", 1)[0] for t in fig.data}
    assert {"shoulders", "hips", "L upper arm", "R forearm", "L thigh", "R shin"} <= names


def test_joint_angles_are_warped_by_the_path():
    ref = {"knee": np.array([0.0, 10, 20, 30])}
    att = {"knee": np.array([5.0, 25, 35])}
    path = np.array([[0, 0], [1, 0], [2, 1], [3, 2]])
    fig = plot_joint_angles(ref, att, path=path)
    np.testing.assert_array_equal(fig.data[0].y, [0, 10, 20, 30])
    np.testing.assert_array_equal(fig.data[1].y, [5, 5, 25, 35])
    with pytest.raises(ValueError):
        plot_joint_angles({"a": ref["knee"]}, {"b": att["knee"]})


def test_angle_bands_surround_each_curve_by_its_own_standard_error():
    import pandas as pd
    c = pd.DataFrame({"reference_time_s": [0.0, 0.1, 0.2], "reference_deg": [10.0, 20.0, 30.0],
                      "attempt_deg": [12.0, 22.0, np.nan], "reference_se_deg": [1.0, 2.0, 3.0],
                      "attempt_se_deg": [5.0, 5.0, 5.0]})
    fig = plot_angle_bands({"left_knee": c, "neck": c}, titles={"left_knee": "left knee: detectable 13 deg"})
    assert [a.text for a in fig.layout.annotations] == ["left knee: detectable 13 deg", "neck"]
    assert len(fig.data) == 2 * 2 * 3                       # per joint and clip: lower edge, upper edge, curve
    low, up, ref = fig.data[:3]
    assert up.fill == "tonexty" and low.fill is None and "95% band" in up.name
    np.testing.assert_allclose(np.asarray(low.y, float), [10 - 1.96, 20 - 3.92, 30 - 5.88])
    np.testing.assert_allclose(np.asarray(up.y, float), [10 + 1.96, 20 + 3.92, 30 + 5.88])
    np.testing.assert_allclose(np.asarray(ref.y, float), [10, 20, 30])
    np.testing.assert_allclose(np.asarray(ref.x, float), [0.0, 0.1, 0.2])    # the coach's matched time
    a_low, a_up, att = fig.data[3:6]
    assert a_up.fill == "tonexty" and att.name == "player"
    assert list(a_up.y)[:2] == [12 + 9.8, 22 + 9.8] and a_up.y[2] is None      # a gap stays a gap
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 4
    with pytest.raises(ValueError):
        plot_angle_bands({})


def test_dtw_path_in_seconds():
    path = np.array([[0, 0], [1, 1], [2, 1]])
    fig = plot_dtw_path(path, reference_time_s=np.array([0, 0.5, 1.0]), attempt_time_s=np.array([0, 0.25]))
    np.testing.assert_allclose(fig.data[-1].x, [0, 0.25, 0.25])
    np.testing.assert_allclose(fig.data[-1].y, [0, 0.5, 1.0])


def test_viewpoints_place_cameras_with_their_azimuth():
    views = {"left": np.array([3.0, 1.0, 0.0]), "front": np.array([0.0, 1.0, 3.0]),
             "behind": np.array([0.0, 1.0, -3.0])}
    fig = plot_viewpoints(views, pose_m=np.zeros((K, 3)))
    names = {t.name for t in fig.data if t.name}
    assert "left (azimuth +90 deg)" in names
    assert "front (azimuth +0 deg)" in names
    assert "behind (azimuth +180 deg)" in names
    left = [t for t in fig.data if t.name == "left (azimuth +90 deg)"][0]
    assert (left.x[0], left.y[0]) == (-3.0, 0.0)              # seen from above: the subject's left is at -right
    assert "left" in left.hovertext[0] and "3.0 m away" in left.hovertext[0] and "+1.0 m above" in left.hovertext[0]
    assert left.textposition == "middle right"                 # its label points inwards, into the frame


def test_viewpoints_frame_every_camera_and_the_body_with_room_for_labels():
    """Both cameras far from the body (the plot once framed the body only): all inside, equal scales."""
    views = {"coach camera": np.array([0.5, 1.2, 4.0]), "player camera": np.array([-2.0, 0.8, -3.5])}
    fig = plot_viewpoints(views, pose_m=np.random.default_rng(0).normal(size=(K, 3)) * 0.3)
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    for t in fig.data:
        for x, y in zip(t.x, t.y):
            if x is not None:
                assert xr[0] + 0.5 < x < xr[1] - 0.5 and yr[0] + 0.5 < y < yr[1] - 0.5, (t.name, x, y)
    assert fig.layout.yaxis.scaleanchor == "x" and "(m)" in fig.layout.xaxis.title.text
    assert "(m)" in fig.layout.yaxis.title.text


def test_titles_wrap_to_fit_a_phone():
    from lab.viz.plots import TITLE_LINE_CHARS, wrap_title
    text = "right hip abduction: can't be judged (noise hides differences under 66 deg)"
    lines = wrap_title(text).split("<br>")
    assert len(lines) == 2 and all(len(x) <= TITLE_LINE_CHARS for x in lines) and " ".join(lines) == text
    assert wrap_title("short") == "short"


def test_animation_slider_never_repeats_a_tick_and_times_start_at_zero():
    """The DTW path repeats a coach frame where the player lingers: one slider step per coach frame."""
    a, b = _track(6, seed=1), _track(9, seed=2)
    a = PoseTrack(time_s=a.time_s + 5.0, keypoints=a.keypoints, world_m=a.world_m, frame="body")
    path = np.array([[0, 0], [1, 1], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [4, 7], [5, 8]])
    fig = animate_skeleton_3d([a, b], ["coach", "player"], path=path, max_frames=100)
    labels = [s.label for s in fig.layout.sliders[0].steps]
    assert labels == ["0.00", "0.03", "0.07", "0.10", "0.13", "0.17"]      # coach's time from its start
    assert fig.layout.title.text == "coach 0.00 s | player 0.00 s"
    assert fig.frames[2].layout.title.text == "coach 0.07 s | player 0.13 s"
    for axis in ("xaxis", "yaxis", "zaxis"):
        assert "(m)" in fig.layout.scene[axis].title.text
    assert fig.layout.legend.orientation == "h"


def test_joint_angles_on_the_coachs_time_with_the_players_in_the_hover():
    ref = {"knee": np.array([0.0, 10, 20, 30])}
    att = {"knee": np.array([5.0, 25, 35])}
    path = np.array([[0, 0], [1, 0], [2, 1], [3, 2]])
    fig = plot_joint_angles(ref, att, path=path, reference_time_s=np.arange(4) / 10, attempt_time_s=np.arange(3) / 5)
    np.testing.assert_allclose(fig.data[0].x, [0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(fig.data[1].customdata, [0, 0, 0.2, 0.4])
    assert "player %{customdata:.2f} s" in fig.data[1].hovertemplate
    assert fig.layout.xaxis.title.text == "coach's time (s)"


def test_auc_by_gap_names_methods_in_words():
    import pandas as pd

    from lab.viz import plot_auc_by_gap

    summary = pd.DataFrame({"gap_deg": [0, 90, 0, 90], "method": ["ours_lifted"] * 2 + ["just_dance_2d"] * 2,
                            "auc": [1.0, 0.99, 0.9, 0.7]})
    fig = plot_auc_by_gap(summary)
    assert [t.name for t in fig.data] == ["this tool: 3D body-frame angles, DTW", "2D keypoints (MMPose Just Dance)"]
    assert fig.data[0].line.width == 4 and fig.data[1].line.width == 2


def test_reliability_draws_each_named_series_and_counts_the_first():
    from lab.viz.reliability import plot_reliability

    raw = [{"bin_low": 0.0, "bin_high": 0.1, "count": 40, "mean_p_same": 0.05, "share_same": 0.1},
           {"bin_low": 0.9, "bin_high": 1.0, "count": 10, "mean_p_same": 0.95, "share_same": 0.8}]
    weighed = [dict(r, share_same=r["mean_p_same"]) for r in raw]
    fig = plot_reliability({"every pair": raw, "classes weighed alike": weighed})
    names = [t.name for t in fig.data]
    assert names == ["calibrated", "every pair", "pairs per bin", "classes weighed alike"]
    assert list(fig.data[3].y) == [0.05, 0.95] and list(fig.data[2].y) == [40, 10]
    one = plot_reliability(raw)
    assert [t.name for t in one.data] == ["calibrated", "out-of-fold pairs", "pairs per bin"]
