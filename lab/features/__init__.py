"""View-invariant features of a pose track (joint angles, normalised positions, velocities)."""

from lab.features.angles import (
    ANGLE_WORDS,
    BODY_ANGLES,
    JOINT_ANGLES,
    LIMB_ANGLES,
    POSITION_KEYPOINTS,
    FeatureSet,
    body_frame_basic,
    compute_angles,
    compute_features,
    compute_positions,
    inner_angles_deg,
    lift_or_basic,
    lowpass_nan,
    mirror_features,
    resample_features,
)
from lab.pose.sides import mirror_track

__all__ = [
    "ANGLE_WORDS", "BODY_ANGLES", "JOINT_ANGLES", "LIMB_ANGLES", "POSITION_KEYPOINTS", "FeatureSet",
    "body_frame_basic", "compute_angles", "compute_features", "compute_positions", "inner_angles_deg",
    "lift_or_basic", "lowpass_nan", "mirror_features", "mirror_track", "resample_features",
]
