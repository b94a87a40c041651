"""Left and right: the one place that swaps sides and mirrors a track.

Every name that carries a side spells it ``left_`` / ``right_`` (BlazePose
landmarks ``left_knee``, features ``left_knee_flexion``, ``vel:left_knee_flexion``,
``pos:left_wrist:x``); :func:`swap_side` turns one into its twin wherever the
side word sits. :func:`mirror_track` is the left/right mirror image of a pose
track in any frame: what the same movement done with the other side looks like
(and what MediaPipe reports for a horizontally flipped, selfie video).
"""

from __future__ import annotations

import functools

import numpy as np

from lab.pose.track import PoseTrack


def swap_side(name: str) -> str:
    """The twin of a sided name: ``left_`` <-> ``right_`` wherever it occurs; unsided names unchanged."""
    if "left_" in name:
        return name.replace("left_", "right_")
    if "right_" in name:
        return name.replace("right_", "left_")
    return name


def unsided(name: str) -> str:
    """What a sided name and its twin share: the name without its side word (``pos:left_wrist:y`` ->
    ``pos:wrist:y``, ``right_knee`` -> ``knee``); unsided names unchanged."""
    for side in ("left_", "right_"):
        if side in name:
            return name.replace(side, "", 1)
    return name


@functools.lru_cache(maxsize=64)
def _permutation(names: tuple[str, ...]) -> tuple[int, ...]:
    index = {n: i for i, n in enumerate(names)}
    return tuple(index.get(swap_side(n), i) for i, n in enumerate(names))


def mirror_permutation(names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Index array (K,) taking every sided name to its twin (a name without a twin stays put)."""
    return np.array(_permutation(tuple(names)), dtype=int)


def mirror_track(track: PoseTrack) -> PoseTrack:
    """The left/right mirror image of ``track``.

    Left and right landmarks swap; the 3D x coordinate changes sign (the
    subject's left in frame ``body``, the image's right in frame ``camera``:
    either way a reflection) and image x becomes ``width - x`` (``width`` from
    the metadata, else the span of the points). ``meta["mirrored"]`` is toggled.
    Mirroring twice gives the track back.

    Parameters
    ----------
    track : PoseTrack
        Any frame.

    Returns
    -------
    PoseTrack
    """
    perm = mirror_permutation(track.keypoints)

    def pick(a):
        return None if a is None else a[:, perm].copy()

    world, image = pick(track.world_m), pick(track.image_px)
    if world is not None:
        world[..., 0] = -world[..., 0]
    if image is not None:
        w = track.meta.get("width") or (np.nanmax(image[..., 0]) + np.nanmin(image[..., 0]))
        image[..., 0] = float(w) - image[..., 0]
    return track.replace(world_m=world, image_px=image, visibility=pick(track.visibility),
                         presence=pick(track.presence), image_z=pick(track.image_z),
                         meta={**track.meta, "mirrored": not track.meta.get("mirrored", False)})
