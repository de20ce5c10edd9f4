"""Imported first by the ``custrel`` command and by a report's worker processes, never by the library itself.

Running a report imports papermill and nbformat, hence jsonschema, which imports ``rfc3987_syntax`` (when
installed: jupyterlab's jupyter-events brings it) to check IRI formats, and builds its grammar at import: 1.6 s
of every ``custrel`` command's start and 1.8 s of each worker's. custrel validates notebooks without format
checkers, so its own processes do without that module (a user's Python session is left alone).
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
