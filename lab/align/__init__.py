"""Camera viewpoint estimation and re-projection (where did each camera stand?).

:func:`estimate_view` gives a camera's azimuth (0 = in front of the subject,
+90 = on the subject's left, +-180 = behind), elevation and distance from one
clip's 2D + lifted 3D landmarks; :func:`project_to_view` draws the coach's 3D
model as that camera would see it (the "ghost"). :mod:`lab.align.evaluate`
measures both against the Pose2Sim ground truth; :mod:`lab.align.synthetic`
films a 3D track from a chosen viewpoint for tests.
"""

from lab.align.evaluate import (
    evaluate_joint_angles,
    evaluate_pose2sim_views,
    joint_angles_deg,
    mean_pairwise_distance_m,
    true_views,
)
from lab.align.synthetic import simulate_camera_track, synthetic_body_track
from lab.align.view import (
    PNP_KEYPOINTS,
    ViewEstimate,
    camera_looking_at_subject,
    estimate_view,
    project_to_view,
    view_direction,
)

__all__ = ["ViewEstimate", "estimate_view", "project_to_view", "camera_looking_at_subject",
           "view_direction", "PNP_KEYPOINTS", "evaluate_pose2sim_views", "evaluate_joint_angles",
           "joint_angles_deg", "mean_pairwise_distance_m", "true_views", "simulate_camera_track",
           "synthetic_body_track"]
