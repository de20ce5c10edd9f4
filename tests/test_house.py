"""The house rules of ``custrel_lib``: short modules, short functions, and layers that only look down.

Sizes: no module over ``MAX_MODULE_LINES`` lines and no function (or method) over ``MAX_FUNCTION_LINES``
lines, decorators and docstring included. A file may be listed in ``EXCEPTIONS`` with the reason it is
still over a limit; a listed file that meets the limits again fails the test, so the list only shrinks.

Layers, bottom to top (a module may import its own layer and the layers below, never one above):
base modules < ``io`` < ``stages`` < analyses (``survival``, ``journeys``, ``flame``) < ``plots`` <
``reports`` < ``workbench`` and ``cli``. Imports are read with :mod:`ast`, those inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "custrel_lib"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# Path (relative to custrel_lib/) -> why it is still over a limit. Every entry must still be over a limit.
EXCEPTIONS: dict[str, str] = {}

BASE = (
    "exceptions",
    "i18n",
    "paths",
    "progress",
    "tables",
    "privacy",
    "voice",
    "engine",
    "config",
    "config_checker",
    "table_spec",
    "sections",
    "_startup",  # imported first by the custrel command and its workers; imports nothing of custrel_lib
)
LAYERS: dict[str, int] = {
    **dict.fromkeys(BASE, 0),
    "io": 1,
    "stages": 2,
    "survival": 3,
    "journeys": 3,
    "flame": 3,
    "plots": 4,
    "reports": 5,
    "workbench": 6,
    "runcache": 6,  # the report run's cache, read by the workbench
    "cli": 6,
    "explore": 7,  # the JupyterLab explorer, built on the workbench
}


_SUBMODULES = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _too_long(text: str) -> list[str]:
    """What in the source ``text`` breaks a size limit, as readable strings (empty when nothing does)."""
    problems = []
    n_lines = len(text.splitlines())
    if n_lines > MAX_MODULE_LINES:
        problems.append(f"module of {n_lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - first + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{node.name}() of {length} lines (line {node.lineno})")
    return problems


def _layer(module: str) -> int | None:
    """Layer of a dotted module name inside custrel_lib (``None`` for the package root or outside)."""
    parts = module.split(".")
    if parts[0] != "custrel_lib" or len(parts) == 1:
        return None
    if parts[1] not in LAYERS:
        raise AssertionError(f"custrel_lib.{parts[1]} has no layer: add it to LAYERS in tests/test_house.py.")
    return LAYERS[parts[1]]


def _imports(text: str, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``text``, a module of ``package`` (dotted), relative imports
    resolved and imports inside functions included."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module == "custrel_lib":  # ``from custrel_lib import plots``: a name may be a module
                out += [
                    (node.lineno, f"custrel_lib.{a.name}" if a.name in _SUBMODULES else module)
                    for a in node.names
                ]
            else:
                out.append((node.lineno, module))
    return out


def _package_of(path: Path) -> str:
    return ".".join(["custrel_lib", *path.relative_to(PACKAGE).parts[:-1]])


def test_the_checks_catch_what_they_should():
    """The checks themselves: a long function, a long module and upward imports (local, relative) are caught."""
    assert _too_long("def f():\n" + "    x = 1\n" * 80) == ["f() of 81 lines (line 1)"]
    assert _too_long("def f():\n" + "    x = 1\n" * 79) == []
    assert _too_long("x = 1\n" * 401) == ["module of 401 lines"]
    local = "def f():\n    from ..plots.common import style\n    from custrel_lib import reports\n"
    found = [(m, _layer(m)) for _, m in _imports(local, "custrel_lib.journeys")]
    assert found == [("custrel_lib.plots.common", 4), ("custrel_lib.reports", 5)]
    assert (
        _layer("custrel_lib.survival.km") > _layer("custrel_lib.stages.typology") > _layer("custrel_lib.i18n")
    )
    assert _layer("pandas") is None
    assert _imports("from custrel_lib import __version__", "custrel_lib") == [(1, "custrel_lib")]


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_modules_and_functions_are_short(path):
    problems = _too_long(path.read_text(encoding="utf-8"))
    rel = _rel(path)
    if rel in EXCEPTIONS:
        assert problems, f"{rel} meets the limits now: remove it from EXCEPTIONS in tests/test_house.py."
        return
    assert not problems, f"custrel_lib/{rel}: " + "; ".join(problems)


#: Imports allowed across layers, with the reason. ``io/contract.py`` is data only (it imports nothing above the
#: base layer): the configuration checks column mappings against it rather than keep a second list.
UPWARD_ALLOWED = {
    ("config.py", "custrel_lib.io.contract"): "the one definition of the data contract",
    ("table_spec.py", "custrel_lib.io.contract"): "the one definition of the data contract",
}


def test_every_exception_is_an_existing_file_with_a_reason():
    for rel, reason in EXCEPTIONS.items():
        assert (PACKAGE / rel).is_file(), f"EXCEPTIONS lists {rel}, which does not exist."
        assert reason.strip(), f"EXCEPTIONS gives no reason for {rel}."


@pytest.mark.parametrize("path", _modules(), ids=_rel)
def test_no_module_imports_a_higher_layer(path):
    rel = _rel(path)
    top = rel.split("/")[0].removesuffix(".py")
    if top == "__init__":
        return
    own = LAYERS[top]
    upward = [
        f"line {line}: {module}"
        for line, module in _imports(path.read_text(encoding="utf-8"), _package_of(path))
        if (layer := _layer(module)) is not None and layer > own and (rel, module) not in UPWARD_ALLOWED
    ]
    assert not upward, f"custrel_lib/{rel} (layer {own}) imports a higher layer: " + "; ".join(upward)


def test_allowed_upward_imports_are_data_only():
    for (_, module), reason in UPWARD_ALLOWED.items():
        path = PACKAGE / (module.removeprefix("custrel_lib.").replace(".", "/") + ".py")
        higher = [
            m
            for _, m in _imports(path.read_text(encoding="utf-8"), _package_of(path))
            if (_layer(m) or 0) > 0
        ]
        assert reason and not higher, (
            f"{module} may be imported from below only while it imports no layer: {higher}"
        )
