"""Pose model bundles built offline from registry packages."""

import io
import shutil
import zipfile

import pytest

from lab.io import LabError
from lab.pose import models


@pytest.mark.parametrize("name", ["full", "lite"])
def test_bundle_is_byte_identical_on_rebuild_and_loads(name):
    if name != "full" and not shutil.which("npm"):
        pytest.skip("npm is not installed: the lite/heavy networks come from the npm registry")
    det, lmk, source = models.read_registry_models(name)
    a = models.build_task_bundle(det, lmk)
    b = models.build_task_bundle(det, lmk)
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert sorted(z.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    models.check_bundle_loads(a)  # raises if the Tasks API refuses it
    assert "mediapipe==0.10.21" in source


def test_plain_tflite_without_metadata_is_refused():
    """Why the bundle builder exists: the Tasks API wants normalisation metadata."""
    det, lmk, _ = models.read_registry_models("full")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("pose_detector.tflite", det)
        z.writestr("pose_landmarks_detector.tflite", lmk)
    with pytest.raises(LabError, match="does not load"):
        models.check_bundle_loads(out.getvalue())


def test_damaged_cached_model_is_detected_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    path = models.ensure_model("full", offline=True)
    good = path.read_bytes()
    assert models.model_status("full")["ok"]
    path.write_bytes(good[:1000])  # truncated, as after a crash or a bad disk
    assert not models.model_status("full")["ok"]
    again = models.ensure_model("full", offline=True)
    assert again.read_bytes() == good
    assert models.model_status("full")["source"].startswith("pypi:mediapipe==0.10.21")


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(LabError, match="unknown model 'huge'"):
        models.ensure_model("huge")


# ------------------------------------------------------------- mask head removed
def _graph(model: bytes):
    from mediapipe.tasks.metadata import schema_py_generated as S
    return S.ModelT.InitFromObj(S.Model.GetRootAsModel(model, 0)).subgraphs[0]


def test_mask_head_removal_drops_only_the_operators_of_the_mask():
    from mediapipe.tasks.metadata import schema_py_generated as S
    _, lmk, _ = models.read_registry_models("full")
    pruned = models.remove_mask_head(lmk)
    before, after = _graph(lmk), _graph(pruned)
    assert list(after.outputs) == list(before.outputs)  # the Tasks graph still finds five outputs
    mask = [i for i in before.outputs if list(before.tensors[i].shape) == [1, 256, 256, 1]]
    assert len(mask) == 1
    produced_after = {t for op in after.operators for t in op.outputs}
    assert mask[0] not in produced_after  # now a constant ...
    tree = S.ModelT.InitFromObj(S.Model.GetRootAsModel(pruned, 0))
    zeros = tree.buffers[after.tensors[mask[0]].buffer].data
    assert len(zeros) == 256 * 256 * 4 and not any(zeros)  # ... of zeros
    # every other output is still produced, and 46 of 332 operators are gone
    assert all(i in produced_after for i in after.outputs if i != mask[0])
    assert (len(before.operators), len(after.operators)) == (332, 286)
    assert models.remove_mask_head(lmk) == pruned  # deterministic


def test_mask_head_removal_refuses_a_network_without_a_mask():
    det, _, _ = models.read_registry_models("full")
    with pytest.raises(ValueError, match="one float32 mask output"):
        models.remove_mask_head(det)


def _detect_all(bundle, frames, max_people):
    from lab.pose.extract import make_landmarker, read_candidates
    lm = make_landmarker(bundle, max_people=max_people, min_confidence=0.5)
    try:
        return [read_candidates(lm.detect_for_video(im, 1000 * i // 60), im.width, im.height)
                for i, im in enumerate(frames)]
    finally:
        lm.close()


@pytest.mark.parametrize("clip,max_people", [("pose2sim/cam02.mp4", 1), ("sports2d/demo.mp4", 2)])
def test_landmarks_without_the_mask_head_are_bit_identical(samples, clip, max_people):
    """The derived bundle changes speed only: every landmark, world landmark, visibility and presence is equal."""
    import cv2
    import mediapipe as mp
    import numpy as np

    cap = cv2.VideoCapture(str(samples[clip]))
    frames = []
    while len(frames) < 90:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    full = models.ensure_model("full")
    nomask = models.ensure_model("full", masks=False)
    assert nomask != full and nomask.name == "pose_landmarker_full.nomask.task"
    a, b = _detect_all(full, frames, max_people), _detect_all(nomask, frames, max_people)
    assert sum(len(c) > 0 for c in a) >= 0.8 * len(frames)  # people were found: the comparison means something
    assert [len(c) for c in a] == [len(c) for c in b]
    for ca, cb in zip(a, b):
        for pa, pb in zip(ca, cb):
            for xa, xb in zip(pa, pb):
                assert np.array_equal(xa, xb)


def test_mask_free_bundle_is_cached_and_follows_its_source(tmp_path, monkeypatch):
    import json
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    full = models.ensure_model("full", offline=True)
    path = models.ensure_model("full", masks=False, offline=True)
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["derived_from_sha256"] == models.model_status("full")["sha256"]
    good, stamp = path.read_bytes(), path.stat().st_mtime_ns
    assert models.ensure_model("full", masks=False, offline=True).stat().st_mtime_ns == stamp  # reused
    path.write_bytes(good[:1000])  # damaged: rebuilt, byte for byte
    assert models.ensure_model("full", masks=False, offline=True).read_bytes() == good
    record["derived_from_sha256"] = "0" * 64  # derived from another bundle than the one cached now
    path.with_suffix(".json").write_text(json.dumps(record))
    stamp = path.stat().st_mtime_ns
    assert models.ensure_model("full", masks=False, offline=True).stat().st_mtime_ns != stamp  # rebuilt
    assert path.read_bytes() == good
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
        with zipfile.ZipFile(full) as zf:
            assert z.read("pose_detector.tflite") == zf.read("pose_detector.tflite")


def test_a_network_that_cannot_lose_its_mask_head_is_used_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    full = models.ensure_model("full", offline=True)

    def refuse(model):
        raise ValueError("expected one float32 mask output, found 0")

    monkeypatch.setattr(models, "remove_mask_head", refuse)
    assert models.ensure_model("full", masks=False, offline=True) == full
    assert not (tmp_path / "models" / "pose_landmarker_full.nomask.task").exists()
