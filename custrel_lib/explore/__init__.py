"""Interactive exploration in JupyterLab: the stage explorer and the customer story.

``StageExplorer(wb)`` shows the stages under changed settings (H, rule thresholds, snapshot date, filters),
recomputed in the engine, and exports them as a ``custrel.yml`` block; ``explorer.story`` draws one
customer's timeline. A researcher's tool: customer identifiers are shown, so nothing here goes into reports.
"""

from custrel_lib.explore.engine import Exploration, ExplorerEngine, Settings
from custrel_lib.explore.story import CustomerEvents, customer_events, story_figure
from custrel_lib.explore.widgets import CustomerStory, StageExplorer

__all__ = [
    "CustomerEvents",
    "CustomerStory",
    "Exploration",
    "ExplorerEngine",
    "Settings",
    "StageExplorer",
    "customer_events",
    "story_figure",
]
