"""The stage explorer and the customer story as ipywidgets, for JupyterLab.

The logic lives in :mod:`custrel_lib.explore.engine` and :mod:`custrel_lib.explore.story`; this module
only wires controls to it. Every figure is also kept in ``.figures`` (plotly ``go.Figure``), so the widgets
can be tested without a browser.
"""

from __future__ import annotations

import html
import time

import ipywidgets as w
import pandas as pd
from IPython import get_ipython
from IPython.display import display

from custrel_lib.exceptions import CustrelError
from custrel_lib.explore.engine import FILTERS, KEY_FEATURES, Exploration, ExplorerEngine, Settings
from custrel_lib.explore.story import customer_events, story_figure
from custrel_lib.explore.text import t
from custrel_lib.i18n import check_lang, format_date, format_number
from custrel_lib.plots.sankey import sankey
from custrel_lib.plots.stages import stage_bar, stage_profiles_chart
from custrel_lib.stages import typology
from custrel_lib.stages.features import feature_label
from custrel_lib.tables import html_table
from custrel_lib.workbench import Workbench

#: plotly's renderer inside the widgets' outputs: JupyterLab's own (jupyterlab-plotly), no plotly.js copy.
RENDERER = "plotly_mimetype"
LISTED = 200
SNAPSHOT_CHOICES = 24
WIDE = w.Layout(width="560px")
STYLE = {"description_width": "340px"}


def _show(out: w.Output, *items) -> None:
    """Replace what ``out`` shows: figures through the renderer, the rest through IPython's display.

    Outside IPython (tests, scripts) nothing is drawn: the figures stay in ``.figures``."""
    if get_ipython() is None:
        return
    out.clear_output(wait=True)
    with out:
        for item in items:
            if hasattr(item, "to_plotly_json"):
                item.show(renderer=RENDERER)
            else:
                display(item)


def counts_html(ex: Exploration, lang: str, seconds: float | None = None) -> str:
    """The shown stage counts as a small table (``data-stage`` on each row, for people and tests), under a
    status line that gives the time the last change took (``seconds``; default: the engine's part)."""
    rows = "".join(
        f"<tr data-stage='{code}'><td>{html.escape(typology.stage_label(code, lang))}</td>"
        f"<td class='num'>{format_number(n, lang)}</td></tr>"
        for code, n in ex.counts.items()
    )
    status = t(
        "status",
        lang,
        n=format_number(int(ex.counts.sum()), lang),
        date=format_date(ex.settings.snapshot, lang),
        h=format_number(ex.settings.horizon_days, lang),
        seconds=format_number(ex.seconds if seconds is None else seconds, lang, 2),
    )
    if ex.sample:  # large data: the explorer shows the seeded sample of customers the analyses use
        status += t(
            "status_sample",
            lang,
            n=format_number(ex.sample["sampled"], lang),
            total=format_number(ex.sample["customers"], lang),
            seed=ex.sample["seed"],
        )
    return (
        f"<div class='custrel-explorer-status'>{html.escape(status)}</div>"
        f"<table class='custrel-explorer-counts'><caption>{html.escape(t('status_counts', lang))}</caption>"
        f"<tbody>{rows}</tbody></table>"
    )


class CustomerStory:
    """A search box (customer id, with completion) and the timeline of the chosen customer."""

    def __init__(self, engine: ExplorerEngine, settings=None, lang: str = "fr"):
        """``settings``: a callable giving the explorer's current :class:`Settings` (default: the workbench's)."""
        self.engine, self.lang = engine, check_lang(lang)
        self.settings = settings or engine.default_settings
        self.ids = sorted(engine.attributes["customer_id"].tolist())
        self.search = w.Combobox(
            placeholder=t("search", self.lang),
            options=self.ids,
            ensure_option=True,
            description=t("customer", self.lang),
            layout=WIDE,
        )
        self.message = w.HTML()
        self.out = w.Output()
        self.figure, self.events, self._quiet = None, None, False
        self.search.observe(self._searched, names="value")
        self.widget = w.VBox([self.search, self.message, self.out], layout=w.Layout(width="100%"))

    def _searched(self, change) -> None:
        if change["new"] and not self._quiet:
            self.show(change["new"])

    def show(self, customer_id: str):
        """Draw the story of ``customer_id`` under the current settings; return the figure (or None)."""
        cid = str(customer_id).strip()
        if cid not in self.ids:
            self.message.value = f"<b>{html.escape(t('unknown_customer', self.lang, customer=cid))}</b>"
            return None
        settings = self.settings()
        try:
            events = customer_events(self.engine, cid, settings)
        except CustrelError as exc:
            self.message.value = f"<b>{html.escape(str(exc))}</b>"
            return None
        self.message.value = ""
        self.events = events
        self.figure = story_figure(events, self.lang, settings.horizon_days)
        if self.search.value != cid:  # show the id searched, without drawing twice
            self._quiet = True
            try:
                self.search.value = cid
            finally:
                self._quiet = False
        _show(self.out, self.figure)
        return self.figure

    def _ipython_display_(self) -> None:
        display(self.widget)


class StageExplorer:
    """Controls for H, the rule thresholds, the snapshot date and filters; live stage counts, Sankey,
    profiles and customer lists; export of the settings as a ``custrel.yml`` block.

    Parameters
    ----------
    wb : Workbench
        From :func:`custrel_lib.workbench.prepare`; its tables are loaded once into the engine.
    lang : {"fr", "en"}, optional
        Default: the workbench's.
    engine : ExplorerEngine, optional
        The engine to recompute with (default: a new ``ExplorerEngine(wb)``).
    """

    def __init__(self, wb: Workbench, lang: str | None = None, engine: ExplorerEngine | None = None):
        self.lang = check_lang(lang or wb.lang)
        self.engine = engine or ExplorerEngine(wb)
        self.defaults = self.engine.default_settings()
        self.figures: dict[str, object] = {}
        self._building = True
        self._controls()
        self._outputs()
        self.story = CustomerStory(self.engine, self.settings, self.lang)
        self.widget = self._layout()
        self._building = False
        self.refresh()

    # --- controls ----------------------------------------------------------------------------------------

    def _controls(self) -> None:
        lang, h = self.lang, self.defaults.horizon_days
        self.horizon = w.IntSlider(
            value=h,
            min=max(7, h // 4),
            max=max(h * 3, 60),
            step=1,
            description=t("horizon", lang),
            continuous_update=False,
            style=STYLE,
            layout=WIDE,
        )
        grid = self.engine.grid[-SNAPSHOT_CHOICES:]
        self.snapshot = w.Dropdown(
            options=[(format_date(s, lang), s) for s in grid],
            value=self.defaults.snapshot,
            description=t("snapshot", lang),
            style=STYLE,
            layout=WIDE,
        )
        self.thresholds: dict[str, w.IntSlider] = {}
        for th in self.engine.thresholds:
            top = max(int(th.value) * 3, 10) if not th.is_days else max(int(th.value) * 3, 90)
            self.thresholds[th.key] = w.IntSlider(
                value=int(th.value),
                min=0,
                max=top,
                step=1,
                description=th.label(lang),
                continuous_update=False,
                style=STYLE,
                layout=WIDE,
            )
        options = self.engine.filter_options()
        self.filters = {
            name: w.Dropdown(
                options=[(t("all", lang), ""), *((v, v) for v in options[name])],
                value="",
                description=t(name, lang),
                style=STYLE,
                layout=WIDE,
            )
            for name in FILTERS
        }
        self.stage = w.Dropdown(
            options=[(typology.stage_label(c, lang), c) for c in typology.stage_order()],
            value=typology.stage_order()[-1],
            description=t("stage_pick", lang),
            style=STYLE,
            layout=WIDE,
        )
        self.export_button = w.Button(
            description=t("export", lang), icon="download", layout=w.Layout(width="300px")
        )
        self.reset_button = w.Button(
            description=t("reset", lang), icon="undo", layout=w.Layout(width="300px")
        )
        for control in [self.horizon, self.snapshot, *self.thresholds.values(), *self.filters.values()]:
            control.observe(lambda _change: self.refresh(), names="value")
        self.stage.observe(lambda _change: self._list_customers(), names="value")
        self.export_button.on_click(lambda _b: self.export())
        self.reset_button.on_click(lambda _b: self.reset())

    def _outputs(self) -> None:
        self.status = w.HTML()
        self.out_bar, self.out_sankey, self.out_profiles = w.Output(), w.Output(), w.Output()
        self.rule = w.HTML()
        self.customer_list = w.Select(options=[], rows=8, layout=w.Layout(width="300px"))
        self.customer_list.observe(
            lambda change: self.story.show(change["new"]) if change["new"] else None, names="value"
        )
        self.customer_table = w.HTML()
        self.export_text = w.Textarea(layout=w.Layout(width="100%", height="320px"))
        self.export_help = w.HTML(f"<p>{html.escape(t('export_help', self.lang))}</p>")

    def _layout(self) -> w.Widget:
        lang = self.lang
        left = w.VBox(
            [
                self.horizon,
                self.snapshot,
                *self.filters.values(),
                w.HTML(f"<b>{html.escape(t('thresholds', lang))}</b>"),
                *self.thresholds.values(),
                self.reset_button,
            ]
        )
        customers = w.VBox([self.stage, self.rule, w.HBox([self.customer_list, self.customer_table])])
        export = w.VBox([self.export_help, self.export_button, self.export_text])
        tabs = w.Tab(children=[self.out_bar, self.out_sankey, self.out_profiles, customers, export])
        for i, key in enumerate(
            ("tab_distribution", "tab_sankey", "tab_profiles", "tab_customers", "tab_export")
        ):
            tabs.set_title(i, t(key, lang))
        self.tabs = tabs
        top = w.HBox([left, w.VBox([self.status], layout=w.Layout(margin="0 0 0 24px"))])
        return w.VBox([top, tabs], layout=w.Layout(width="100%"))

    # --- state ---------------------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """The settings the controls show now."""
        return Settings(
            horizon_days=int(self.horizon.value),
            snapshot=pd.Timestamp(self.snapshot.value),
            values={k: s.value for k, s in self.thresholds.items()},
            filters={k: d.value for k, d in self.filters.items()},
        )

    def refresh(self) -> Exploration | None:
        """Recompute under the current settings and redraw every output."""
        if self._building:
            return None
        t0 = time.perf_counter()
        try:
            ex = self.engine.compute(self.settings())
        except CustrelError as exc:
            self.status.value = f"<b>{html.escape(str(exc))}</b>"
            return None
        self.result, lang = ex, self.lang
        self.figures["distribution"] = stage_bar(ex.current, lang)
        _show(self.out_bar, self.figures["distribution"])
        if ex.transitions is not None:
            self.figures["sankey"] = sankey(ex.transitions, lang=lang)
            _show(self.out_sankey, self.figures["sankey"])
        profiles = ex.profiles(lang)
        self.figures["profiles"] = stage_profiles_chart(profiles.table, lang)
        _show(self.out_profiles, self.figures["profiles"], profiles)
        populated = [c for c in typology.stage_order() if ex.counts.get(c, 0)]
        if not getattr(self, "_stage_set", False) and populated and self.stage.value not in populated:
            self.stage.value = populated[
                -1
            ]  # at first, a stage with customers (a short history has no "separe")
        self._stage_set = True
        self._list_customers()
        if self.export_text.value:
            self.export()
        self.seconds = time.perf_counter() - t0
        self.status.value = counts_html(ex, lang, self.seconds)
        return ex

    def _list_customers(self) -> None:
        ex, lang, stage = self.result, self.lang, self.stage.value
        label = typology.stage_label(stage, lang)
        self.rule.value = (
            f"<p>{html.escape(t('rule_of', lang, stage=label, rule=ex.rule_text(stage, lang)))}</p>"
        )
        table = ex.customers(stage, limit=LISTED)
        n = int(ex.counts.get(stage, 0))
        self.customers_shown = table
        self.customer_list.options = table["customer_id"].tolist()
        if table.empty:
            self.customer_table.value = f"<p>{html.escape(t('no_customer', lang))}</p>"
            return
        shown = table.rename(columns={c: feature_label(c, lang) for c in KEY_FEATURES})
        shown = shown.rename(columns={"customer_id": t("customer", lang)})
        note = html.escape(t("listed", lang, shown=format_number(len(table), lang), n=format_number(n, lang)))
        self.customer_table.value = (
            f"<p>{note}</p><div style='max-height:320px;overflow:auto'>{html_table(shown, lang)}</div>"
        )

    def export(self, path=None) -> str:
        """The current settings as a ``custrel.yml`` block; shown in the Export tab, written to ``path`` if given."""
        text = self.engine.export(self.settings())
        self.export_text.value = text
        if path is not None:
            from pathlib import Path

            Path(path).write_text(text, encoding="utf-8")
        return text

    def reset(self) -> None:
        """Back to the workbench's H, snapshot and rules, without filters (one recomputation)."""
        self._building = True
        self.horizon.value, self.snapshot.value = self.defaults.horizon_days, self.defaults.snapshot
        for key, slider in self.thresholds.items():
            slider.value = int(self.defaults.values[key])
        for d in self.filters.values():
            d.value = ""
        self._building = False
        self.refresh()

    def _ipython_display_(self) -> None:
        display(self.widget)
