"""Camera viewpoint estimation and re-projection (where did each camera stand?)."""

from lab.align.view import (PNP_KEYPOINTS, ViewEstimate, camera_looking_at_subject, estimate_view,
                            project_to_view, view_direction)

__all__ = ["ViewEstimate", "estimate_view", "project_to_view", "camera_looking_at_subject",
           "view_direction", "PNP_KEYPOINTS"]
