"""Imported first by the ``custrel`` command and by a report's worker processes, never by the library itself.

Running a report imports papermill and nbformat, hence jsonschema, which imports ``rfc3987_syntax`` (when
installed: jupyterlab's jupyter-events brings it) to check IRI formats, and builds its grammar at import: over a
second of every ``custrel`` command's start and of each worker's (``time custrel --help``: 3.7 s before, 2.1 s
after). custrel validates notebooks without format
checkers, so its own processes do without that module (a user's Python session is left alone).
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
