"""Jinja2 templates of the report pages' own HTML (index page, headline table), autoescaped.

Every string handed to a template (from the data, the config or the parameters) appears as text, never as
markup. The notebook pages themselves are nbconvert's (``templates/custrel_report.html.j2``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from custrel_lib.paths import TEMPLATES_DIR

__all__ = ["render"]


@cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``, autoescaped."""
    return _environment().get_template(template).render(**context)
