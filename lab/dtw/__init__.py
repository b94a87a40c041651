"""Temporal alignment: resample, confidence-weighted DTW with open ends, sktime reference DTW."""

from lab.dtw.align import Alignment, dtw_align, dtw_from_costs, dtw_path_sktime, dtw_sktime, local_costs

__all__ = ["Alignment", "dtw_align", "dtw_from_costs", "dtw_path_sktime", "dtw_sktime", "local_costs"]
