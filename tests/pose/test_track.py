"""The pose structure and its Parquet format."""

import numpy as np
import pandas as pd
import pytest

from lab.pose.track import BLAZEPOSE_KEYPOINTS, COLUMNS, PoseFormatError, PoseTrack, read_track, write_track


def _track(T=5, with_gap=True):
    rng = np.random.default_rng(0)
    K = len(BLAZEPOSE_KEYPOINTS)
    img = rng.uniform(0, 500, (T, K, 2))
    wld = rng.normal(0, 0.3, (T, K, 3))
    vis = rng.uniform(0, 1, (T, K))
    if with_gap:
        img[2] = np.nan
        wld[2] = np.nan
        vis[2] = 0.0
    return PoseTrack(time_s=np.arange(T) / 30.0, keypoints=BLAZEPOSE_KEYPOINTS, image_px=img, world_m=wld,
                     visibility=vis, presence=vis, image_z=rng.normal(size=(T, K)), frame="camera",
                     meta={"width": 640, "height": 480, "fps": 30.0, "source": "x.mp4"})


def test_parquet_round_trip_keeps_values_nans_and_metadata(tmp_path):
    tr = _track()
    path = write_track(tr, tmp_path / "t.parquet")
    back = read_track(path)
    assert back.keypoints == tr.keypoints
    np.testing.assert_allclose(back.image_px, tr.image_px)
    np.testing.assert_allclose(back.world_m, tr.world_m)
    np.testing.assert_allclose(back.visibility, tr.visibility)
    assert np.isnan(back.image_px[2]).all() and not back.detected()[2]
    assert back.frame == "camera" and back.meta["width"] == 640 and back.fps == 30.0
    assert not list(tmp_path.glob(".*part")), "temporary file left behind"


def test_file_columns_are_the_documented_ones(tmp_path):
    df = pd.read_parquet(write_track(_track(), tmp_path / "t.parquet"))
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 5 * 33
    np.testing.assert_allclose(df["x_norm"], df["x_px"] / 640)


def test_foreign_table_without_metadata_is_read(tmp_path):
    """Another detector can feed the pipeline with a plain table of the documented columns."""
    df = _track(with_gap=False).to_dataframe()[["frame", "time_s", "keypoint", "x_px", "y_px"]]
    df = df[df["keypoint"].isin(["left_hip", "right_hip", "nose"])]
    p = tmp_path / "foreign.parquet"
    df.to_parquet(p)
    tr = read_track(p)
    assert tr.keypoints == ("nose", "left_hip", "right_hip")
    assert tr.world_m is None and tr.image_px.shape == (5, 3, 2)


def test_missing_columns_and_bad_shapes_are_rejected(tmp_path):
    p = tmp_path / "bad.parquet"
    pd.DataFrame({"frame": [0], "keypoint": ["nose"], "x_px": [1.0]}).to_parquet(p)
    with pytest.raises(PoseFormatError, match="missing columns: time_s"):
        read_track(p)
    with pytest.raises(PoseFormatError, match="shape"):
        PoseTrack(time_s=[0, 1], keypoints=("a",), image_px=np.zeros((3, 1, 2)))
    with pytest.raises(PoseFormatError, match="increasing"):
        PoseTrack(time_s=[0, 0], keypoints=("a",), image_px=np.zeros((2, 1, 2)))
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(PoseFormatError, match="not a readable"):
        read_track(tmp_path / "junk.parquet")
