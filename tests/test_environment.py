"""environment.yml (conda) and pyproject.toml (pip) must name the same packages with the same bounds."""

from __future__ import annotations

import re
import tomllib

import yaml

from custrel_lib.paths import PROJECT_ROOT

# conda-forge names of PyPI packages, where they differ
CONDA_NAMES = {"duckdb": "python-duckdb", "ibis-framework": "ibis-framework-core"}


def _split(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";")[0].strip()
    match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(3).replace(" ", "")


def _pyproject() -> dict[str, str]:
    doc = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    reqs = doc["project"]["dependencies"] + doc["project"]["optional-dependencies"]["dev"]
    return dict(_split(r) for r in reqs)


def _conda() -> dict[str, str]:
    doc = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    deps = [d for d in doc["dependencies"] if isinstance(d, str)]
    return dict(_split(d.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=<>]", d) else d) for d in deps)


def test_every_pip_dependency_is_in_environment_yml_with_the_same_bounds():
    conda = _conda()
    mismatches = []
    for name, spec in _pyproject().items():
        conda_name = CONDA_NAMES.get(name, name)
        if conda_name not in conda:
            mismatches.append(f"{name}: missing from environment.yml")
        elif conda[conda_name] != spec:
            mismatches.append(f"{name}: pyproject '{spec}' vs environment.yml '{conda[conda_name]}'")
    assert not mismatches, "\n".join(mismatches)


def test_environment_yml_names_no_package_pyproject_lacks():
    known = {CONDA_NAMES.get(n, n) for n in _pyproject()} | {"python", "pip"}
    extra = sorted(set(_conda()) - known)
    assert not extra, f"environment.yml has packages pyproject.toml lacks: {extra}"


def test_environment_yml_pins_python_and_installs_the_project():
    doc = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in doc["dependencies"]
    pip_section = next(d["pip"] for d in doc["dependencies"] if isinstance(d, dict))
    assert '-e ".[dev]"' in pip_section or "-e .[dev]" in pip_section
