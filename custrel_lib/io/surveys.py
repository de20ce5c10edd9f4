"""``custrel init`` on a survey platform's export of answers: Qualtrics' CSV.

CX teams measure NPS with a survey platform and export the answers as they come: Qualtrics writes its own column
names (``StartDate``, ``RecordedDate``, ``ResponseId``, ``ExternalReference``, ``RecipientEmail``, the questions as
``Q1``, ``Q2``...), the NPS question with a ``Q1_NPS_GROUP`` column beside it, and two lines under the header (the
questions' texts, then ``{"ImportId": ...}``). Such a file is read as interactions of type ``nps``: the customer is
the external reference the survey was sent with (else the recipient's e-mail), the date when the answer was
recorded, the score the NPS question; the two lines under the header are left out by ``exclude:`` on
``ResponseId`` (listed and counted, as every row left out).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from custrel_lib.io.contract import fold

#: Qualtrics' columns (folded) that say the export is one of its answers.
QUALTRICS = {"startdate", "enddate", "responseid", "recordeddate"}
#: Where Qualtrics puts who answered, in order: the reference the survey was sent with, the recipient's e-mail.
WHO = ("externalreference", "external data reference", "recipientemail", "recipient email")


def survey_export(table: str | None, columns: Sequence[str], head: pd.DataFrame | None):
    """``(("interactions", columns), exclude, note)`` for a Qualtrics export of answers with a filled customer
    column (the NPS question mapped when it has its ``_NPS_GROUP``, else said); else None (and a file named as
    another table is left as it is)."""
    if table not in (None, "interactions") or head is None:
        return None
    folded = {fold(c): c for c in columns}
    if not set(folded) >= QUALTRICS:
        return None
    answers = head[folded["responseid"]].astype(str).str.strip()
    under = [v for v in answers.head(2) if not v.startswith("R_")]  # the texts, the import ids
    rows = head.iloc[len(under) :]
    filled = [
        folded[n] for n in WHO if n in folded and rows[folded[n]].astype(str).str.strip().ne("").mean() > 0.5
    ]
    score = next((c for c in columns if fold(c) + " nps group" in folded), None)
    if not filled:
        return None
    mapping = {"customer_id": filled[0], "date": folded["recordeddate"]}
    exclude = {folded["responseid"]: [v.lower() for v in under]} if under else {}
    note = f"a Qualtrics export: the customer is {filled[0]!r}, the date when the answer was recorded; "
    if score is None:
        note += "no question has an _NPS_GROUP column beside it: map score to the 0-10 question, and type"
        return ("interactions", mapping), exclude, note
    mapping |= {"type": "=nps", "score": score}
    note += f"the NPS the question {score!r} ({fold(score).upper().replace(' ', '_')}_NPS_GROUP is beside it)"
    return ("interactions", mapping), exclude, note


#: Words of a help desk's ticket types and what the contract reads them as (Zendesk: Question, Incident, Problem).
TICKET_TYPES = {
    "complaint": ("incident", "problem", "probleme", "plainte", "litige", "claim", "bug", "dispute"),
    "support": ("question", "demande", "request", "task", "tache", "help", "aide", "contact", "information"),
}


def unknown_types(guess) -> None:
    """When none of the values of the interactions' type column is a type custrel reads (a help desk's
    ``Question``, ``Incident``), say so in ``guess`` (a ``starter.FileGuess``) and propose, commented out, a
    ``values:`` mapping of the ticket words it knows (:data:`TICKET_TYPES`): whether an incident is a complaint
    is the user's call."""
    from custrel_lib.io.contract import READ_TYPES, is_constant

    column = guess.columns.get("type")
    if guess.table != "interactions" or column is None or is_constant(column) or column not in guess.head:
        return
    values = sorted(set(guess.head[column].astype(str).str.strip()) - {""})
    if not values or {fold(v) for v in values} & READ_TYPES:
        return
    guess.type_values = {
        v.lower(): t for v in values for t, words in TICKET_TYPES.items() if fold(v) in words
    }
    guess.notes.append(
        f"none of the values of {column!r} ({', '.join(map(repr, values[:8]))}) is a type custrel reads (nps, "
        "complaint, support, referral, review, a journey step): every row would be kept but ignored; map yours "
        "with values: "
        + ("(a proposal in custrel.yml)" if guess.type_values else "{type: {yours: complaint}}")
    )


#: Words of a file's name or of its date's name (folded) that say which interactions it holds, when it has no
#: type column: a list of complaints, of help-desk contacts or calls, of referrals, of reviews.
_KINDS = """
complaint: reclamation reclamations complaint complaints plainte plaintes litige litiges
support: support sav appel appels call calls assistance helpdesk incident incidents
referral: parrainage parrainages referral referrals parrain filleul
review: avis review reviews
"""  # not "ticket": a French till's receipt is a ticket (``N° ticket``)
KIND_WORDS = {
    k: tuple(v.split()) for k, _, v in (line.partition(":") for line in _KINDS.strip().splitlines())
}
KIND_SAID = {
    "complaint": "a complaint",
    "support": "a support contact",
    "referral": "a referral",
    "review": "a review",
}


def interactions_by_name(stem: str, columns: Sequence[str], head: pd.DataFrame, read) -> tuple | None:
    """``(("interactions", columns), note)`` for a file with a customer and a date but no type column, whose
    date's name, or the file's, says the interactions it holds (``reclamations.csv``, ``Complaint
    Date``, ``tickets.csv``, ``Date appel``): every row one interaction of that type (``type: "=complaint"``).
    Such files were read as purchases without amounts, or as a customer list. None when the file is read as
    interactions already, or as purchases with an amount, or as a customer list whose ids do not repeat unless
    its date's name says the kind (``clients_sav.csv`` is the after-sales team's list of customers)."""
    from custrel_lib.io.guess import _split, guess_columns, id_by_values

    if read is not None and (
        read[0] == "interactions" or (read[0] == "transactions" and "amount" in read[1])
    ):
        return None
    mapping = guess_columns("interactions", columns, head)
    if "date" not in mapping:
        return None
    if "customer_id" not in mapping:
        found = id_by_values([c for c in columns if c not in mapping.values()], head)
        mapping.update({"customer_id": found} if found else {})
    if "customer_id" not in mapping:
        return None
    ids = head[mapping["customer_id"]].astype(str).str.strip()
    listed = read is not None and read[0] == "customers" and not ids[ids != ""].duplicated().any()
    names = [mapping["date"], *([] if listed else [stem])]
    for name in names:
        words = set(_split(name).replace("'", " ").split())
        kind = next((k for k, said in KIND_WORDS.items() if words & set(said)), None)
        if kind:
            mapping["type"] = f"={kind}"
            return ("interactions", mapping), (
                f"no type column: every row is read as {KIND_SAID[kind]} (the name {name!r} says so; "
                f'type: "={kind}")'
            )
    return None


#: What SurveyMonkey writes on its second header line, under each question (folded).
SUBHEADER_WORDS = {
    "response",
    "open-ended response",
    "open ended response",
    "other (please specify)",
    "reponse",
}


def second_header(mapping: dict[str, str], head: pd.DataFrame) -> tuple[dict, str] | None:
    """``(exclude, note)`` for a survey export whose first row is a second header line (SurveyMonkey's
    ``Response`` under each question, the customer and the date empty): the rule that leaves it out, on a
    column where it says ``Response``; else None. Without it the line is rejected as a row without customer."""
    if head.empty or not all(c in head for c in mapping.values() if not str(c).startswith("=")):
        return None
    first = head.iloc[0].astype(str).str.strip()
    said = [c for c in head.columns if fold(first[c]) in SUBHEADER_WORDS]
    who = [mapping[k] for k in ("customer_id", "date") if k in mapping]
    if not said or any(first[c] not in ("", "nan") for c in who):
        return None
    column = mapping.get("score") if mapping.get("score") in said else said[0]
    return {column: [first[column].lower()]}, (
        f"the first row is a second header line ({first[column]!r} under the questions): left out by an "
        f"exclude: rule on {column!r}"
    )
