"""Hostile pose files (Parquet, TRC, BVH) built here: `lab compare` refuses each with exit 2, one `error:` line
naming the reason, no traceback, nothing written, in bounded time and memory (lab.pose.validate)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile import assert_refused, run_lab, snapshot
from synthetic_pose import standing

from lab.pose import validate as V
from lab.pose.mocap import write_trc
from lab.pose.track import BLAZEPOSE_KEYPOINTS, PoseFormatError, check_track, read_track, write_track


@pytest.fixture
def good(tmp_path) -> Path:
    p = tmp_path / "good.parquet"
    write_track(standing(90), p)
    return p


def _with_header(src: Path, dst: Path, change) -> None:
    t = pq.read_table(src)
    md = dict(t.schema.metadata)
    raw = md[b"lab.pose"]
    new = change(json.loads(raw))
    md[b"lab.pose"] = new if isinstance(new, bytes) else json.dumps(new).encode()
    pq.write_table(t.replace_schema_metadata(md), dst)


def _header(**kv):
    def change(h):
        for k, v in kv.items():
            if k.startswith("meta_"):
                h["meta"][k[5:]] = v
            else:
                h[k] = v
        return h
    return change


def _table(src: Path, dst: Path, change) -> None:
    t = pq.read_table(src)
    pq.write_table(change(t), dst)


def _set_column(name, values):
    def change(t):
        i = t.schema.get_field_index(name)
        return t.set_column(i, name, pa.array(values))
    return change


def _track(dst: Path, **changes) -> None:
    tr = standing(90)
    write_track(tr.replace(**changes), dst)


def _trc_text(tmp_path) -> str:
    tr = standing(90)
    tr = tr.replace(world_m=tr.world_m * np.array([1.0, -1.0, -1.0]), frame="lab")   # y up, as mocap is
    p = tmp_path / "ok.trc"
    write_trc(tr, p)
    return p.read_text()


def _bvh_text(frames: int = 40, frame_time: str = "0.0333333") -> str:
    motion = "\n".join(" ".join(["0"] * 3 + [f"{10 * np.sin(i / 5):.3f}"] + ["0"] * 11) for i in range(frames))
    return textwrap.dedent(f"""\
        HIERARCHY
        ROOT Hips
        {{
          OFFSET 0 0 0
          CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
          JOINT LeftUpLeg
          {{
            OFFSET 10 0 0
            CHANNELS 3 Zrotation Xrotation Yrotation
            JOINT LeftLeg
            {{
              OFFSET 0 -45 0
              CHANNELS 3 Zrotation Xrotation Yrotation
              End Site
              {{
                OFFSET 0 -45 0
              }}
            }}
          }}
          JOINT RightUpLeg
          {{
            OFFSET -10 0 0
            CHANNELS 3 Zrotation Xrotation Yrotation
            End Site
            {{
              OFFSET 0 -45 0
            }}
          }}
        }}
        MOTION
        Frames: {frames}
        Frame Time: {frame_time}
        """) + motion + "\n"


def build(case: str, tmp_path: Path, good: Path) -> Path:
    """The hostile file for ``case``, in tmp_path."""
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    pqf = d / f"{case}.parquet"
    # ---- metadata (item 8)
    meta_cases = {
        "meta_not_json": lambda h: b"{not json",
        "meta_a_list": lambda h: b"[1, 2, 3]",
        "meta_a_number": lambda h: b"42",
        "meta_meta_is_string": _header(meta="hello"),
        "meta_version_text": _header(version="one"),
        "meta_version_float": _header(version=1.5),
        "meta_version_newer": _header(version=99),
        "meta_format_other": _header(format="openpose"),
        "meta_frame_unknown": _header(frame="world"),
        "meta_frame_number": _header(frame=3),
        "meta_width_text": _header(meta_width="wide"),
        "meta_width_negative": _header(meta_width=-5),
        "meta_height_bool": _header(meta_height=True),
        "meta_fps_text": _header(meta_fps="sixty"),
        "meta_fps_zero": _header(meta_fps=0),
        "meta_first_video_frame_negative": _header(meta_first_video_frame=-3),
        "meta_first_video_frame_fraction": _header(meta_first_video_frame=2.5),
        "meta_keypoints_not_list": _header(keypoints="nose"),
        "meta_keypoints_mismatch": _header(keypoints=[f"k{i}" for i in range(33)]),
        "meta_keypoints_fewer": _header(keypoints=list(BLAZEPOSE_KEYPOINTS[:20])),
    }
    if case in meta_cases:
        _with_header(good, pqf, meta_cases[case])
        return pqf
    n = pq.read_metadata(good).num_rows
    # ---- table (items 3, 8)
    if case == "zero_rows":
        _table(good, pqf, lambda t: t.slice(0, 0))
    elif case == "frame_as_float":
        _table(good, pqf, _set_column("frame", np.repeat(np.arange(90.0), 33)))
    elif case == "frame_as_text":
        _table(good, pqf, _set_column("frame", [str(i) for i in np.repeat(np.arange(90), 33)]))
    elif case == "coordinates_as_text":
        _table(good, pqf, _set_column("x_m", ["0.1"] * n))
    elif case == "time_as_text":
        _table(good, pqf, _set_column("time_s", ["0"] * n))
    elif case == "keypoint_missing_names":
        _table(good, pqf, _set_column("keypoint", [None] * n))
    elif case == "sparse_grid":   # every row a new frame and a new landmark: T x K would be 9e6 cells
        k = 3000
        pd.DataFrame({"frame": np.arange(k), "time_s": np.arange(k) / 30, "keypoint": [f"k{i}" for i in range(k)],
                      "x_px": 1.0, "y_px": 1.0}).to_parquet(pqf)
    elif case == "too_many_rows":  # 100k frames x 33 landmarks (941 s and 6.35 GB before)
        T = 100_000
        pq.write_table(pa.table({"frame": np.repeat(np.arange(T), 33), "time_s": np.repeat(np.arange(T) / 30, 33),
                                 "keypoint": np.tile(np.array(BLAZEPOSE_KEYPOINTS), T),
                                 "x_m": np.zeros(T * 33), "y_m": np.zeros(T * 33), "z_m": np.zeros(T * 33)}), pqf)
    elif case == "too_many_frames":
        write_track(standing(V.MAX_FRAMES + 1000, fps=60.0), pqf)
    # ---- values (items 3, 6, 8)
    elif case == "span_x1e5":
        tr = standing(90)
        write_track(tr.replace(time_s=tr.time_s * 1e5, meta={}), pqf)
    elif case == "span_x1e12":
        tr = standing(90)
        write_track(tr.replace(time_s=tr.time_s * 1e12, meta={}), pqf)
    elif case == "rate_too_high":
        tr = standing(90)
        write_track(tr.replace(time_s=tr.time_s * 1e-3, meta={}), pqf)
    elif case in ("inf_world", "inf_pixels", "huge_world", "visibility_above_1", "inf_z"):
        tr = standing(90)
        w, px, vis, z = tr.world_m.copy(), tr.image_px.copy(), tr.visibility.copy(), tr.image_z.copy()
        if case == "inf_world":
            w[10:20, 11] = np.inf
        elif case == "inf_pixels":
            px[5, 3, 1] = -np.inf
        elif case == "huge_world":
            w[:, 0] = 1e300
        elif case == "visibility_above_1":
            vis[:] = 7.0
        else:
            z[0, 0] = np.inf
        write_track(tr.replace(world_m=w, image_px=px, visibility=vis, image_z=z), pqf)
    elif case == "camera_data_labelled_body":       # item 6: scored 0/100 "different" before
        write_track(standing(90).replace(frame="body"), pqf)
    elif case == "camera_data_labelled_lab":
        write_track(standing(90).replace(frame="lab"), pqf)
    elif case == "body_data_labelled_camera":
        tr = standing(90)
        write_track(tr.replace(world_m=tr.world_m * np.array([1.0, -1.0, -1.0])), pqf)
    # ---- the file itself
    elif case == "empty_file":
        pqf.write_bytes(b"")
    elif case == "truncated_file":
        pqf.write_bytes(good.read_bytes()[:3000])
    elif case == "random_bytes":
        pqf.write_bytes(np.random.default_rng(0).bytes(20_000))
    elif case == "oversized_file":                 # sparse: 257 MB on paper, nothing on disk
        with open(pqf, "wb") as f:
            f.truncate(V.MAX_FILE_BYTES + 2**20)
    elif case == "a_directory":
        pqf.mkdir()
    # ---- TRC (item 8)
    elif case.startswith("trc_"):
        p = d / f"{case}.trc"
        text = _trc_text(tmp_path)
        lines = text.splitlines(keepends=True)
        if case == "trc_cut_after_line_1":
            p.write_text(lines[0])
        elif case == "trc_cut_in_line_3":
            p.write_text("".join(lines[:2]) + lines[2][:5])
        elif case == "trc_cut_in_names":
            p.write_text("".join(lines[:3]) + lines[3][:12])
        elif case == "trc_no_data_rows":
            p.write_text("".join(lines[:5]))
        elif case == "trc_rate_text":
            p.write_text(lines[0] + lines[1] + "fast\t" + lines[2].split("\t", 1)[1] + "".join(lines[3:]))
        elif case == "trc_time_text":
            p.write_text("".join(lines[:6]) + re.sub(r"^(\d+)\t[^\t]+", r"\1\tsoon", lines[6]) + "".join(lines[7:]))
        elif case == "trc_inf":
            fields = lines[6].split("\t")
            fields[3] = "inf"
            p.write_text("".join(lines[:6]) + "\t".join(fields) + "".join(lines[7:]))
        elif case == "trc_span_x1e5":
            rows = [re.sub(r"^(\d+)\t([^\t]+)", lambda m: f"{m[1]}\t{float(m[2]) * 1e5!r}", l) for l in lines[5:]]
            p.write_text("".join(lines[:5]) + "".join(rows))
        elif case == "trc_too_many_frames":
            last = lines[-1]
            p.write_text("".join(lines) + last * (V.MAX_FRAMES + 10))
        return p
    # ---- BVH (item 8)
    elif case.startswith("bvh_"):
        p = d / f"{case}.bvh"
        if case == "bvh_frame_time_0":
            p.write_text(_bvh_text(frame_time="0"))
        elif case == "bvh_frame_time_negative":
            p.write_text(_bvh_text(frame_time="-0.01"))
        elif case == "bvh_frame_time_nan":
            p.write_text(_bvh_text(frame_time="nan"))
        elif case == "bvh_frames_declared_huge":      # refused before the rotation arrays are allocated
            p.write_text(_bvh_text().replace("Frames: 40", "Frames: 1000000000"))
        elif case == "bvh_frames_zero":
            p.write_text(_bvh_text().replace("Frames: 40", "Frames: 0"))
        elif case == "bvh_cut_in_hierarchy":
            p.write_text(_bvh_text()[:120])
        elif case == "bvh_rotation_axes":
            p.write_text(_bvh_text().replace("CHANNELS 3 Zrotation Xrotation Yrotation\n    JOINT LeftLeg",
                                             "CHANNELS 3 Zrotation Zrotation Zrotation\n    JOINT LeftLeg"))
        elif case == "bvh_inf":
            p.write_text(_bvh_text().replace("\n0 0 0 0.000", "\ninf 0 0 0.000", 1))
        return p
    else:
        raise ValueError(case)
    return pqf


CASES = {   # case: words the error line must hold
    "meta_not_json": "not valid JSON", "meta_a_list": "JSON list, not an object",
    "meta_a_number": "JSON int, not an object", "meta_meta_is_string": "'meta' is a JSON str",
    "meta_version_text": "version 'one'", "meta_version_float": "version 1.5", "meta_version_newer": "newer",
    "meta_format_other": "openpose", "meta_frame_unknown": "'world'", "meta_frame_number": "3D frame 3",
    "meta_width_text": "meta.width is 'wide'", "meta_width_negative": "meta.width is -5",
    "meta_height_bool": "meta.height is True", "meta_fps_text": "meta.fps is 'sixty'", "meta_fps_zero": "meta.fps",
    "meta_first_video_frame_negative": "meta.first_video_frame is -3",
    "meta_first_video_frame_fraction": "meta.first_video_frame is 2.5",
    "meta_keypoints_not_list": "'keypoints' is not a list", "meta_keypoints_mismatch": "do not match",
    "meta_keypoints_fewer": "do not match",
    "zero_rows": "no rows", "frame_as_float": "column frame is double", "frame_as_text": "column frame is string",
    "coordinates_as_text": "column x_m is string", "time_as_text": "column time_s is string",
    "keypoint_missing_names": "column keypoint", "sparse_grid": "3000 landmarks per frame",
    "too_many_rows": "3300000 rows", "too_many_frames": f"{V.MAX_FRAMES + 1000} frames",
    "span_x1e5": "spans", "span_x1e12": "spans", "rate_too_high": "per second",
    "inf_world": "x_m/y_m/z_m has infinite values", "inf_pixels": "x_px/y_px has infinite values",
    "inf_z": "z_norm has infinite values", "huge_world": "x_m/y_m/z_m has values up to 1e+300",
    "visibility_above_1": "visibility has values outside [0, 1]",
    "camera_data_labelled_body": "labelled frame 'body'", "camera_data_labelled_lab": "labelled frame 'lab'",
    "body_data_labelled_camera": "labelled frame 'camera'",
    "empty_file": "empty (0 bytes)", "truncated_file": "not a readable Parquet", "random_bytes": "not a readable",
    "oversized_file": "at most 256 MB", "a_directory": "directory",
    "trc_cut_after_line_1": "header is cut short", "trc_cut_in_line_3": "header is cut short",
    "trc_cut_in_names": "header is cut short", "trc_no_data_rows": "no frames (0 rows)",
    "trc_rate_text": "not a readable TRC", "trc_time_text": "not a readable TRC",
    "trc_inf": "infinite values", "trc_span_x1e5": "spans", "trc_too_many_frames": "frames; at most",
    "bvh_frame_time_0": "Frame Time is 0", "bvh_frame_time_negative": "Frame Time is -0.01",
    "bvh_frame_time_nan": "Frame Time is nan", "bvh_frames_declared_huge": "1000000000 frames",
    "bvh_frames_zero": "no frames", "bvh_cut_in_hierarchy": "not a readable BVH",
    "bvh_rotation_axes": "rotation channels", "bvh_inf": "infinite values",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_pose_file_is_refused_cleanly(tmp_path, good, case):
    bad = build(case, tmp_path, good)
    before = snapshot(tmp_path)
    # run under a wrapper that reports the peak memory of `lab compare` (the 1e5 span used to need 23.5 GB)
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'lab', 'compare', *sys.argv[1:]], capture_output=True, text=True)\n"
            "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(r.returncode)")
    for args in ([good, bad] if case.startswith("meta_") else [bad, good],):   # either place is checked
        r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                           timeout=120)
        peak_mb = int(r.stdout.strip().splitlines()[-1]) / 1024
        assert_refused(r, 2, before=before, after=snapshot(tmp_path), words=CASES[case])
        assert str(bad.name) in r.stderr
        assert peak_mb < 1000, f"{case}: peak memory {peak_mb:.0f} MB"


def test_a_lifted_body_frame_file_and_mocap_still_pass(tmp_path, good):
    """The frame-label check refuses only what is upside down: real body-frame and mocap data pass."""
    from lab.lift import lift_track

    body = tmp_path / "model.parquet"
    write_track(lift_track(standing(90)), body)
    check_track(read_track(body))
    trc = tmp_path / "ok.trc"
    trc.write_text(_trc_text(tmp_path))
    bvh = tmp_path / "ok.bvh"
    bvh.write_text(_bvh_text())
    from lab.pose.mocap import read_mocap
    assert read_mocap(trc).n_frames == 90 and read_mocap(bvh).n_frames == 40
    r = run_lab("compare", body, good)
    assert r.returncode == 0 and "verdict: SAME" in r.stdout, r.stdout + r.stderr


def test_the_limits_are_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for value in (f"{V.MAX_FRAMES:,}", f"{V.MAX_DURATION_S:g} s", f"{V.MAX_KEYPOINTS}", f"{V.MAX_SAMPLES:,}",
                  f"{V.MIN_RATE_HZ:g}-{V.MAX_RATE_HZ:g} Hz", f"{V.MAX_FILE_BYTES // 2**20} MB"):
        assert value in readme, value


def test_validation_happens_before_the_grid_is_allocated(monkeypatch, tmp_path):
    """A sparse table that would need a 9e6-cell grid is refused by the count check, not by memory."""
    k = 3000
    df = pd.DataFrame({"frame": np.arange(k), "time_s": np.arange(k) / 30, "keypoint": [f"k{i}" for i in range(k)],
                       "x_px": 1.0, "y_px": 1.0})
    import lab.pose.track as T
    calls = []
    real_full = np.full
    monkeypatch.setattr(T.np, "full", lambda shape, *a, **kw: calls.append(shape) or real_full(shape, *a, **kw))
    with pytest.raises(PoseFormatError, match="landmarks per frame"):
        T.PoseTrack.from_dataframe(df)
    assert not any(np.prod(s) > 1e6 for s in calls if isinstance(s, tuple)), calls
