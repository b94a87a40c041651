"""Lifting: a clean 3D track of one person in the canonical body frame.

:func:`lift_track` turns MediaPipe world landmarks (frame ``camera``) into a
filtered, flip-repaired, constant-bone-length track in frame ``body``;
:func:`lift_mocap` does the same for motion capture (frame ``lab``);
:func:`refine_depth` then re-places the joints along their image rays so the
3D agrees with the picture (better joint angles; not for viewpoint estimation).
"""

from lab.lift.body import (
    canonical_rotation,
    detect_flips,
    detect_mirrored,
    detect_mirrored_against,
    estimate_up_axis,
    face_forward,
    flip_repaired,
    frame_rotations,
    lift_mocap,
    lift_track,
)
from lab.lift.circular import circular_median_deg, circular_spread_deg, wrap_deg
from lab.lift.clean import (
    KINEMATIC_TREE,
    enforce_bone_lengths,
    interpolate_gaps,
    lowpass_filter,
    measure_bone_lengths,
    reject_outliers_hampel,
)
from lab.lift.depth import refine_depth

__all__ = ["lift_track", "lift_mocap", "refine_depth", "detect_flips", "detect_mirrored",
           "detect_mirrored_against", "face_forward", "flip_repaired", "frame_rotations",
           "estimate_up_axis", "canonical_rotation", "circular_median_deg", "circular_spread_deg",
           "wrap_deg", "KINEMATIC_TREE", "enforce_bone_lengths", "interpolate_gaps", "lowpass_filter",
           "measure_bone_lengths", "reject_outliers_hampel"]
