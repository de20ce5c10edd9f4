"""``custrel init`` on a Qualtrics export of NPS answers, the survey platform many CX teams send their NPS with.

Qualtrics writes its own column names, the NPS question as ``Q1`` with ``Q1_NPS_GROUP`` beside it, and two lines
under the header (the questions' texts, then ``{"ImportId": ...}``). The truth: with the custrel.yml that init
writes, both loaders keep every answer and only them (the two lines left out, listed and counted), with the
customer the survey was sent to and the score given, compared with the file read by pandas.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config
from custrel_lib.io.load import load_tables
from custrel_lib.io.starter import guess_file
from custrel_lib.paths import SAMPLE_DIR

COLUMNS = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished"]
COLUMNS += ["RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail"]
COLUMNS += [
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]
COLUMNS += ["Q1", "Q1_NPS_GROUP", "Q2"]


def _qualtrics(path, ids: list[str], by_email: bool = False, nps: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = len(ids)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700 * 1440, n), unit="min")
    q1 = rng.integers(0, 11, n)
    df = pd.DataFrame(
        {
            "StartDate": start.strftime("%Y-%m-%d %H:%M:%S"),
            "EndDate": (start + pd.Timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "Status": "IP Address",
            "IPAddress": "192.0.2.1",
            "Progress": 100,
            "Duration (in seconds)": rng.integers(20, 400, n),
            "Finished": "True",
            "RecordedDate": (start + pd.Timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "ResponseId": [f"R_{i:015d}" for i in range(n)],
            "RecipientLastName": "",
            "RecipientFirstName": "",
            "RecipientEmail": [f"{i.lower()}@example.com" for i in ids] if by_email else "",
            "ExternalReference": "" if by_email else ids,
            "LocationLatitude": "48.85",
            "LocationLongitude": "2.35",
            "DistributionChannel": "email",
            "UserLanguage": "FR",
            "Q1": q1,
            "Q1_NPS_GROUP": np.where(q1 >= 9, 3, np.where(q1 >= 7, 2, 1)),
            "Q2": "Le service",
        }
    )
    if not nps:
        df = df.drop(columns="Q1_NPS_GROUP")
    texts = [
        c if c != "Q1" else "How likely are you to recommend us to a friend or colleague?" for c in df.columns
    ]
    imports = [json.dumps({"ImportId": c}) for c in df.columns]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(df.columns) + "\n")
        pd.DataFrame([texts, imports], columns=df.columns).to_csv(f, index=False, header=False)
        df.to_csv(f, index=False, header=False)
    return df


@pytest.mark.parametrize("by_email", [False, True], ids=["external_reference", "recipient_email"])
def test_init_reads_a_qualtrics_export_as_nps_answers(tmp_path, by_email):
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    ids = tx["customer_id"].drop_duplicates().sample(300, random_state=2).tolist()
    answers = _qualtrics(tmp_path / "NPS_2024_December+4,+2026_10.15.csv", ids, by_email)
    if by_email:  # the customers known by e-mail in the transactions too
        tx["customer_id"] = tx["customer_id"].str.lower() + "@example.com"
    tx.to_csv(tmp_path / "ventes.csv", index=False)
    out = tmp_path / "custrel.yml"
    files = [str(tmp_path / "ventes.csv"), str(tmp_path / "NPS_2024_December+4,+2026_10.15.csv")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    who = "RecipientEmail" if by_email else "ExternalReference"
    written = out.read_text(encoding="utf-8")
    assert f'columns: {{customer_id: "{who}", date: "RecordedDate", type: "=nps", score: "Q1"}}' in written
    assert 'exclude: {"ResponseId": ' in written and "a Qualtrics export" in written
    for engine in (False, True):
        loaded = load_tables(out, engine=engine)
        assert loaded.problems.counts["interactions"] == {
            "read": 302,
            "kept": 300,
            "rejected": 0,
            "excluded": 2,
        }
        got = loaded.to_pandas()["interactions"].sort_values(["customer_id", "date"]).reset_index(drop=True)
        want = answers.assign(
            customer_id=answers[who], date=pd.to_datetime(answers["RecordedDate"]).dt.normalize()
        )
        want = want.sort_values(["customer_id", "date"]).reset_index(drop=True)
        assert got["customer_id"].astype(str).tolist() == want["customer_id"].tolist()
        assert got["score"].tolist() == want["Q1"].astype(float).tolist()
        assert set(got["type"]) == {"nps"}


def test_a_qualtrics_export_without_an_nps_question_says_which_column_to_map(tmp_path):
    _qualtrics(tmp_path / "survey.csv", [f"C{i:04d}" for i in range(50)], nps=False)
    guess = guess_file(tmp_path / "survey.csv")
    assert (guess.table, guess.columns) == (
        "interactions",
        {"customer_id": "ExternalReference", "date": "RecordedDate"},
    )
    assert list(guess.drop) == ["ResponseId"]
    said = " ".join(guess.notes)
    assert "no question has an _NPS_GROUP column beside it: map score to the 0-10 question" in said
    assert "no column found for type" in said


def _form_rows(ids: list[str]) -> tuple[pd.Series, np.ndarray]:
    rng = np.random.default_rng(4)
    when = pd.Series(
        pd.Timestamp("2024-02-01") + pd.to_timedelta(rng.integers(0, 600 * 86400, len(ids)), unit="s")
    )
    return when, rng.integers(0, 11, len(ids))


@pytest.mark.parametrize("form", ["google_forms_fr", "surveymonkey"])
def test_init_reads_a_form_whose_column_is_the_question_as_nps_answers(tmp_path, form):
    # Google Forms in French names its columns Horodateur, Adresse e-mail and the question itself; SurveyMonkey
    # writes a second header line ("Response" under each question), left out by an exclude: rule, counted (it
    # was rejected as a row without customer).
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    ids = (
        tx["customer_id"]
        .drop_duplicates()
        .sample(200, random_state=3)
        .str.lower()
        .add("@example.com")
        .tolist()
    )
    tx.assign(customer_id=tx["customer_id"].str.lower() + "@example.com").to_csv(
        tmp_path / "ventes.csv", index=False
    )
    when, score = _form_rows(ids)
    if form == "google_forms_fr":
        question = "Quelle est la probabilité que vous recommandiez notre marque à un proche ?"
        df = pd.DataFrame(
            {"Horodateur": when.dt.strftime("%d/%m/%Y %H:%M:%S"), "Adresse e-mail": ids, question: score}
        )
        df["Pourquoi ?"] = "Le prix"
        extra = 0
    else:
        question = "How likely is it that you would recommend this company to a friend or colleague?"
        df = pd.DataFrame(
            {
                "Respondent ID": np.arange(10**10, 10**10 + len(ids)).astype(str),
                "Start Date": when.dt.strftime("%m/%d/%Y %I:%M:%S %p"),
                "End Date": (when + pd.Timedelta(minutes=2)).dt.strftime("%m/%d/%Y %I:%M:%S %p"),
                "Email Address": ids,
                question: score.astype(str),
            }
        )
        df = pd.concat([pd.DataFrame([["", "", "", "", "Response"]], columns=df.columns), df])
        extra = 1
    df.to_csv(tmp_path / "reponses.csv", index=False)
    out = tmp_path / "custrel.yml"
    files = [str(tmp_path / "ventes.csv"), str(tmp_path / "reponses.csv")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text(encoding="utf-8")
    assert f'score: "{question}", type: "=nps"' in written
    assert (
        "the first row is a second header line ('Response' under the questions)" in result.output
    ) == bool(extra)
    for engine in (False, True):
        loaded = load_tables(out, engine=engine)
        counts = loaded.problems.counts["interactions"]
        assert (counts["kept"], counts["rejected"], counts.get("excluded") or 0) == (len(ids), 0, extra)
        got = loaded.to_pandas()["interactions"]
        assert (
            got.sort_values(["customer_id", "date"])["score"].tolist()
            == pd.DataFrame({"c": ids, "d": when.dt.normalize(), "s": score.astype(float)})
            .sort_values(["c", "d"])["s"]
            .tolist()
        )


def test_a_help_desks_ticket_types_are_said_and_a_mapping_proposed(tmp_path):
    """Zendesk's tickets (``Type``: Question, Incident, Problem) hold no type custrel reads: init says so and
    proposes, commented out, a ``values:`` mapping; uncommented, both loaders read incidents and problems as
    complaints and questions as support."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    ids = tx["customer_id"].drop_duplicates().head(50).tolist()
    tx.to_csv(tmp_path / "ventes.csv", index=False)
    kinds = ["Question", "Incident", "Problem", "Incident"] * 25
    pd.DataFrame(
        {
            "Id": range(1000, 1100),
            "Requester email": [ids[i % 50] for i in range(100)],
            "Created at": pd.date_range("2024-03-01", periods=100, freq="D").strftime("%Y-%m-%d %H:%M:%S"),
            "Status": ["Solved", "Open"] * 50,
            "Type": kinds,
        }
    ).to_csv(tmp_path / "tickets.csv", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ventes.csv"), str(tmp_path / "tickets.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (
        "none of the values of 'Type' ('Incident', 'Problem', 'Question') is a type custrel reads"
        in " ".join(result.output.split())
    )
    written = out.read_text(encoding="utf-8")
    line = '# values: {type: {"incident": complaint, "problem": complaint, "question": support}}'
    assert line in written
    (tmp_path / "custrel.yml").write_text(written.replace(line, line[2:]), encoding="utf-8")
    for engine in (False, True):
        types = load_tables(out, engine=engine).to_pandas()["interactions"]["type"]
        assert types.value_counts().to_dict() == {"complaint": 75, "support": 25}


def test_a_typeform_export_names_its_columns_by_the_questions(tmp_path):
    # Typeform: "#" (the response), the questions with their punctuation, "Submit Date (UTC)"
    pd.DataFrame(
        {
            "#": ["a1b2c3", "d4e5f6", "g7h8i9"],
            "What's your email?": ["marie@example.com", "paul@example.com", "marie@example.com"],
            "How likely are you to recommend us to a friend?": ["9", "3", "10"],
            "Start Date (UTC)": ["2024-01-05 10:00:00", "2024-01-06 10:00:00", "2024-03-01 09:00:00"],
            "Submit Date (UTC)": ["2024-01-05 10:03:00", "2024-01-06 10:04:00", "2024-03-01 09:02:00"],
            "Network ID": ["n1", "n2", "n1"],
        }
    ).to_csv(tmp_path / "responses.csv", index=False)
    guess = guess_file(tmp_path / "responses.csv")
    assert guess.table == "interactions"
    assert guess.columns == {
        "customer_id": "What's your email?",
        "date": "Start Date (UTC)",
        "type": "=nps",
        "score": "How likely are you to recommend us to a friend?",
    }


@pytest.mark.parametrize("engine", [False, True])
def test_a_list_of_complaints_or_tickets_named_so_is_read_as_those_interactions(tmp_path, engine):
    """A file without a type column whose name says what it holds: a French list of complaints (``Date de la
    réclamation``), a help desk's tickets (``support_tickets.csv``), calls (``Date appel``). Each was read as purchases
    without amounts (every complaint a purchase) or as a customer list; each row is now one interaction of
    that type, every row kept. A till's receipts without amounts (``N° ticket``) stay purchases. The after-sales team's list of customers (``clients_sav.csv``, each id once)
    stays a customer list. Complaints and NPS answers, two files of different columns, are two sources of the
    interactions table."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx.to_csv(tmp_path / "ventes.csv", index=False)
    ids = tx["customer_id"].drop_duplicates().head(60).tolist() * 4
    days = pd.to_datetime(tx["date"]).head(len(ids)).dt.strftime("%d/%m/%Y").tolist()
    files = {
        "reclamations.csv": (
            {"N° client": ids, "Date de la réclamation": days, "Motif": "Retard"},
            "complaint",
        ),
        "support_tickets.csv": ({"Requester email": ids, "Created at": days, "Subject": "Aide"}, "support"),
        "export_2024.csv": ({"Numéro client": ids, "Date appel": days, "Durée (s)": 120}, "support"),
    }
    for name, (columns, kind) in files.items():
        pd.DataFrame(columns).to_csv(tmp_path / name, index=False)
        out = tmp_path / f"{name}.yml"
        result = CliRunner().invoke(
            main, ["init", str(tmp_path / "ventes.csv"), str(tmp_path / name), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert f'type: "={kind}")' in result.output
        spec = load_config(out).tables["interactions"]
        assert spec.columns["type"] == f"={kind}" and spec.columns["date"] == list(columns)[1]
        loaded = load_tables(out, engine=engine)
        inter = loaded.to_pandas()["interactions"]
        assert len(inter) == len(ids) and set(inter["type"]) == {kind}
        assert loaded.problems.counts["transactions"]["kept"] == len(tx)
    till = pd.DataFrame({"N° ticket": range(len(ids)), "Carte fidélité": ids, "Date": days})
    till.to_csv(tmp_path / "tickets.csv", index=False)
    assert guess_file(tmp_path / "tickets.csv").table == "transactions"
    customers = pd.DataFrame({"Customer ID": ids[:60], "Created At": days[:60]})
    customers.to_csv(tmp_path / "clients_sav.csv", index=False)
    result = CliRunner().invoke(
        main,
        [
            "init",
            str(tmp_path / "ventes.csv"),
            str(tmp_path / "clients_sav.csv"),
            "--out",
            str(tmp_path / "c.yml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert set(load_config(tmp_path / "c.yml").tables) >= {"transactions", "customers"}
    nps = pd.DataFrame(
        {"N° client": ids, "Date de réponse": days, "Note (0-10)": [i % 11 for i in range(len(ids))]}
    )
    nps.to_csv(tmp_path / "nps.csv", index=False)
    both = [str(tmp_path / n) for n in ("ventes.csv", "reclamations.csv", "nps.csv")]
    result = CliRunner().invoke(main, ["init", *both, "--out", str(tmp_path / "b.yml")])
    assert result.exit_code == 0, result.output  # two sources of interactions, each with its columns
    spec = load_config(tmp_path / "b.yml").tables["interactions"]
    assert [(s.path.name, s.columns["type"]) for s in spec.sources] == [
        ("reclamations.csv", "=complaint"),
        ("nps.csv", "=nps"),
    ]
    inter = load_tables(tmp_path / "b.yml", engine=engine).to_pandas()["interactions"]
    assert inter["type"].tolist() == ["complaint"] * len(ids) + ["nps"] * len(ids)
    assert inter["score"].iloc[len(ids) :].tolist() == [float(i % 11) for i in range(len(ids))]
