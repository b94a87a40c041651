"""Skeletons drawn on video frames (OpenCV): images in, images out.

Every function here returns a new RGB ``uint8`` array (or an iterator of
them); nothing is written to disk and nothing is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from lab.pose.track import SKELETON_EDGES, PoseTrack

#: Colour of a skeleton when no per-joint deviation is given (RGB).
DEFAULT_COLOR_RGB = (40, 200, 255)
#: Colour of the coach's ghost (RGB).
GHOST_COLOR_RGB = (255, 255, 255)


def deviation_colors(deviation: np.ndarray, *, max_value: float | None = None
                     ) -> list[tuple[int, int, int]]:
    """RGB colours from green (no deviation) through yellow to red (``max_value`` or more).

    Parameters
    ----------
    deviation : ndarray, shape (K,)
        Per-joint deviation, any non-negative unit (degrees, metres...). NaN
        gives grey.
    max_value : float, optional
        Deviation drawn fully red; default the largest finite value.

    Returns
    -------
    list of K ``(r, g, b)`` tuples of int in [0, 255].
    """
    d = np.asarray(deviation, dtype=np.float64).ravel()
    finite = np.isfinite(d)
    if max_value is None:
        max_value = float(np.max(d[finite])) if finite.any() else 1.0
    max_value = max(float(max_value), 1e-12)
    out = []
    for v in d:
        if not np.isfinite(v):
            out.append((150, 150, 150))
            continue
        u = float(np.clip(v / max_value, 0.0, 1.0))
        # green (0) -> yellow (0.5) -> red (1)
        r = int(round(255 * min(1.0, 2 * u)))
        g = int(round(255 * min(1.0, 2 * (1 - u))))
        out.append((r, g, 40))
    return out


#: A difference this many times its joint's threshold is drawn fully red (:func:`color_by_noise_ratio`).
NOISE_RATIO_RED = 2.0
#: Colours of :func:`color_by_noise_ratio` (RGB): inside the noise, at the threshold, well beyond it,
#: and a joint that can't be judged.
NOISE_GREEN_RGB = (40, 190, 70)
NOISE_YELLOW_RGB = (255, 210, 0)
NOISE_RED_RGB = (230, 30, 30)
UNJUDGED_GREY_RGB = (150, 150, 150)


def color_by_noise_ratio(ratio: np.ndarray, *, red_ratio: float = NOISE_RATIO_RED
                         ) -> list[tuple[int, int, int]]:
    """RGB colours of differences measured against what the cameras can show.

    Parameters
    ----------
    ratio : ndarray, shape (K,)
        Per joint, |difference| / that joint's threshold (e.g.
        :func:`lab.score.deviation.measure_noise_ratio_per_frame`): below 1 the
        difference is inside the noise of these two recordings. NaN: the joint
        can't be judged (or carries no angle).
    red_ratio : float
        Ratio drawn fully red (> 1).

    Returns
    -------
    list of K ``(r, g, b)``: green up to 1 (never red inside the noise), yellow
    just beyond it, through orange to red at ``red_ratio`` and above; grey for NaN.
    """
    r = np.asarray(ratio, dtype=np.float64).ravel()
    red_ratio = max(float(red_ratio), 1.0 + 1e-9)
    out = []
    for v in r:
        if not np.isfinite(v):
            out.append(UNJUDGED_GREY_RGB)
        elif v <= 1.0:
            out.append(NOISE_GREEN_RGB)
        else:
            u = float(np.clip((v - 1.0) / (red_ratio - 1.0), 0.0, 1.0))
            out.append(tuple(int(round(a + (b - a) * u)) for a, b in zip(NOISE_YELLOW_RGB, NOISE_RED_RGB)))
    return out


def _edge_pairs(keypoints: Sequence[str]) -> list[tuple[int, int]]:
    idx = {k: i for i, k in enumerate(keypoints)}
    return [(idx[a], idx[b]) for a, b in SKELETON_EDGES if a in idx and b in idx]


def _ok(p: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(p)))


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_skeleton(frame_rgb: np.ndarray, image_px: np.ndarray, *,
                  keypoints: Sequence[str] | None = None,
                  colors_per_joint: Sequence[tuple[int, int, int]] | None = None,
                  color_rgb: tuple[int, int, int] = DEFAULT_COLOR_RGB,
                  thickness_px: int | None = None, radius_px: int | None = None,
                  min_visibility: float = 0.0, visibility: np.ndarray | None = None
                  ) -> np.ndarray:
    """Draw one skeleton (bones as lines, joints as circles) on a copy of a frame.

    Parameters
    ----------
    frame_rgb : ndarray, shape (H, W, 3), uint8
        The frame (RGB).
    image_px : ndarray, shape (K, 2)
        Landmark positions in pixels of ``frame_rgb``; NaN joints are skipped.
    keypoints : sequence of str, length K, optional
        Landmark names (default: the 33 BlazePose names).
    colors_per_joint : sequence of K (r, g, b), optional
        Colour of each joint (e.g. from :func:`deviation_colors`); a bone
        takes the colour of its worse (redder) end.
    color_rgb : (r, g, b)
        Colour when ``colors_per_joint`` is not given.
    thickness_px, radius_px : int, optional
        Line width and joint radius; default scale with the frame size.
    min_visibility : float
        Joints whose ``visibility`` is below this are not drawn.
    visibility : ndarray, shape (K,), optional

    Returns
    -------
    ndarray, shape (H, W, 3), uint8 : the frame with the skeleton.
    """
    import cv2

    from lab.pose.track import BLAZEPOSE_KEYPOINTS

    img = np.ascontiguousarray(frame_rgb, dtype=np.uint8).copy()
    pts = np.asarray(image_px, dtype=np.float64)
    keypoints = tuple(keypoints or BLAZEPOSE_KEYPOINTS)
    if pts.shape != (len(keypoints), 2):
        raise ValueError(f"image_px has shape {pts.shape}, expected {(len(keypoints), 2)}")
    if visibility is not None and min_visibility > 0:
        pts = pts.copy()
        pts[np.asarray(visibility) < min_visibility] = np.nan
    side = max(img.shape[:2])
    thickness_px = thickness_px or max(2, side // 300)
    radius_px = radius_px or max(3, side // 200)
    cols = list(colors_per_joint) if colors_per_joint is not None else [color_rgb] * len(keypoints)
    for a, b in _edge_pairs(keypoints):
        if _ok(pts[a]) and _ok(pts[b]):
            ca, cb = cols[a], cols[b]
            col = ca if ca[0] - ca[1] >= cb[0] - cb[1] else cb
            cv2.line(img, _pt(pts[a]), _pt(pts[b]), tuple(int(c) for c in col), thickness_px, cv2.LINE_AA)
    for k in range(len(keypoints)):
        if _ok(pts[k]):
            cv2.circle(img, _pt(pts[k]), radius_px, tuple(int(c) for c in cols[k]), -1, cv2.LINE_AA)
    return img


def _dashed_line(img, p0, p1, color, thickness, dash_px):
    import cv2

    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    length = float(np.linalg.norm(p1 - p0))
    n = max(1, int(length // dash_px))
    for i in range(0, n, 2):
        a = p0 + (p1 - p0) * (i / n)
        b = p0 + (p1 - p0) * (min(i + 1, n) / n)
        cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA)


def draw_ghost(frame_rgb: np.ndarray, image_px: np.ndarray, *,
               keypoints: Sequence[str] | None = None,
               color_rgb: tuple[int, int, int] = GHOST_COLOR_RGB, opacity: float = 0.85,
               dash_px: int | None = None, thickness_px: int | None = None) -> np.ndarray:
    """Draw a translucent, dashed "ghost" skeleton (the coach) on a copy of a frame.

    Parameters
    ----------
    frame_rgb : ndarray, shape (H, W, 3), uint8
    image_px : ndarray, shape (K, 2)
        Ghost landmark positions in pixels of ``frame_rgb`` (NaN skipped).
    keypoints : sequence of str, optional (default BlazePose names)
    color_rgb : (r, g, b)
    opacity : float in [0, 1]
        How much the ghost covers the frame.
    dash_px, thickness_px : int, optional

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    import cv2

    from lab.pose.track import BLAZEPOSE_KEYPOINTS

    base = np.ascontiguousarray(frame_rgb, dtype=np.uint8)
    layer = base.copy()
    pts = np.asarray(image_px, dtype=np.float64)
    keypoints = tuple(keypoints or BLAZEPOSE_KEYPOINTS)
    side = max(base.shape[:2])
    thickness_px = thickness_px or max(2, side // 200)
    dash_px = dash_px or max(6, side // 80)
    col = tuple(int(c) for c in color_rgb)
    for a, b in _edge_pairs(keypoints):
        if _ok(pts[a]) and _ok(pts[b]):
            _dashed_line(layer, pts[a], pts[b], col, thickness_px, dash_px)
    for k in range(len(keypoints)):
        if _ok(pts[k]):
            cv2.circle(layer, _pt(pts[k]), max(2, thickness_px), col, 1, cv2.LINE_AA)
    return cv2.addWeighted(layer, float(opacity), base, 1.0 - float(opacity), 0.0)


def read_frames(video: str | Path, indices: Sequence[int], *, max_side_px: int | None = 640,
                first_frame: int = 0) -> dict[int, np.ndarray]:
    """Decode the frames with the given indices (decoding order), downscaled; RGB uint8.

    ``first_frame``: the indices count from this frame of the video (a track's rows:
    :attr:`lab.pose.track.PoseTrack.first_video_frame`); the result is keyed by the indices given.
    """
    want = set(int(i) for i in indices)
    out: dict[int, np.ndarray] = {}
    if not want:
        return out
    last = max(want)
    for index, _t, rgb in iter_rows(video, first_frame=first_frame, max_side_px=max_side_px):
        if index in want:
            out[index] = rgb
        if index >= last:
            break
    return out


def iter_rows(video: str | Path, *, first_frame: int = 0, max_side_px: int | None = None
              ) -> Iterator[tuple[int, float, np.ndarray]]:
    """:func:`lab.pose.video.iter_frames` from the video's frame ``first_frame`` on, numbered from 0 there:
    ``(row, time_s, rgb)`` for a track whose row 0 is that frame."""
    from lab.pose.video import iter_frames

    for index, t, rgb in iter_frames(video, max_side_px=max_side_px, start_index=int(first_frame)):
        yield index - int(first_frame), t, rgb


def _scale_of(track: PoseTrack, frame: np.ndarray) -> float:
    w = track.meta.get("width")
    return frame.shape[1] / float(w) if w else 1.0


def label_image(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    scale = max(0.4, img.shape[0] / 900)
    th = max(1, int(round(scale * 2)))
    (tw, tht), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, th)
    cv2.rectangle(img, (0, 0), (tw + 10, tht + 12), (0, 0, 0), -1)
    cv2.putText(img, text, (5, tht + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), th, cv2.LINE_AA)
    return img


def pick_frames(track: PoseTrack, *, n: int) -> np.ndarray:
    """``n`` frame indices evenly spread over the frames where a person was found."""
    det = np.flatnonzero(track.detected())
    if det.size == 0:
        det = np.arange(track.n_frames)
    if det.size == 0:
        return det
    pos = np.linspace(0, det.size - 1, num=min(n, det.size))
    return det[np.round(pos).astype(int)]


def frame_grid(video: str | Path, track: PoseTrack, *, n: int = 6, columns: int = 3,
               max_side_px: int = 480, deviation: np.ndarray | None = None,
               max_deviation: float | None = None) -> np.ndarray:
    """A grid of ``n`` frames spread over the clip, each with its skeleton drawn.

    Parameters
    ----------
    video : path of the video the track was extracted from.
    track : PoseTrack with ``image_px`` (one row per decoded frame).
    n, columns : int
        Number of frames, and frames per row.
    max_side_px : int
        Each tile's longer side, pixels.
    deviation : ndarray, shape (T, K), optional
        Per-frame per-joint deviation colouring the joints (see :func:`deviation_colors`).

    Returns
    -------
    ndarray, shape (rows * h, columns * w, 3), uint8 : the grid (black where empty).
    """
    if track.image_px is None:
        raise ValueError("frame_grid needs a track with image_px")
    idx = pick_frames(track, n=n)
    frames = read_frames(video, idx, max_side_px=max_side_px, first_frame=track.first_video_frame)
    tiles = []
    for i in idx:
        if int(i) not in frames:
            continue
        f = frames[int(i)]
        s = _scale_of(track, f)
        cols = None
        if deviation is not None:
            cols = deviation_colors(np.asarray(deviation)[i], max_value=max_deviation)
        tile = draw_skeleton(f, track.image_px[i] * s, keypoints=track.keypoints, colors_per_joint=cols)
        tiles.append(label_image(tile, f"frame {int(i)}  t={track.time_s[i]:.2f}s"))
    if not tiles:
        raise ValueError(f"no frames could be decoded from {video}")
    h, w = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    grid = np.zeros((rows * h, columns * w, 3), dtype=np.uint8)
    for j, t in enumerate(tiles):
        r, c = divmod(j, columns)
        t = t[:h, :w]
        grid[r * h:r * h + t.shape[0], c * w:c * w + t.shape[1]] = t
    return grid


def _even(x: int) -> int:
    return x - (x % 2)


def fit_height(img: np.ndarray, height_px: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if h == height_px:
        return img
    new_w = max(2, int(round(w * height_px / h)))
    return cv2.resize(img, (new_w, height_px), interpolation=cv2.INTER_AREA)


def render_overlay_video(reference_video: str | Path, reference: PoseTrack,
                         attempt_video: str | Path, attempt: PoseTrack, *,
                         path: np.ndarray | None = None, ghost_px: np.ndarray | None = None,
                         deviation: np.ndarray | None = None, max_deviation: float | None = None,
                         noise_ratio: np.ndarray | None = None, height_px: int = 480) -> Iterator[np.ndarray]:
    """Side-by-side overlay frames: reference | attempt with the coach's ghost.

    One output frame per attempt frame; the reference frame shown beside it
    is the one the DTW ``path`` matches to it (the first match), else the
    frame with the same index (clamped).

    Parameters
    ----------
    reference_video, attempt_video : paths of the videos.
    reference, attempt : PoseTrack with ``image_px``.
    path : ndarray, shape (L, 2), int, optional
        DTW warping path, rows ``(reference_frame, attempt_frame)``.
    ghost_px : ndarray, shape (T_attempt, K, 2), optional
        The coach's pose re-projected into the attempt's view, pixels of the
        attempt video; drawn dashed over the attempt.
    deviation : ndarray, shape (T_attempt, K), optional
        Per-joint deviation colouring the attempt's skeleton (:func:`deviation_colors`).
    noise_ratio : ndarray, shape (T_attempt, K), optional
        Per-joint |difference| / threshold colouring the attempt's skeleton
        (:func:`color_by_noise_ratio`: red only beyond the noise); used instead of ``deviation``.
    height_px : int
        Output height (made even); width is the sum of both panels (even).

    Yields
    ------
    ndarray, shape (height_px, W, 3), uint8 : RGB frames, all the same size.
    """
    import cv2

    height_px = _even(int(height_px))
    n_attempt = attempt.n_frames if attempt.image_px is not None else None
    match = match_reference_frames(path, n_attempt) if path is not None else None
    needed = None if match is None else set(int(r) for r in match)

    def clip_time_s(track: PoseTrack, i: int, t: float, first: list) -> float:
        """Seconds from the clip's start: the track's clock, else the video's (frames past the track)."""
        if i < track.n_frames:
            return float(track.time_s[i] - track.time_s[0])
        if not first:
            first.append(float(track.time_s[0]) if track.n_frames else t)
        return float(t - first[0])

    # The reference frames the attempt is shown with are held in memory, JPEG-compressed, at the output
    # height (a 1080-pixel frame is 6 MB raw); the attempt is streamed.
    ref_frames: list[bytes | None] = []
    first_ref: list = []
    last = None
    for i, t, rgb in iter_rows(reference_video, first_frame=reference.first_video_frame):
        if needed is not None and i not in needed:
            ref_frames.append(None)
            last = (i, t, rgb)
            continue
        last = None
        ref_frames.append(_encode_reference_frame(rgb, reference, i, height_px,
                                                  clip_time_s(reference, i, t, first_ref)))
    if not ref_frames:
        raise ValueError(f"no frames could be decoded from {reference_video}")
    if last is not None:   # the last frame stands in for any match beyond the clip's end
        ref_frames[-1] = _encode_reference_frame(last[2], reference, last[0], height_px,
                                                 clip_time_s(reference, last[0], last[1], first_ref))
    width = None
    first_att: list = []
    for j, _t, rgb in iter_rows(attempt_video, first_frame=attempt.first_video_frame):
        f = fit_height(rgb, height_px)
        s = f.shape[1] / float(attempt.meta.get("width") or rgb.shape[1])
        if ghost_px is not None and j < len(ghost_px):
            f = draw_ghost(f, np.asarray(ghost_px)[j] * s, keypoints=attempt.keypoints)
        if attempt.image_px is not None and j < attempt.n_frames:
            cols = None
            if noise_ratio is not None and j < len(noise_ratio):
                cols = color_by_noise_ratio(np.asarray(noise_ratio)[j])
            elif deviation is not None and j < len(deviation):
                cols = deviation_colors(np.asarray(deviation)[j], max_value=max_deviation)
            f = draw_skeleton(f, attempt.image_px[j] * s, keypoints=attempt.keypoints, colors_per_joint=cols)
        f = label_image(f, f"player {clip_time_s(attempt, j, _t, first_att):.2f} s"
                        + (" + coach ghost" if ghost_px is not None else ""))
        if match is None:
            r = j
        elif j < len(match):
            r = int(match[j])
        else:  # a frame the track does not have: hold the last matched one
            r = int(match[-1]) if len(match) else j
        r = int(np.clip(r, 0, len(ref_frames) - 1))
        coach = ref_frames[r] if ref_frames[r] is not None else next(x for x in reversed(ref_frames) if x is not None)
        both = np.concatenate([cv2.imdecode(np.frombuffer(coach, np.uint8), cv2.IMREAD_COLOR)[..., ::-1], f], axis=1)
        if width is None:
            width = _even(both.shape[1])
        if both.shape[1] != width:
            pad = np.zeros((height_px, width, 3), dtype=np.uint8)
            pad[:, :min(width, both.shape[1])] = both[:, :width]
            both = pad
        yield np.ascontiguousarray(both[:, :width])


def _encode_reference_frame(rgb: np.ndarray, reference: PoseTrack, i: int, height_px: int, time_s: float) -> bytes:
    """One coach frame for the side-by-side video: scaled, skeleton and time drawn, JPEG bytes."""
    import cv2

    f = fit_height(rgb, height_px)
    s = f.shape[1] / float(reference.meta.get("width") or rgb.shape[1])
    if i < reference.n_frames and reference.image_px is not None:
        f = draw_skeleton(f, reference.image_px[i] * s, keypoints=reference.keypoints)
    f = label_image(f, f"coach {time_s:.2f} s")
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(f[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def match_reference_frames(path: np.ndarray, n_attempt: int | None = None) -> np.ndarray:
    """The reference frame shown with each attempt frame in the side-by-side video.

    Parameters
    ----------
    path : ndarray, shape (L, 2), int
        DTW path ``(reference_frame, attempt_frame)``.
    n_attempt : int, optional
        Attempt frames (default: up to the last one on the path).

    Returns
    -------
    ndarray, shape (n_attempt,), int : the first reference frame the path matches
    to each attempt frame; attempt frames before the path's start (an open
    begin) show its first matched reference frame, frames after its end its
    last.
    """
    p = np.asarray(path, dtype=int).reshape(-1, 2)
    n = int(n_attempt) if n_attempt is not None else (int(p[:, 1].max()) + 1 if len(p) else 0)
    out = np.full(n, -1, dtype=int)
    for r, a in p:
        if 0 <= a < n and out[a] < 0:
            out[a] = int(r)
    known = np.flatnonzero(out >= 0)
    if not len(known):
        return np.zeros(n, dtype=int)
    out[:known[0]] = out[known[0]]
    for a in range(known[0] + 1, n):   # past the path's end (or a gap): hold the last matched frame
        if out[a] < 0:
            out[a] = out[a - 1]
    return out


def to_png(image_rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB uint8 image (for ``IPython.display.Image`` or an ``<img>``)."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image_rgb[..., ::-1]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()
