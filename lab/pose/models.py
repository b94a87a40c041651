"""MediaPipe pose landmarker models: fetched once, kept in the cache, offline-capable.

Order of sources for ``pose_landmarker_{lite,full,heavy}.task``:

1. the cache (``$LAB_CACHE_DIR/models``), trusted only if its SHA-256 matches
   the record written beside it and the bundle loads;
2. the official download from Google's model storage (checked to load before
   it is kept);
3. the offline route from package registries: the detector and the ``full``
   landmark network from the PyPI wheel ``mediapipe==0.10.21``, the ``lite``
   and ``heavy`` landmark networks from the npm package
   ``@mediapipe/pose@0.5.1675469404`` (Apache-2.0). The Tasks API wants TFLite
   metadata with the image normalisation, which those files lack, so
   :func:`build_task_bundle` adds it (detector: mean 127.5, std 127.5;
   landmark network: mean 0, std 255) and zips both (stored, fixed dates):
   the result is byte-identical on every rebuild.

Extraction uses a derived bundle, ``pose_landmarker_{name}.nomask.task``,
whose landmark network lacks the segmentation-mask head it never asks for
(:func:`remove_mask_head`): the same landmarks, bit for bit, in two thirds
of the time for ``full``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from lab.io import LabError, cache_dir, quiet_stderr, sha256_bytes, sha256_file, write_bytes_atomic

MODEL_NAMES = ("lite", "full", "heavy")
DEFAULT_MODEL = "full"

OFFICIAL_URL = ("https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
                "pose_landmarker_{name}/float16/latest/pose_landmarker_{name}.task")
WHEEL_SPEC = "mediapipe==0.10.21"
WHEEL_DETECTOR = "mediapipe/modules/pose_detection/pose_detection.tflite"
WHEEL_LANDMARK_FULL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
NPM_SPEC = "@mediapipe/pose@0.5.1675469404"
NPM_LANDMARK = "package/pose_landmark_{name}.tflite"

DETECTOR_NORM = (127.5, 127.5)   # (mean, std) of the detector's RGB input
LANDMARK_NORM = (0.0, 255.0)     # (mean, std) of the landmark network's RGB input


# --------------------------------------------------------------------- bundles
def add_image_metadata(model: bytes, *, mean: float, std: float, name: str) -> bytes:
    """Return a TFLite flatbuffer with ``TFLITE_METADATA`` describing an RGB image input.

    Parameters
    ----------
    model : bytes
        A TFLite model without metadata.
    mean, std : float
        Input normalisation: ``(pixel - mean) / std`` for pixels in [0, 255].
    name : str
        Model name recorded in the metadata.
    """
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as M
    from mediapipe.tasks.metadata import schema_py_generated as S

    tree = S.ModelT.InitFromObj(S.Model.GetRootAsModel(model, 0))
    norm = M.NormalizationOptionsT()
    norm.mean, norm.std = [float(mean)], [float(std)]
    unit = M.ProcessUnitT()
    unit.optionsType, unit.options = M.ProcessUnitOptions.NormalizationOptions, norm
    props = M.ImagePropertiesT()
    props.colorSpace = M.ColorSpaceType.RGB
    content = M.ContentT()
    content.contentPropertiesType, content.contentProperties = M.ContentProperties.ImageProperties, props
    stats = M.StatsT()
    stats.max, stats.min = [(255.0 - mean) / std], [(0.0 - mean) / std]
    tin = M.TensorMetadataT()
    tin.name, tin.content, tin.processUnits, tin.stats = "image", content, [unit], stats
    graph = tree.subgraphs[0]
    outs = []
    for i in graph.outputs:
        t = M.TensorMetadataT()
        raw = graph.tensors[i].name
        t.name = raw.decode() if isinstance(raw, bytes) else raw
        outs.append(t)
    sub = M.SubGraphMetadataT()
    sub.inputTensorMetadata, sub.outputTensorMetadata = [tin], outs
    meta = M.ModelMetadataT()
    meta.name, meta.subgraphMetadata, meta.minParserVersion = name, [sub], "1.0.0"
    b = flatbuffers.Builder(0)
    b.Finish(meta.Pack(b), file_identifier=b"M001")
    buf = S.BufferT()
    buf.data = list(bytes(b.Output()))
    tree.buffers.append(buf)
    entry = S.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(tree.buffers) - 1
    tree.metadata = [m for m in (tree.metadata or []) if m.name not in (b"TFLITE_METADATA", "TFLITE_METADATA")] + [entry]
    b = flatbuffers.Builder(0)
    b.Finish(tree.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def build_task_bundle(detector: bytes, landmarker: bytes) -> bytes:
    """Build a ``pose_landmarker_*.task`` zip from two metadata-less TFLite models.

    Deterministic: the same inputs give the same bytes.
    """
    det = add_image_metadata(detector, mean=DETECTOR_NORM[0], std=DETECTOR_NORM[1], name="pose_detector")
    lmk = add_image_metadata(landmarker, mean=LANDMARK_NORM[0], std=LANDMARK_NORM[1],
                             name="pose_landmarks_detector")
    return _zip_stored([("pose_detector.tflite", det), ("pose_landmarks_detector.tflite", lmk)])


def _zip_stored(members) -> bytes:
    """A zip of ``(name, bytes)`` members, stored (not deflated), fixed dates: deterministic."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for arcname, data in members:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()


def remove_mask_head(landmark_model: bytes) -> bytes:
    """Return a landmark network without its segmentation-mask head.

    The BlazePose landmark networks have five outputs: 33 landmarks (1, 195),
    pose presence (1, 1), a segmentation mask (1, 256, 256, 1), a heatmap
    (1, 64, 64, 39) that refines the landmarks, and 33 world landmarks
    (1, 117). Pose extraction never asks for masks, but the network computes
    the mask's decoder on every frame: 46 of the full network's 332
    operators and about a third of its time (16.2 against 11.0 ms a frame,
    one core). This drops every operator that feeds the mask output alone
    and makes that output a constant of zeros, so the Tasks graph still finds
    its five outputs. The other outputs come from the same operators on the
    same inputs: landmarks, world landmarks, visibility and presence are
    bit-identical (see ``tests/pose/test_models.py``).

    Parameters
    ----------
    landmark_model : bytes
        A TFLite landmark network, with or without metadata (kept).

    Returns
    -------
    bytes
        The pruned TFLite flatbuffer.

    Raises
    ------
    ValueError
        If the network does not have exactly one float32 output shaped like
        a mask, ``(1, H, W, 1)``.
    """
    import flatbuffers
    import numpy as np
    from mediapipe.tasks.metadata import schema_py_generated as S

    tree = S.ModelT.InitFromObj(S.Model.GetRootAsModel(landmark_model, 0))
    graph = tree.subgraphs[0]
    masks = [i for i in graph.outputs if len(graph.tensors[i].shape) == 4
             and graph.tensors[i].shape[0] == 1 and graph.tensors[i].shape[-1] == 1]
    if len(masks) != 1 or graph.tensors[masks[0]].type != S.TensorType.FLOAT32:
        raise ValueError(f"expected one float32 mask output, found {len(masks)}")
    mask = masks[0]
    producer = {t: k for k, op in enumerate(graph.operators) for t in op.outputs}

    def feeding(tensor: int) -> set[int]:
        """Indices of the operators ``tensor`` depends on."""
        ops, todo = set(), [tensor]
        while todo:
            k = producer.get(todo.pop())
            if k is not None and k not in ops:
                ops.add(k)
                todo.extend(i for i in graph.operators[k].inputs if i >= 0)
        return ops

    needed = set().union(*(feeding(t) for t in graph.outputs if t != mask))
    unused = feeding(mask) - needed
    graph.operators = [op for k, op in enumerate(graph.operators) if k not in unused]
    zeros = S.BufferT()
    zeros.data = np.zeros(int(np.prod(graph.tensors[mask].shape)) * 4, np.uint8)
    tree.buffers.append(zeros)
    graph.tensors[mask].buffer = len(tree.buffers) - 1
    b = flatbuffers.Builder(0)
    b.Finish(tree.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def bundle_without_masks(bundle: bytes) -> bytes:
    """A ``pose_landmarker_*.task`` whose landmark network has no mask head (see :func:`remove_mask_head`).

    Other members are copied as they are. Deterministic: the same bundle gives the same bytes.
    A landmarker built from it gives the same landmarks and cannot output segmentation masks.
    """
    with zipfile.ZipFile(io.BytesIO(bundle)) as src:
        members = [(name, src.read(name)) for name in src.namelist()]
    return _zip_stored([(name, remove_mask_head(data) if name == "pose_landmarks_detector.tflite" else data)
                        for name, data in members])


def check_bundle_loads(data: bytes) -> None:
    """Raise :class:`LabError` unless ``data`` is a pose landmarker the Tasks API accepts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
        if not {"pose_detector.tflite", "pose_landmarks_detector.tflite"} <= names:
            raise ValueError("bundle lacks the detector or landmark model")
        from mediapipe.tasks.python import BaseOptions, vision
        opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_buffer=data),
                                            running_mode=vision.RunningMode.IMAGE)
        with quiet_stderr():
            lm = vision.PoseLandmarker.create_from_options(opts)
            lm.close()
    except LabError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise LabError(f"pose model does not load ({exc.__class__.__name__}: {first})",
                       exit_code=3) from None


# ----------------------------------------------------------------------- cache
def models_dir() -> Path:
    d = cache_dir() / "models"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _record_path(name: str) -> Path:
    return _bundle_path(name).with_suffix(".json")


def _bundle_path(name: str) -> Path:
    return models_dir() / f"pose_landmarker_{name}.task"


def _nomask_path(name: str) -> Path:
    return models_dir() / f"pose_landmarker_{name}.nomask.task"


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise LabError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def model_status(name: str) -> dict:
    """What the cache holds for model ``name``: ``present``, ``path``, ``source``, ``sha256``, ``ok``."""
    _check_name(name)
    path, rec = _bundle_path(name), _record_path(name)
    info = {"name": name, "path": str(path), "present": path.exists(), "source": None,
            "sha256": None, "ok": False}
    if path.exists() and rec.exists():
        try:
            meta = json.loads(rec.read_text())
        except ValueError:
            meta = {}
        info.update(source=meta.get("source"), sha256=meta.get("sha256"), built=meta.get("built"))
        info["ok"] = meta.get("sha256") == sha256_file(path)
    return info


def ensure_model(name: str = DEFAULT_MODEL, *, masks: bool = True, offline: bool | None = None,
                 timeout_s: float = 20.0) -> Path:
    """Path to a working ``pose_landmarker_{name}.task``, fetching or building it if needed.

    Parameters
    ----------
    name : {"lite", "full", "heavy"}
    masks : bool
        False: the same bundle with its landmark network's segmentation-mask
        head removed (``pose_landmarker_{name}.nomask.task``, derived from
        the one above and cached beside it; see :func:`remove_mask_head`).
        Same landmarks, a third less inference time for ``full``; the
        landmarker then cannot output masks. A network without the expected
        mask output (or a result the Tasks API refuses) is used as it is.
    offline : bool, optional
        Skip the official download (default: ``$LAB_OFFLINE`` is set).
    timeout_s : float
        Network timeout for the official download, seconds.

    Raises
    ------
    LabError
        If no source could provide a model that loads.
    """
    _check_name(name)
    if not masks:
        return _ensure_nomask(ensure_model(name, offline=offline, timeout_s=timeout_s), name)
    status = model_status(name)
    if status["ok"]:
        return Path(status["path"])
    if offline is None:
        offline = bool(os.environ.get("LAB_OFFLINE"))
    errors = []
    if not offline:
        try:
            data = _download(OFFICIAL_URL.format(name=name), timeout_s=timeout_s)
            check_bundle_loads(data)
            return _store(_bundle_path(name), data, name=name, source=OFFICIAL_URL.format(name=name))
        except Exception as exc:  # unreachable network, bad file: fall through
            errors.append(f"official download: {str(exc).splitlines()[0][:100]}")
    try:
        data, source = _build_from_registries(name)
        check_bundle_loads(data)
        return _store(_bundle_path(name), data, name=name, source=source)
    except LabError as exc:
        errors.append(f"registries: {exc}")
    raise LabError(f"could not get pose model {name!r} ({'; '.join(errors)})", exit_code=3)


def _ensure_nomask(bundle: Path, name: str) -> Path:
    """The mask-free bundle derived from ``bundle`` (cached, rebuilt when ``bundle`` changes).

    ``bundle`` comes from :func:`ensure_model`, which has just checked it against its record.
    """
    path = _nomask_path(name)
    origin = json.loads(bundle.with_suffix(".json").read_text())["sha256"]
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta.get("derived_from_sha256") == origin and meta.get("sha256") == sha256_file(path):
            return path
    except (OSError, ValueError):
        pass
    try:
        data = bundle_without_masks(bundle.read_bytes())
        check_bundle_loads(data)
    except (ValueError, LabError):  # not the expected network, or the Tasks API refuses the result
        return bundle  # then the bundle as it is: slower, same landmarks
    return _store(path, data, name=name, derived_from=str(bundle), derived_from_sha256=origin,
                  change="landmark network's segmentation-mask head removed (lab.pose.models.remove_mask_head)")


def _store(path: Path, data: bytes, **fields) -> Path:
    """Write a bundle and, beside it (``.json``), its record: ``fields`` plus checksum, size and date."""
    write_bytes_atomic(path, data)
    rec = {**fields, "sha256": sha256_bytes(data), "bytes": len(data),
           "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_bytes_atomic(path.with_suffix(".json"), json.dumps(rec, indent=2).encode())
    return path


def _download(url: str, *, timeout_s: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (fixed https URL)
        return resp.read()


# ------------------------------------------------------------ registry sources
def _downloads_dir() -> Path:
    d = cache_dir() / "downloads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def fetch_wheel(spec: str) -> Path:
    """Download one PyPI wheel (no dependencies) into the cache; return its path.

    Uses ``pip download --no-deps``, so the wheel is never installed.
    """
    name = spec.split("==")[0].replace("-", "_").lower()
    version = spec.split("==")[1] if "==" in spec else ""
    found = sorted(_downloads_dir().glob(f"{name}-{version}*.whl"))
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(dir=_downloads_dir()) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, spec]
        run = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if run.returncode != 0 or not wheels:
            last = (run.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise LabError(f"pip download {spec} failed: {last[:160]}", exit_code=3)
        dest = _downloads_dir() / wheels[0].name
        os.replace(wheels[0], dest)
    return dest


def fetch_npm(spec: str) -> Path:
    """``npm pack`` one npm package into the cache; return the tarball path."""
    found = sorted(_downloads_dir().glob("mediapipe-pose-*.tgz"))
    if found:
        return found[0]
    npm = shutil.which("npm")
    if not npm:
        raise LabError("npm is not installed: the lite and heavy models come from the npm "
                       f"package {spec}; install Node.js/npm or use --model full", exit_code=3)
    with tempfile.TemporaryDirectory(dir=_downloads_dir()) as tmp:
        run = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        tgz = list(Path(tmp).glob("*.tgz"))
        if run.returncode != 0 or not tgz:
            last = (run.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise LabError(f"npm pack {spec} failed: {last[:160]}", exit_code=3)
        dest = _downloads_dir() / tgz[0].name
        os.replace(tgz[0], dest)
    return dest


def read_registry_models(name: str) -> tuple[bytes, bytes, str]:
    """The detector and landmark TFLite bytes for ``name`` from registry packages, and their source."""
    wheel = fetch_wheel(WHEEL_SPEC)
    with zipfile.ZipFile(wheel) as z:
        detector = z.read(WHEEL_DETECTOR)
        if name == "full":
            return detector, z.read(WHEEL_LANDMARK_FULL), f"pypi:{WHEEL_SPEC}"
    tgz = fetch_npm(NPM_SPEC)
    with tarfile.open(tgz) as t:
        member = t.extractfile(NPM_LANDMARK.format(name=name))
        if member is None:
            raise LabError(f"{tgz.name} has no {name} landmark model", exit_code=3)
        landmark = member.read()
    return detector, landmark, f"pypi:{WHEEL_SPEC} (detector) + npm:{NPM_SPEC}"


def _build_from_registries(name: str) -> tuple[bytes, str]:
    detector, landmark, source = read_registry_models(name)
    return build_task_bundle(detector, landmark), source
