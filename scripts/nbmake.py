"""Tiny helper to write notebooks from Python lists of cells (used to author notebooks/; outputs stay empty)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write(path: str | Path, cells: list[tuple[str, str]], parameters: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    params = new_code_cell(parameters.strip())
    params.metadata["tags"] = ["parameters"]
    out = []
    for kind, src in cells:
        if kind == "params":
            out.append(params)
        elif kind == "md":
            out.append(new_markdown_cell(src.strip()))
        else:
            out.append(new_code_cell(src.strip()))
    for i, c in enumerate(out):
        c["id"] = f"c{i:02d}"
    nb.cells = out
    nbformat.write(nb, str(path))


if __name__ == "__main__":
    sys.exit("import this module")
