"""Browser-playable H.264 video files, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from lab.export.html import make_shareable


def write_h264(frames: Iterable[np.ndarray], path: str | Path, *, fps: float) -> Path:
    """Write RGB frames to a browser-playable H.264 mp4 (yuv420p, faststart), atomically.

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8, all the same size (H, W even)
    path : destination ``.mp4``
    fps : frames per second
    """
    import imageio_ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    writer = None
    n = 0
    try:
        for f in frames:
            f = np.ascontiguousarray(f, dtype=np.uint8)
            if writer is None:
                h, w = f.shape[:2]
                if h % 2 or w % 2:
                    raise ValueError(f"H.264 yuv420p needs even frame sizes, got {w}x{h}")
                writer = imageio_ffmpeg.write_frames(tmp, (w, h), fps=float(fps), codec="libx264",
                                                     pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=6,
                                                     macro_block_size=2,
                                                     output_params=["-movflags", "+faststart"],
                                                     ffmpeg_log_level="error")
                writer.send(None)
            writer.send(f)
            n += 1
        if writer is None:
            raise ValueError("no frames to write")
        writer.close()
        writer = None
        make_shareable(tmp)
        os.replace(tmp, path)
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
