"""Package-specific errors and warnings.

Every error a user can cause derives from :class:`CustrelError`, so scripts and
the CLI can catch one class and print its message instead of a traceback.
"""

from __future__ import annotations


class CustrelError(Exception):
    """Base class of every error raised by custrel on purpose."""


class ConfigError(CustrelError):
    """The configuration (``custrel.yml``, parameters) is invalid.

    ``key`` is the dotted path of the setting at fault (``tables.transactions.columns.amount``) when known.
    """

    key: str | None = None


class DataContractError(CustrelError):
    """An input table cannot be used: unreadable file, missing required column, ..."""


class MissingColumnError(DataContractError):
    """A required column is missing from an input table."""

    def __init__(self, table: str, column: str | list[str], found: list[str], source: str | None = None):
        columns = [column] if isinstance(column, str) else list(column)
        self.table, self.found, self.source = table, list(found), source
        #: the columns that were found (set by custrel_lib.io.contract.column_mapping)
        self.mapped: dict[str, str] = {}
        self.column = ", ".join(columns)
        where = f" in {source}" if source else ""
        what = ", ".join(c if c.startswith("'") else f"'{c}'" for c in columns)
        verb = "columns {} are" if len(columns) > 1 else "column {} is"
        super().__init__(
            f"Table '{table}'{where}: required {verb.format(what)} missing. "
            f"Columns found: {', '.join(map(str, found)) or '(none)'}. "
            f"Map your column names to the contract's under tables.{table}.columns in custrel.yml."
        )


class RuleError(CustrelError):
    """A stage rule (typology) is invalid: unknown feature or operator, unreachable stage, ..."""


class AnalysisError(CustrelError):
    """An analysis cannot run on the data it was given (too little data, no events, ...).

    ``code`` names the cause for a report, which says it in its language (``why_<code>`` in
    :data:`custrel_lib.sections.TEXT`); without one, a report says only that the data does not allow it.
    """

    def __init__(self, message: str, code: str | None = None):
        self.code = code
        super().__init__(message)


class InsufficientDataError(AnalysisError):
    """Too few of something (customers, episodes, events, covariates) for an analysis.

    ``what`` names it, ``found`` and ``needed`` are the counts, so a report can say, in its language,
    "3 separations, fewer than the 10 a Cox model needs" (see :mod:`custrel_lib.sections`).
    """

    def __init__(self, what: str, found: int, needed: int):
        self.what, self.found, self.needed = what, int(found), int(needed)
        super().__init__(f"Too few {what}: {self.found}, at least {self.needed} are needed.")


class NotFittedError(CustrelError):
    """A model was asked for results before :meth:`fit` ran.

    Every fitted object of custrel (stage model, segmentation, survival and buy-till-you-die models, transitions)
    raises this one error, naming the object and the call that fits it.
    """

    def __init__(self, what: str, fit_call: str = "fit()"):
        self.what, self.fit_call = what, fit_call
        super().__init__(f"This {what} is not fitted yet: call {fit_call} first.")


class EngineError(CustrelError):
    """The query engine cannot start or connect (PySpark or Java missing, a refused connection URL)."""


class ReportError(CustrelError):
    """A report run failed; the message names the notebook and the cell."""


class CustrelWarning(UserWarning):
    """Base class of custrel warnings (data repaired, assumption made, ...)."""
