"""lab: a movement-analysis workbench.

Stages, one module each: :mod:`lab.pose` (video -> pose track),
:mod:`lab.lift` (clean 3D, body frame), :mod:`lab.align` (camera viewpoint,
re-projection), :mod:`lab.features`, :mod:`lab.dtw`, :mod:`lab.score`,
:mod:`lab.viz`. One structure, :class:`lab.pose.PoseTrack`, crosses every
boundary.
"""

__version__ = "0.1.0"
