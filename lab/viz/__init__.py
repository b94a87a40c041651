"""Figures and images for every stage (never writes files, never calls ``show()``)."""

from lab.viz.draw import (
    color_by_noise_ratio,
    deviation_colors,
    draw_ghost,
    draw_skeleton,
    frame_grid,
    pick_frames,
    read_frames,
    render_overlay_video,
    to_png,
)
from lab.viz.plots import (
    animate_skeleton_3d,
    bone_lengths_m,
    confusion_at,
    plot_angle_bands,
    plot_auc_by_gap,
    plot_bone_lengths,
    plot_dtw_path,
    plot_joint_angles,
    plot_pose_quality,
    plot_threshold_explorer,
    plot_viewpoints,
)
from lab.viz.reps import plot_repetition_timeline, plot_self_similarity

__all__ = ["animate_skeleton_3d", "bone_lengths_m", "color_by_noise_ratio", "confusion_at", "deviation_colors",
           "draw_ghost", "draw_skeleton", "frame_grid", "pick_frames", "plot_angle_bands", "plot_auc_by_gap",
           "plot_bone_lengths", "plot_dtw_path", "plot_joint_angles", "plot_pose_quality", "plot_repetition_timeline",
           "plot_self_similarity", "plot_threshold_explorer",
           "plot_viewpoints", "read_frames", "render_overlay_video", "to_png"]
