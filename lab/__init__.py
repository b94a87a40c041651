"""lab: a movement-analysis workbench.

Stages, one module each: :mod:`lab.pose` (video -> pose track),
:mod:`lab.lift` (clean 3D, body frame), :mod:`lab.align` (camera viewpoint,
re-projection), :mod:`lab.features`, :mod:`lab.dtw`, :mod:`lab.score`,
:mod:`lab.viz`. One structure, :class:`lab.pose.PoseTrack`, crosses every
boundary.
"""

__version__ = "0.1.0"

import os as _os

if not _os.environ.get("LAB_DEBUG"):
    # FFmpeg (inside OpenCV) and OpenCV print native log lines on stderr for bad
    # files; lab reports one clear line of its own instead (LAB_DEBUG=1 keeps them).
    _os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    _os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
