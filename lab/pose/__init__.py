"""Pose extraction and the pose track structure."""

from lab.pose.extract import extract_pose, extract_pose_cached, load_track
from lab.pose.models import DEFAULT_MODEL, MODEL_NAMES, ensure_model, model_status
from lab.pose.track import (
    BLAZEPOSE_KEYPOINTS,
    COLUMNS,
    SKELETON_EDGES,
    PoseFormatError,
    PoseTrack,
    read_track,
    write_track,
)

__all__ = ["BLAZEPOSE_KEYPOINTS", "COLUMNS", "SKELETON_EDGES", "PoseFormatError", "PoseTrack",
           "read_track", "write_track", "extract_pose", "extract_pose_cached", "load_track",
           "MODEL_NAMES", "DEFAULT_MODEL", "ensure_model", "model_status"]
