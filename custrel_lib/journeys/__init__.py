"""Journeys: stage transitions, Markov projection of the stage mix, touchpoint journeys.

Row-level work (resampling, transition counts, paths) runs in the query engine through Ibis (DuckDB in
process by default); only counts come back to pandas.
"""

from custrel_lib.journeys._base import CADENCES, ENTRY, EXIT, OTHER, code_label, period_label
from custrel_lib.journeys.transitions import Transitions, path_label, select_snapshots

__all__ = [
    "CADENCES",
    "ENTRY",
    "EXIT",
    "OTHER",
    "Transitions",
    "code_label",
    "path_label",
    "period_label",
    "select_snapshots",
]
