"""Build hook: an installed wheel carries the notebooks and the sample data that ``custrel report`` runs.

They live at the project root in a checkout (``notebooks/``, ``data/sample/``); at build time they are copied
into ``custrel_lib/_bundle/`` (``custrel_lib.paths`` finds them there when the package is installed). Editable
installs use the checkout's own files and get no copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLE = {
    "notebooks": ("notebooks", ["*.ipynb"]),
    "sample": ("data/sample", ["*.csv", "custrel.yml", "README.md"]),
}


class BuildWithBundle(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "custrel_lib" / "_bundle"
        for name, (source, patterns) in BUNDLE.items():
            dest = target / name
            dest.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for path in sorted((ROOT / source).glob(pattern)):
                    shutil.copy2(path, dest / path.name)


setup(cmdclass={"build_py": BuildWithBundle})
