"""The parameters of a report run: from the config and the command line to each notebook, checked first.

Every notebook declares its parameters in a cell tagged ``parameters`` (``name: type = default  # help``
or ``name = default``). Before anything runs, each value is converted to the type its notebooks declare and
a name that no notebook of the run declares is refused, with the list of valid parameters and their types:
a typo fails fast, with no partial run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from custrel_lib.config import CustrelConfig
from custrel_lib.exceptions import ConfigError, ReportError
from custrel_lib.i18n import LANGUAGES

__all__ = [
    "CACHE_ENV",
    "FAILED_DIR",
    "RESERVED",
    "check_run_id",
    "coerce_parameter",
    "common_parameters",
    "declared_parameters",
    "default_run_id",
    "plan_parameters",
]

#: Environment variable naming the per-run cache folder the kernels share (:mod:`custrel_lib.workbench`).
CACHE_ENV = "CUSTREL_RUN_CACHE"
#: Parameters the run sets itself; a user may not pass them.
RESERVED = ("output_dir",)
FAILED_DIR = "_failed"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def common_parameters(
    config: CustrelConfig | None, lang: str | None, parameters: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """The report language and the parameters passed to every notebook that declares them.

    ``config_path``, ``lang`` and ``analysis.as_of/cadence/horizon_days`` of the config, overridden by
    ``parameters`` (``-p NAME VALUE``).

    Raises
    ------
    ConfigError
        Unknown language, or a parameter the run sets itself.
    """
    lang = lang or (config.language if config is not None else None) or "fr"
    if lang not in LANGUAGES:
        raise ConfigError(f"Unknown language {lang!r}: use {' or '.join(LANGUAGES)}.")
    common: dict[str, Any] = {}
    if config is not None and config.path is not None:
        common["config_path"] = str(config.path)
    common["lang"] = lang
    analysis = config.analysis if config is not None else {}
    for key in ("as_of", "cadence", "horizon_days"):
        if analysis.get(key) is not None:
            common[key] = _plain(analysis[key])
    for name, value in (parameters or {}).items():
        if name in RESERVED:
            raise ConfigError(f"{name!r} is set by the report run (the run folder); do not pass it.")
        common[str(name)] = _plain(value)
    return lang, common


def _resolve_untyped(value: str) -> Any:
    """papermill's CLI inference for a value of an untyped parameter: int, float, bool, None or str."""
    if value in ("True", "true"):
        return True
    if value in ("False", "false"):
        return False
    if value == "None":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "oui"):
        return True
    if text in ("false", "0", "no", "non", ""):
        return False
    raise ValueError(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


_CASTS = {
    "str": lambda v: str(_plain(v)),
    "int": _to_int,
    "float": float,
    "bool": _to_bool,
}


def coerce_parameter(name: str, value: Any, type_name: str | None, notebook: str = "") -> Any:
    """Convert a parameter to the type its notebook declares (``name: int = 0``).

    Values from the command line are strings; a notebook expecting ``int`` must get an int. Untyped
    parameters get papermill's inference (``"3"`` is 3, ``"true"`` is True).

    Raises
    ------
    ConfigError
        The value cannot be converted.
    """
    type_name = (type_name or "").strip().lower()
    if type_name.startswith("optional[") or type_name.endswith("| none"):
        if value is None or value == "None":
            return None
        type_name = type_name.removeprefix("optional[").removesuffix("]").removesuffix("| none").strip()
    cast = _CASTS.get(type_name)
    if cast is not None:
        try:
            return cast(value)
        except (TypeError, ValueError) as exc:
            where = f" of notebook {notebook}" if notebook else ""
            raise ConfigError(f"Parameter {name!r}{where} expects {type_name}, got {value!r}.") from exc
    if isinstance(value, str):
        return _resolve_untyped(value)
    return _plain(value)


def declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares (papermill's inspection: name, type, default, help)."""
    import papermill

    try:
        return papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises various errors for unreadable notebooks
        raise ReportError(f"Cannot read the parameters of notebook {path.name}: {exc}") from exc


def _declared_type(spec: Mapping[str, Any]) -> str:
    declared = spec.get("inferred_type_name")
    if declared and declared != "None":
        return str(declared)
    default = str(spec.get("default", ""))
    return "str" if default[:1] in "\"'" else f"untyped, default {default}" if default else "untyped"


def valid_parameters_text(declared: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """``name (type)`` for every parameter a user may pass, over the notebooks of a run."""
    seen: dict[str, str] = {}
    for specs in declared.values():
        for name, spec in specs.items():
            if name not in RESERVED:
                seen.setdefault(name, _declared_type(spec))
    return ", ".join(f"{name} ({kind})" for name, kind in sorted(seen.items())) or "(none)"


def plan_parameters(
    notebooks: Iterable[Path], common: Mapping[str, Any], user_names: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Per notebook, the parameters it receives, converted to the types it declares.

    Parameters
    ----------
    notebooks : iterable of Path
    common : mapping
        What the run passes (:func:`common_parameters`); each notebook gets the names it declares.
    user_names : iterable of str
        Names the user passed: each must be declared by at least one notebook of the run.

    Raises
    ------
    ConfigError
        A user parameter that no notebook declares, or a value of the wrong type; the message lists the
        valid parameters and their types.
    """
    paths = list(notebooks)
    declared = {p.name: declared_parameters(p) for p in paths}
    unknown = sorted(set(user_names) - {n for specs in declared.values() for n in specs})
    if unknown:
        raise ConfigError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))}: no notebook of this run declares them. "
            f"Valid parameters: {valid_parameters_text(declared)}."
        )
    plans = []
    for path in paths:
        specs = declared[path.name]
        passed = {}
        for name, value in common.items():
            if name not in specs:
                continue
            try:
                passed[name] = coerce_parameter(name, value, specs[name].get("inferred_type_name"), path.name)
            except ConfigError as exc:
                raise ConfigError(f"{exc} Valid parameters: {valid_parameters_text(declared)}.") from exc
        if "output_dir" in specs:
            passed["output_dir"] = None  # the run folder, known once the lock is held
        plans.append(passed)
    return plans


def default_run_id(
    parameters: Mapping[str, Any], notebooks: Iterable[str], today: dt.date | None = None
) -> str:
    """``<date>-<8 hex>``: the run date and a short hash of the parameters and notebook names."""
    payload = json.dumps(
        {"parameters": parameters, "notebooks": list(notebooks)}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]
    return f"{(today or dt.date.today()).isoformat()}-{digest}"


def check_run_id(run_id: str) -> str:
    """A run id is a plain folder name: letters, digits, ``.``, ``_``, ``-``; not starting with ``.``/``_``."""
    if not _RUN_ID.match(run_id) or run_id == FAILED_DIR or ".." in run_id:
        raise ConfigError(
            f"Invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 100 characters)."
        )
    return run_id
