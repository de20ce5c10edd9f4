"""Customer identifiers out of shared reports: masked in HTML, pseudonymised on request in exports.

Report pages never show a raw customer identifier (a worked example is shown masked). Customer-level exports
(``at_risk.csv``, ``stage_history.csv``) go to their own files; with ``pseudonymize``, each identifier is
replaced by a keyed hash (HMAC-SHA256), so a team holding the key can join the export back to its CRM and
nobody else can. The key comes from the environment variable ``CUSTREL_PSEUDONYM_KEY`` and is never written
into any output.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd

from custrel_lib.exceptions import ConfigError

KEY_VARIABLE = "CUSTREL_PSEUDONYM_KEY"
MASK = "•••••"


def key_from_env(variable: str = KEY_VARIABLE) -> bytes:
    """The pseudonymisation key, from the environment; a clear error when it is not set."""
    value = os.environ.get(variable, "")
    if len(value) < 16:
        raise ConfigError(
            f"Pseudonymised exports need a secret key of 16 characters or more in the environment variable "
            f"{variable} (it is never written into the outputs). Set it, or run without pseudonymize."
        )
    return value.encode("utf-8")


def pseudonymize(ids: pd.Series, key: bytes) -> pd.Series:
    """Each identifier replaced by the first 16 hex digits of HMAC-SHA256(key, id): stable for one key."""
    return ids.astype(str).map(lambda v: hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:16])
