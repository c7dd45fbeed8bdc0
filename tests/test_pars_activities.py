"""PARS activity data (issue 16, point 3, second bullet): a year's activities by their local end date, each with its
reporting data and learner counts, as tab-delimited, CSV and JSON downloads and `flask cme report pars-activities`."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cme.accounts.models import User
from cme.activities.models import CommercialSupport
from cme.activities.reporting_data import ActivityOutcomeMeasure, MocRegistration
from cme.credit.models import CreditRecord
from cme.reporting import pars_activities as pars

UTC = timezone.utc


@pytest.fixture
def year_2026(db, make_activity, make_user):
    """Olga's activities around 2026 (and one of another organizer's)."""
    olga = make_user("org@example.org", role="organizer", full_name="Olga Organizer")
    other = make_user("other.org@example.org", role="organizer")
    # Ends 11 PM on December 31 in Los Angeles (07:00 UTC on January 1): 2026's.
    webcast = make_activity(organizers=[olga], title="=HYPERLINK(\"http://x\")\tLate webcast", format="live_webcast",
                            time_zone="America/Los_Angeles", start_dt=datetime(2027, 1, 1, 5, tzinfo=UTC),
                            end_dt=datetime(2027, 1, 1, 7, tzinfo=UTC),
                            credits={"ama_pra_1": "2.00", "ancc": "2.00"}, accme_activity_id="200111222",
                            accme_provider_id="0001234")
    # Ends 1 AM on January 1, 2026 in New York (06:00 UTC): 2026's too; starts in 2025.
    meeting = make_activity(organizers=[olga], title="Liver days", start_dt=datetime(2025, 12, 31, 14, tzinfo=UTC),
                            end_dt=datetime(2026, 1, 1, 6, tzinfo=UTC), accreditation_kind="joint_providership",
                            joint_provider="Hepatology Society", credits={"ama_pra_1": "8.00"})
    # Ends 7 PM on December 31, 2025 in New York (00:00 UTC January 1): 2025's.
    make_activity(organizers=[olga], title="Last year", start_dt=datetime(2025, 12, 31, 20, tzinfo=UTC),
                  end_dt=datetime(2026, 1, 1, 0, tzinfo=UTC))
    make_activity(organizers=[olga], title="A draft", status="draft", start_dt=datetime(2026, 5, 1, 12, tzinfo=UTC))
    make_activity(organizers=[olga], title="Cancelled", status="cancelled", start_dt=datetime(2026, 5, 1, 12, tzinfo=UTC))
    on_demand = make_activity(organizers=[other], title="Someone else's enduring", format="on_demand_webcast",
                              start_dt=datetime(2026, 2, 1, tzinfo=UTC), end_dt=datetime(2026, 8, 1, tzinfo=UTC),
                              credits={"ama_pra_1": "1.50"})
    meeting.commercial_supports.extend([CommercialSupport(company="AbbVie", kind="monetary", amount=Decimal("1000")),
                                        CommercialSupport(company="Gilead", kind="in_kind"),
                                        CommercialSupport(company="Merck", kind="monetary", amount=Decimal("250.5"))])
    db.session.add_all([ActivityOutcomeMeasure(activity_id=meeting.id, measure="patient_health"),
                        ActivityOutcomeMeasure(activity_id=meeting.id, measure="learner_competence"),
                        MocRegistration(activity_id=meeting.id, board="abp", points=Decimal("2"),
                                        credit_types=["Lifelong Learning and Self-Assessment (Part 2)"]),
                        MocRegistration(activity_id=meeting.id, board="abim", points=Decimal("1.5"),
                                        credit_types=["Medical Knowledge", "Patient Safety"])])
    learners = [make_user(profession="physician"), make_user(profession="physician"),
                make_user(profession="other", degree="DO"), make_user(profession="nurse", degree="RN"),
                make_user(profession="pharmacist", degree="PharmD"), make_user(profession="other", degree="PhD")]
    db.session.commit()

    def claim(user, activity, credit_type="ama_pra_1", amount="1"):
        db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                    amount=Decimal(amount), attested=True))

    for user in learners[:3]:  # physicians (the third by degree), one with two records
        claim(user, meeting)
    claim(learners[0], meeting, "abim_moc", "1")
    for user in learners[3:]:  # others: a nurse, a pharmacist, a PhD
        claim(user, meeting, "participation")
    claim(learners[3], webcast, "ancc", "2")
    claim(learners[0], on_demand)
    db.session.commit()
    return {"olga": olga, "other": other, "webcast": webcast, "meeting": meeting, "on_demand": on_demand,
            "learners": learners}


def test_learner_counts_count_distinct_learners_who_received_credit_in_one_query(year_2026, count_queries):
    ids = [year_2026["meeting"].id, year_2026["webcast"].id, year_2026["on_demand"].id, 999_999]
    with count_queries() as queries:
        counts = pars.learner_counts(ids)
    assert len(queries) == 1
    assert counts[year_2026["meeting"].id] == pars.LearnerCounts(physicians=3, others=3)
    assert counts[year_2026["webcast"].id] == pars.LearnerCounts(physicians=0, others=1)
    assert counts[year_2026["on_demand"].id] == pars.LearnerCounts(physicians=1, others=0)
    assert counts[999_999] == pars.LearnerCounts()


def test_the_counts_physician_rule_is_user_is_physician(db, year_2026):
    """The SQL expression and the model's property agree on every learner."""
    for user in year_2026["learners"]:
        in_sql = db.session.scalar(db.select(pars._is_physician()).select_from(User).where(User.id == user.id))
        assert bool(in_sql) == user.is_physician, user.degree


def test_the_year_holds_the_activities_that_ended_in_it_in_their_own_zone(year_2026, db):
    titles = [a.title for a in pars.activities_of_year(2026)]
    assert titles == ["Liver days", "Someone else's enduring", "=HYPERLINK(\"http://x\")\tLate webcast"]
    assert [a.title for a in pars.activities_of_year(2025)] == ["Last year"]
    assert [a.title for a in pars.activities_of_year(2026, year_2026["olga"])] == [
        "Liver days", "=HYPERLINK(\"http://x\")\tLate webcast"]


def _tab_rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert not text.startswith("\ufeff") and text.endswith("\r\n") and "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))


def test_the_tab_delimited_file_has_the_documented_columns_and_values(year_2026, db):
    rows = _tab_rows(pars.export(2026, "tab", default_provider_id="0009999"))
    assert tuple(rows[0]) == pars.COLUMNS and all(len(row) == len(pars.COLUMNS) for row in rows)
    meeting, on_demand, webcast = (dict(zip(pars.COLUMNS, row)) for row in rows[1:])
    assert meeting == {
        "ACCME activity ID": "", "Provider ID": "0009999", "Activity title": "Liver days", "Activity type": "Course",
        "Start date": "12/31/2025", "End date": "01/01/2026", "Hours of instruction": "16.00",
        "AMA PRA Category 1 Credit": "8.00", "Other credit designated": "", "Providership": "Jointly Provided",
        "Joint provider": "Hepatology Society",
        "Commercial support": "AbbVie: monetary 1000.00; Gilead: in-kind; Merck: monetary 250.50",
        "Monetary support total": "1250.50", "Outcome measures": "Learner competence; Patient health",
        "MOC boards": "ABIM 1.50 (Medical Knowledge, Patient Safety); ABP 2.00 (Lifelong Learning and "
                      "Self-Assessment (Part 2))",
        "Physicians": "3", "Other learners": "3"}
    assert webcast["Activity type"] == "Internet Live Course" and webcast["End date"] == "12/31/2026"
    assert webcast["ACCME activity ID"] == "200111222" and webcast["Provider ID"] == "0001234"
    # Formula injection neutralised; the tab inside the title cannot split the row.
    assert webcast["Activity title"] == "'=HYPERLINK(\"http://x\") Late webcast"
    assert webcast["Other credit designated"] == "ANCC contact hours 2.00" and webcast["Commercial support"] == "None"
    assert webcast["Providership"] == "Directly Provided" and webcast["Monetary support total"] == "0.00"
    assert (on_demand["Activity type"], on_demand["Hours of instruction"]) == ("Internet Enduring Material", "1.50")
    assert (on_demand["Physicians"], on_demand["Other learners"]) == ("1", "0")


def test_the_csv_and_json_variants_hold_the_same_rows(year_2026):
    tab = _tab_rows(pars.export(2026, "tab"))
    body = pars.export(2026, "csv")
    assert body.startswith("\ufeff".encode("utf-8"))
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert parsed[3][2] == "'=HYPERLINK(\"http://x\")\tLate webcast"  # CSV quotes the tab; the tab file cannot
    assert [[cell.replace("\t", " ") for cell in row] for row in parsed] == tab
    document = json.loads(pars.export(2026, "json"))
    assert document["year"] == 2026 and document["columns"] == list(pars.COLUMNS)
    # The same values but the title (JSON is no spreadsheet: nothing to neutralise there).
    assert [[str(v) for k, v in a.items() if k != "title"] for a in document["activities"]] == [
        [value for i, value in enumerate(row) if i != 2] for row in tab[1:]]
    assert document["activities"][2]["title"] == "=HYPERLINK(\"http://x\")\tLate webcast"
    assert [a["title"] for a in document["activities"]][0] == "Liver days"
    assert document["activities"][0]["physicians"] == 3 and isinstance(document["activities"][0]["other_learners"], int)


def test_the_rows_take_a_fixed_number_of_queries(year_2026, count_queries, db, make_activity):
    with count_queries() as few:
        list(pars.pars_activity_rows(pars.activities_of_year(2026)))
    for n in range(5):
        make_activity(organizers=[year_2026["olga"]], title=f"More {n}", start_dt=datetime(2026, 6, n + 1, tzinfo=UTC))
    db.session.expire_all()
    with count_queries() as more:
        rows = list(pars.pars_activity_rows(pars.activities_of_year(2026)))
    assert len(rows) == 8 and len(more) == len(few)


# ---------------------------------------------------------------- the page, downloads and command

def test_an_organizer_downloads_their_own_activities_and_an_admin_everyones(client, auth, year_2026, make_user):
    auth.login("org@example.org")
    page = client.get("/organize/reports/pars-activities?year=2026")
    assert page.status_code == 200 and "Liver days" in page.get_data(as_text=True)
    assert "Someone else" not in page.get_data(as_text=True)
    assert "/organize/reports/pars-activities" in client.get("/organize/").get_data(as_text=True)
    response = client.get("/organize/reports/pars-activities/download?year=2026&format=tab")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/tab-separated-values")
    assert 'filename="pars-activities-2026.txt"' in response.headers["Content-Disposition"]
    assert [row[2] for row in _tab_rows(response.data)[1:]] == ["Liver days", "'=HYPERLINK(\"http://x\") Late webcast"]
    auth.logout()
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    response = client.get("/organize/reports/pars-activities/download?year=2026&format=csv")
    assert len(list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))) == 4


@pytest.mark.parametrize("query, status", [
    ("year=abc&format=tab", 200), ("year=99999999999999&format=json", 200), ("year=2026&format=xlsx", 404),
    ("year=%00&format=csv", 200), ("format=tab", 200)])
def test_odd_years_fall_back_to_this_year_and_unknown_formats_are_404(client, organizer, query, status):
    assert client.get(f"/organize/reports/pars-activities/download?{query}").status_code == status
    assert client.get(f"/organize/reports/pars-activities?{query}").status_code == 200


def test_learners_get_no_pars_page(client, provider):
    assert client.get("/organize/reports/pars-activities").status_code in (302, 403)
    assert client.get("/organize/reports/pars-activities/download?year=2026").status_code in (302, 403)


def test_the_command_writes_the_file(app, year_2026, tmp_path):
    output = tmp_path / "pars.txt"
    result = app.test_cli_runner().invoke(args=["cme", "report", "pars-activities", "--year", "2026",
                                                "--output", str(output)])
    assert result.exit_code == 0, result.output
    rows = _tab_rows(output.read_bytes())
    assert [row[2] for row in rows[1:]] == ["Liver days", "Someone else's enduring",
                                            "'=HYPERLINK(\"http://x\") Late webcast"]
    result = app.test_cli_runner().invoke(args=["cme", "report", "pars-activities", "--year", "2025",
                                                "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["activities"][0]["title"] == "Last year"
    result = app.test_cli_runner().invoke(args=["cme", "report", "pars-activities", "--year", "1800"])
    assert result.exit_code != 0


def test_a_row_per_activity_with_no_learners_counts_zero(year_2026):
    rows = list(pars.pars_activity_rows(pars.activities_of_year(2025)))
    assert (rows[0].physicians, rows[0].other_learners) == (0, 0)
