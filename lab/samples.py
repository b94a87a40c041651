"""Sample footage, extracted from registry wheels (BSD-3-Clause) without installing them.

- ``pose2sim/cam01..04.mp4`` and ``pose2sim/Calib.qca.txt``: one man balancing,
  four synchronised calibrated views, 60 fps, from the PyPI wheel
  ``pose2sim==0.10.49`` (``Pose2Sim/Demo_SinglePerson``).
- ``sports2d/demo.mp4``: jumping jacks and a flip, 30 fps, from the PyPI wheel
  ``sports2d==0.8.34`` (``Sports2D/Demo/demo.mp4``).

Each file's SHA-256 is checked after extraction; a file whose checksum does not
match is extracted again.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lab.io import LabError, atomic_path, sha256_file


@dataclass(frozen=True)
class SampleFile:
    name: str          # path under data/samples
    wheel: str         # pip spec of the wheel holding it
    member: str        # path inside the wheel
    sha256: str


SAMPLE_FILES: tuple[SampleFile, ...] = tuple(
    [SampleFile(f"pose2sim/cam0{i}.mp4", "pose2sim==0.10.49",
                f"Pose2Sim/Demo_SinglePerson/videos/cam0{i}.mp4", h)
     for i, h in enumerate([
         "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
         "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442",
         "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
         "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7"], start=1)]
    + [SampleFile("pose2sim/Calib.qca.txt", "pose2sim==0.10.49",
                  "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt",
                  "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5"),
       SampleFile("sports2d/demo.mp4", "sports2d==0.8.34", "Sports2D/Demo/demo.mp4",
                  "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039")]
)

POSE2SIM_VIEWS = ("cam01", "cam02", "cam03", "cam04")


def project_root() -> Path | None:
    """The source checkout holding this package, if lab runs from one."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() else None


def data_dir() -> Path:
    """Where samples and the library live: ``$LAB_DATA_DIR``, else ``data/`` in the current directory.

    Never the folder the package is installed in: a user running ``lab app`` or
    ``lab demo`` in their own folder finds what it wrote there.
    """
    env = os.environ.get("LAB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.cwd() / "data"


def samples_dir() -> Path:
    return data_dir() / "samples"


def sample_path(name: str) -> Path:
    """Path of a sample such as ``pose2sim/cam01.mp4``, ``sports2d/demo.mp4`` (not fetched)."""
    return samples_dir() / name


def ensure_samples(*, verbose: bool = False) -> dict[str, Path]:
    """Extract every sample file that is missing or damaged; return name -> path.

    Raises
    ------
    LabError
        If a wheel cannot be downloaded or a file's checksum is wrong after extraction.
    """
    from lab.pose.models import fetch_wheel

    out: dict[str, Path] = {}
    for f in SAMPLE_FILES:
        dest = sample_path(f.name)
        if dest.exists() and sha256_file(dest) == f.sha256:
            out[f.name] = dest
            continue
        wheel = fetch_wheel(f.wheel)
        with zipfile.ZipFile(wheel) as z, atomic_path(dest) as tmp:
            tmp.write_bytes(z.read(f.member))
            got = sha256_file(tmp)
            if got != f.sha256:
                raise LabError(f"{f.name} from {f.wheel} has checksum {got[:12]}..., "
                               f"expected {f.sha256[:12]}...", exit_code=3)
        if verbose:
            print(f"extracted {dest}")
        out[f.name] = dest
    return out
