"""Paths anchored at the project root, never at the current directory."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
SAMPLE_CONFIG = SAMPLE_DIR / "custrel.yml"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_STAGES_FILE = PACKAGE_DIR / "stages.yml"
