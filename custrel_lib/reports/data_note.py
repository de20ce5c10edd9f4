"""What the report was computed on: rows read, kept and rejected per file, and why rows were rejected.

Rejected rows are never dropped silently: ``custrel validate`` lists them one by one, and every report says how
many there were (:func:`data_sentence` in the executive summary's notes, :func:`data_figures` in
``key_figures.json`` under ``data``).
"""

from __future__ import annotations

from typing import Any

from custrel_lib.i18n import format_number, tr

TEXT = {
    "data": {
        "fr": "Données lues : {parts}. « custrel validate » liste chaque ligne écartée, avec sa raison.",
        "en": "Data read: {parts}. `custrel validate` lists every row left out, with its reason.",
    },
    "part": {
        "fr": "{file}, {read} lignes{orders} dont {rejected} rejetées{why}",
        "en": "{file}, {read} rows{orders} of which {rejected} rejected{why}",
    },
    "part_clean": {
        "fr": "{file}, {read} lignes{orders}, aucune rejetée",
        "en": "{file}, {read} rows{orders}, none rejected",
    },
    "orders": {"fr": " (les lignes gardées font {n} achats)", "en": " (the rows kept make {n} purchases)"},
    "why": {"fr": " ({reasons})", "en": " ({reasons})"},
    "reason": {"fr": "{label} : {n}", "en": "{label}: {n}"},
    "one_id_each": {
        "fr": " Attention : {ids} identifiants clients pour {purchases} achats ; presque chaque achat a son propre identifiant, et presque chaque client paraît n'acheter qu'une fois. Si cet identifiant est celui de la commande, il faut relier les achats d'un même client par l'identifiant qui ne change pas d'une commande à l'autre (custrel.yml).",
        "en": " Warning: {ids} customer ids for {purchases} purchases; almost every purchase has an id of its own, and almost every customer seems to buy once. If this id is the order's, a customer's purchases must be linked by the id that stays the same from one order to the next (custrel.yml).",
    },
    "nps_on_five": {
        "fr": " Attention : les {n} réponses NPS ont toutes une note entre {low} et {high} ; une échelle de 1 à 5 (étoiles, satisfaction) lue comme un NPS fait de chaque réponse un détracteur (le NPS compte 9 et 10 comme promoteurs, 0 à 6 comme détracteurs).",
        "en": " Warning: the {n} NPS answers all score between {low} and {high}; a scale of 1 to 5 (stars, satisfaction) read as NPS makes every answer a detractor (NPS counts 9 and 10 as promoters, 0 to 6 as detractors).",
    },
    "no_amounts": {
        "fr": " Les transactions n'ont pas de montants (amounts: false) : chaque ligne compte pour un achat, et ce rapport ne donne aucun chiffre d'affaires, panier ni valeur client ; le signe d'engagement « panier qui grandit » ne peut pas compter.",
        "en": " The transactions hold no amounts (amounts: false): each row counts as one purchase, and this report gives no revenue, basket or customer value; the commitment sign 'growing basket' cannot count.",
    },
    "unplaced": {
        "fr": " {n} clients de la table clients, sans achat ni date d'inscription, ne sont comptés à aucune date : rien ne dit depuis quand ils sont connus.",
        "en": " {n} customers of the customers table, with no purchase and no sign-up date, are counted at no date: nothing says since when they are known.",
    },
    "flagged": {
        "fr": " ; {n} lignes gardées avec un signalement ({reasons})",
        "en": "; {n} rows kept with a warning ({reasons})",
    },
    "repaired": {
        "fr": " ; {n} valeurs vidées ou corrigées ({reasons})",
        "en": "; {n} values emptied or corrected ({reasons})",
    },
    "excluded": {
        "fr": " ; {n} lignes écartées à dessein par custrel.yml ({reasons})",
        "en": "; {n} rows left out on purpose by custrel.yml ({reasons})",
    },
}
#: The reasons of rejection, as a reader of the report says them (codes: custrel_lib.io.problems.REASONS).
REASON_LABELS = {
    "malformed_line": {"fr": "ligne mal formée", "en": "malformed line"},
    "missing_customer_id": {"fr": "client non renseigné", "en": "no customer id"},
    "missing_value": {"fr": "valeur obligatoire vide", "en": "required value empty"},
    "unparseable_date": {"fr": "date illisible", "en": "unreadable date"},
    "date_out_of_range": {"fr": "date hors période plausible", "en": "implausible date"},
    "non_numeric_amount": {"fr": "montant non numérique", "en": "amount not a number"},
    "duplicate_order_id": {"fr": "commande en double", "en": "duplicate order id"},
    "order_id_other_customer": {"fr": "commande d'un autre client", "en": "order of another customer"},
    "duplicate_customer_id": {"fr": "client en double", "en": "duplicate customer"},
    "future_date": {"fr": "date postérieure à l'extraction", "en": "dated after the extraction"},
    "unknown_customer": {"fr": "client inconnu", "en": "unknown customer"},
    "duplicate_row": {
        "fr": "ligne sans n° de commande qui en répète une autre, comptée comme un autre achat",
        "en": "row without order id repeating another, counted as a further purchase",
    },
    "not_in_customers": {"fr": "acheteur absent de la table clients", "en": "buyer missing from customers"},
    "id_case": {
        "fr": "n° client qui ne diffère d'un autre que par les majuscules, compté comme un autre client",
        "en": "customer id differing from another only by letter case, counted as another customer",
    },
    "order_total_repeated": {
        "fr": "ligne de commande qui répète le montant des autres lignes (total de la commande répété ?), additionnée",
        "en": "order line repeating the amount of the order's other lines (the order total repeated?), added up",
    },
    "invalid_value": {"fr": "valeur hors de la liste admise", "en": "value outside the allowed set"},
    "contract_order": {
        "fr": "contrat qui finit avant de commencer, lu sans contrat",
        "en": "contract ending before it starts, read without a contract",
    },
    "non_numeric_value": {"fr": "valeur non numérique", "en": "value not a number"},
}


def _by_reason(problems, table: str, action: str) -> dict[str, int]:
    """Rows per reason of ``table`` for ``action``, most first (:attr:`ProblemsReport.summary`'s counts)."""
    s = problems.summary
    s = s[(s["table"] == table) & (s["action"] == action)].sort_values("rows", ascending=False, kind="stable")
    return {str(r): int(n) for r, n in zip(s["reason"], s["rows"], strict=True)}


def _by_column(problems, table: str) -> dict[str, int]:
    """Rows left out by ``exclude:``, per column of its rules, most first. The values are not said: a rule may
    name test accounts by their customer ids, and a report carries none (``custrel validate`` lists them)."""
    return problems.rows_by_column(table, "excluded")


def data_figures(problems, files: dict[str, str], orders: int | None = None) -> dict[str, Any]:
    """Per table: ``file`` (its name, no folder), ``read``, ``kept``, ``rejected``, ``rejected_by_reason``
    (rows; a row rejected for two reasons counts under both), ``flagged_by_reason`` (rows kept with a warning)
    and ``repaired_by_reason`` (rows with a value emptied or corrected), for ``key_figures.json``; where
    ``custrel.yml`` leaves rows out, ``excluded`` and ``excluded_by_column`` (rows left out per column); with
    ``order_lines: true``, the transactions' ``orders``: the purchases their kept lines make."""
    out = {}
    for table, counts in problems.counts.items():
        figures = {"file": files.get(table, ""), **counts}
        if table == "transactions" and orders is not None:
            figures["orders"] = int(orders)
        figures.update(
            {f"{a}_by_reason": _by_reason(problems, table, a) for a in ("rejected", "flagged", "repaired")}
        )
        if "excluded" in counts:
            figures["excluded_by_column"] = _by_column(problems, table)
        out[table] = figures
    return out


#: Rows left out are counted per column of the rules; the other lines of an order a rule left out
#: (``order_lines: true``: custrel_lib.io.exclude) are counted under ``order_lines``.
EXCLUDED_LABELS = {
    "order_lines": {"fr": "autres lignes de ces commandes", "en": "other lines of those orders"}
}


def _reasons(counts: dict[str, int], lang: str, labels: dict = REASON_LABELS) -> str:
    return ", ".join(
        tr(TEXT, "reason", lang, label=labels.get(r, {}).get(lang, r), n=format_number(n, lang))
        for r, n in list(counts.items())[:3]
    )


def data_sentence(
    problems,
    files: dict[str, str],
    lang: str,
    unplaced: int = 0,
    orders: int | None = None,
    one_id_each: tuple[int, int] | None = None,
    amounts: bool = True,
    nps_on_five: tuple[int, float, float] | None = None,
) -> str:
    """One sentence: each file's rows read and rejected, with the main reasons (three at most), then the rows
    kept with a warning and the values emptied or corrected, with theirs; and the customers placed at no
    snapshot (``unplaced``), if any. ``orders``: the purchases that a file of order lines makes;
    ``one_id_each``: (customer ids, purchases) when nearly every purchase has a customer id of its own;
    ``amounts`` False: the transactions hold no amounts (what the report then leaves out); ``nps_on_five``:
    (answers, lowest, highest) when every NPS answer lies between 1 and 5 (io/data_warnings.py)."""
    parts = []
    for table, figures in data_figures(problems, files, orders).items():
        file = figures["file"] or table
        read = format_number(figures["read"], lang)
        made = figures.get("orders")
        made = "" if made is None else tr(TEXT, "orders", lang, n=format_number(made, lang))
        if figures["rejected"]:
            why = _reasons(figures["rejected_by_reason"], lang)
            rejected = format_number(figures["rejected"], lang)
            why = tr(TEXT, "why", lang, reasons=why) if why else ""
            part = tr(TEXT, "part", lang, file=file, read=read, orders=made, rejected=rejected, why=why)
        else:
            part = tr(TEXT, "part_clean", lang, file=file, read=read, orders=made)
        for kind in ("flagged", "repaired"):
            counts = figures[f"{kind}_by_reason"]
            if counts:
                n = format_number(sum(counts.values()), lang)
                part += tr(TEXT, kind, lang, n=n, reasons=_reasons(counts, lang))
        if figures.get("excluded"):
            n = format_number(figures["excluded"], lang)
            part += tr(
                TEXT,
                "excluded",
                lang,
                n=n,
                reasons=_reasons(figures["excluded_by_column"], lang, EXCLUDED_LABELS),
            )
        parts.append(part)
    said = tr(TEXT, "data", lang, parts=" ; ".join(parts) if lang == "fr" else "; ".join(parts))
    said += tr(TEXT, "unplaced", lang, n=format_number(unplaced, lang)) if unplaced else ""
    if one_id_each:
        ids, purchases = (format_number(n, lang) for n in one_id_each)
        said += tr(TEXT, "one_id_each", lang, ids=ids, purchases=purchases)
    if nps_on_five:
        n, low, high = nps_on_five
        said += tr(TEXT, "nps_on_five", lang, n=format_number(n, lang), low=f"{low:g}", high=f"{high:g}")
    return said + ("" if amounts else tr(TEXT, "no_amounts", lang))
