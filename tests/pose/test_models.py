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
