"""Where things are: what ships with the code, and where the user's reports go.

In a checkout (the repository, or an editable install) the notebooks and the sample live at the project root
(``notebooks/``, ``data/sample/``). An installed wheel carries copies of them inside the package
(``custrel_lib/_bundle/``, written at build time by ``setup.py``), found through ``importlib.resources``, so
``custrel report`` works from any folder. Reports go to ``reports/`` in the current directory unless a folder is
given: never next to the installed package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("custrel_lib")))
PROJECT_ROOT = PACKAGE_DIR.parent
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "notebooks").is_dir()
BUNDLE_DIR = PACKAGE_DIR / "_bundle"

DATA_DIR = PROJECT_ROOT / "data" if IN_CHECKOUT else BUNDLE_DIR
SAMPLE_DIR = DATA_DIR / "sample"
SAMPLE_CONFIG = SAMPLE_DIR / "custrel.yml"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks" if IN_CHECKOUT else BUNDLE_DIR / "notebooks"
TEMPLATES_DIR = PACKAGE_DIR / "reports" / "templates"
DEFAULT_STAGES_FILE = PACKAGE_DIR / "stages" / "stages.yml"
REPORTS_FOLDER = "reports"


def default_reports_dir() -> Path:
    """``reports/`` in the current directory (where the user runs ``custrel report``)."""
    return Path.cwd() / REPORTS_FOLDER
