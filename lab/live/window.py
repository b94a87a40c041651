"""What a live run shows on screen: the player with their skeleton, the progress bar, the score and the cue."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

from lab.io import LabError, quiet_stderr
from lab.live.compare import LiveUpdate
from lab.viz.draw import draw_ghost, draw_skeleton


def render_live_frame(rgb: np.ndarray, image_px: np.ndarray | None, update: LiveUpdate, *,
                      width: int, height: int) -> np.ndarray:
    """The frame (RGB, as processed) with the skeleton, the coach's ghost, a progress bar through the drill, the
    score and the cue.

    Parameters
    ----------
    rgb : ndarray (H, W, 3) uint8
        The frame, possibly downscaled from the source's ``width`` x ``height``.
    image_px : ndarray (K, 2) or None
        The player's landmarks in the source's pixels.
    update : LiveUpdate
    width, height : int
        The source's frame size, pixels.
    """
    import cv2

    h, w = rgb.shape[:2]
    img = rgb.copy()
    if update.ghost_px is not None:  # the coach, dashed, under the player
        img = draw_ghost(img, np.asarray(update.ghost_px) * (w / width, h / height))
    if image_px is not None:
        img = draw_skeleton(img, np.asarray(image_px) * (w / width, h / height))
    bar_h = max(14, h // 40)
    cv2.rectangle(img, (0, h - bar_h), (w - 1, h - 1), (40, 40, 40), -1)
    if update.progress is not None:
        cv2.rectangle(img, (0, h - bar_h), (int(update.progress * (w - 1)), h - 1), (60, 170, 90), -1)
    scale = max(0.5, h / 900)
    th = max(1, int(round(scale * 2)))
    lines = []
    if update.progress is None:
        lines.append("waiting for the player" if not update.seen else "following...")
    else:
        score = "--" if update.score is None else f"{update.score:.0f}"
        lines.append(f"phase {update.phase}   score {score}   repetitions {update.rep_count}")
    if update.cue is not None:
        lines.append(update.cue.text)
    y = 0
    for text in lines:
        (tw, tht), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, th)
        cv2.rectangle(img, (0, y), (min(w - 1, tw + 12), y + tht + 14), (0, 0, 0), -1)
        cv2.putText(img, text, (6, y + tht + 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), th, cv2.LINE_AA)
        y += tht + 16
    return img


class LiveWindow:
    """An OpenCV window showing :func:`render_live_frame`; ``closed`` is set when the user presses q or Esc."""

    def __init__(self, *, title: str = "lab live"):
        import cv2

        self.title = title
        self.closed = threading.Event()
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            # OpenCV's Qt backend aborts the process (no exception) when it finds no display
            raise LabError("--show needs a display (DISPLAY is not set); use --json or the terminal view", exit_code=3)
        try:
            with quiet_stderr():
                cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise LabError(f"--show needs a display, and OpenCV could not open a window ({str(exc).strip()[:80]})",
                           exit_code=3) from None

    def show(self, frame, update: LiveUpdate, image_px: np.ndarray | None, *, width: int, height: int) -> None:
        import cv2

        img = render_live_frame(frame.rgb, image_px, update, width=width, height=height)
        cv2.imshow(self.title, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.closed.set()

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.title)
