"""Outcomes and analytics (issue 16, point 6): each chart is valid SVG (read back with xml.etree), names itself to
assistive technology, escapes the organizer's text, and shows the numbers its data table shows, which are the
database's; a year's summary counts by the activity's own calendar; the pages' queries do not grow with the data."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import lxml.html
import pytest
import sqlalchemy as sa

from cme.activities.models import ActivitySession
from cme.attendance.models import Attendance
from cme.credit.evaluation import add_evaluation_question, remove_question
from cme.credit.evaluation_models import EvaluationQuestion, EvaluationResponse
from cme.credit.models import CreditRecord
from cme.registration.models import Registration
from cme.reporting import analytics, pars_activities
from cme.reporting.charts import Bar, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
NASTY = 'Opening <script>alert("x")</script> & "welcome"'
UTC = timezone.utc


def svgs(html: str) -> dict[str, ET.Element]:
    """Every inline chart of a page, parsed by a real XML parser, by id."""
    charts = [ET.fromstring(text) for text in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]
    return {chart.get("id"): chart for chart in charts}


def bar_values(chart: ET.Element) -> list[tuple[str, int]]:
    """(label, data-value) of each bar, the label as its tspans spell it."""
    values = []
    for item in chart.iter(f"{SVG}g"):
        label = " ".join(t.text or "" for t in item.iter(f"{SVG}tspan"))
        values.append((label, Decimal(item.find(f"{SVG}rect").get("data-value"))))
    return values


def table(html: str, table_id: str) -> list[list[str]]:
    """A data table's body rows as text cells (header cell first)."""
    root = lxml.html.fromstring(html)
    return [[cell.text_content().strip() for cell in row.xpath("th|td")]
            for row in root.xpath(f'//table[@id="{table_id}"]/tbody/tr')]


def assert_names_itself(chart: ET.Element) -> None:
    assert chart.get("role") == "img"
    ids = chart.get("aria-labelledby").split()
    assert [chart.find(f"{SVG}title").get("id"), chart.find(f"{SVG}desc").get("id")] == ids
    assert chart.find(f"{SVG}title").text and chart.find(f"{SVG}desc").text


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def meeting(db, make_user, make_activity):
    """A meeting (New York) in March 2026 with two sessions, one titled with markup; five registrants over three
    days (one cancelled); check-ins; three evaluations; credit for two physicians and a nurse."""
    owner = make_user("owner@example.org", role="organizer")
    activity = make_activity(organizers=[owner], title="Liver & <b>kidney</b>", start_dt=at(20, 13),
                             end_dt=at(20, 19), credits={"ama_pra_1": "5", "ancc": "5"})
    first = ActivitySession(title=NASTY, start_dt=at(20, 13), end_dt=at(20, 15))
    second = ActivitySession(title="Afternoon cases", start_dt=at(20, 16), end_dt=at(20, 19))
    activity.sessions.extend([first, second])
    people = [make_user(f"p{n}@example.org", profession=profession, degree=degree)
              for n, (profession, degree) in enumerate([("physician", "MD"), ("physician", "DO"), ("nurse", "RN"),
                                                        ("other", "MD"), ("pharmacist", "PharmD")])]
    # Mar 2 at 02:00 UTC is still Mar 1 in New York.
    when = [at(1, 16), datetime(2026, 3, 2, 2, tzinfo=UTC), at(2, 18), at(5), at(5)]
    for person, registered in zip(people, when):
        status = "cancelled" if person is people[4] else "confirmed"
        db.session.add(Registration(user_id=person.id, activity_id=activity.id, status=status,
                                    registered_dt=registered))
    db.session.flush()
    for person in people[:3]:
        db.session.add(Attendance(user_id=person.id, activity_id=activity.id, session_id=first.id,
                                  checked_in_dt=at(20, 13)))
    db.session.add(Attendance(user_id=people[0].id, activity_id=activity.id, session_id=second.id,
                              checked_in_dt=at(20, 16)))
    answers = [("Strongly agree", "Agree", "Yes", "Less <i>PPI</i> & more deprescribing"),
               ("Agree", "Agree", "Yes", ""), ("Neutral", "Strongly agree", "No", "Shorter breaks")]
    prompts = ["The activity met its stated learning objectives.", "The content was free of commercial bias.",
               "Will you change your practice as a result of this activity?", "What will you do differently?"]
    for person, row in zip(people, answers):
        db.session.add(EvaluationResponse(user_id=person.id, activity_id=activity.id, submitted_dt=at(20, 20),
                                          answers={f"d{i}": {"prompt": p, "answer": a}
                                                   for i, (p, a) in enumerate(zip(prompts, row))}))
    for person, credit_type, amount in [(people[0], "ama_pra_1", "4.5"), (people[1], "ama_pra_1", "5"),
                                        (people[2], "ancc", "3.25"), (people[2], "participation", "3.25")]:
        db.session.add(CreditRecord(user_id=person.id, activity_id=activity.id, credit_type=credit_type,
                                    amount=Decimal(amount), attested=True))
    db.session.commit()
    return activity


def test_the_activity_page_draws_each_chart_as_valid_svg_matching_its_table_and_the_database(client, auth, meeting):
    auth.login("owner@example.org")
    html = client.get(f"/organize/activities/{meeting.id}/analytics").get_data(as_text=True)
    charts = svgs(html)
    assert {"chart-registrations", "chart-attendance", "chart-practice", "chart-q-d0", "chart-q-d1", "chart-q-d2",
            "chart-credit-type", "chart-credit-profession"} <= set(charts)
    for chart in charts.values():
        assert_names_itself(chart)

    # Registrations: cumulative by New York day (the cancelled one left out), every day from the first to the last.
    points = [(c.get("data-label"), int(c.get("data-value"))) for c in charts["chart-registrations"].iter(f"{SVG}circle")]
    assert points == [("Mar 1", 2), ("Mar 2", 3), ("Mar 3", 3), ("Mar 4", 3), ("Mar 5", 4)]
    rows = table(html, "table-registrations")
    assert [(r[0], int(r[1]), int(r[2])) for r in rows] == [
        ("Sun Mar 1, 2026", 2, 2), ("Mon Mar 2, 2026", 1, 3), ("Tue Mar 3, 2026", 0, 3), ("Wed Mar 4, 2026", 0, 3),
        ("Thu Mar 5, 2026", 1, 4)]

    # Attendance per session, in agenda order; the session's own title is shown exactly, escaped.
    attendance = bar_values(charts["chart-attendance"])
    assert [value for _, value in attendance] == [3, 1]
    assert [int(r[1]) for r in table(html, "table-attendance")] == [3, 1]
    assert table(html, "table-attendance")[0][0].endswith(NASTY)
    assert charts["chart-attendance"].find(f"{SVG}g/{SVG}title").text.endswith(f"{NASTY}: 3")

    # Evaluation: a likert question's counts per 1..5, the chart's and the table's equal.
    likert = bar_values(charts["chart-q-d0"])
    assert likert == [("1 · Strongly disagree", 0), ("2 · Disagree", 0), ("3 · Neutral", 1), ("4 · Agree", 1),
                      ("5 · Strongly agree", 1)]
    assert [(r[0], int(r[1])) for r in table(html, "table-q-d0")] == [(label, int(v)) for label, v in likert]
    # A text question: its count and its answers listed, escaped.
    assert "2 written answers." in html
    assert "Less &lt;i&gt;PPI&lt;/i&gt; &amp; more deprescribing" in html and "<i>PPI</i>" not in html

    # The share intending to change practice: 2 of 3.
    assert [(label, int(v)) for label, v in bar_values(charts["chart-practice"])][:2] == [("Yes", 2), ("No", 1)]
    share = lxml.html.fromstring(html).get_element_by_id("practice-share").text_content()
    assert share.startswith("67% (2 of 3 who answered)")

    # Credit by type (sum, learners) and by profession (distinct learners), as the database holds it.
    by_type = bar_values(charts["chart-credit-type"])
    assert by_type == [("AMA PRA Category 1 Credit™", Decimal("9.50")), ("ANCC contact hours", Decimal("3.25")),
                       ("Certificate of participation (hours)", Decimal("3.25"))]
    assert [t.text for t in charts["chart-credit-type"].iter(f"{SVG}text") if t.get("class") == "chart-value"][0] \
        == "9.5 · 2 learners"
    assert bar_values(charts["chart-credit-profession"]) == [("Physician", 2), ("Nurse", 1)]
    assert table(html, "table-credit") == [
        ["AMA PRA Category 1 Credit™", "Physician", "9.5", "2"], ["ANCC contact hours", "Nurse", "3.25", "1"],
        ["Certificate of participation (hours)", "Nurse", "3.25", "1"]]


def test_the_organizers_text_is_escaped_in_svg_and_page(client, auth, meeting):
    auth.login("owner@example.org")
    html = client.get(f"/organize/activities/{meeting.id}/analytics").get_data(as_text=True)
    assert "<script>" not in html and "<b>kidney</b>" not in html
    assert "&lt;script&gt;" in html
    label = "".join(t.text for t in svgs(html)["chart-attendance"].iter(f"{SVG}tspan"))
    assert "<script>" in label and "&" in label  # the parser reads back the text as typed


def test_an_activity_without_data_says_so_instead_of_drawing(client, auth, make_user, make_activity):
    owner = make_user("owner@example.org", role="organizer")
    activity = make_activity(organizers=[owner])
    auth.login("owner@example.org")
    html = client.get(f"/organize/activities/{activity.id}/analytics").get_data(as_text=True)
    assert "No registrations yet." in html and "Nobody has claimed credit yet." in html
    assert html.count("No answers yet.") >= 3
    charts = svgs(html)
    assert set(charts) == {"chart-attendance"}  # the whole meeting, nobody checked in: a zero is data
    assert bar_values(charts["chart-attendance"]) == [("Whole meeting", 0)]


def test_a_webcasts_attendance_is_its_viewers(db, make_user, make_activity):
    webcast = make_activity(format="on_demand_webcast", start_dt=at(1), end_dt=at(30))
    for seconds in (0, 60, 3600):
        db.session.add(Attendance(user_id=make_user().id, activity_id=webcast.id, watched_seconds=seconds))
    db.session.commit()
    assert analytics.attendance_by_session(webcast) == analytics.AttendanceSummary(
        "viewers", [analytics.AttendanceCount("Watched", 2)])


def test_the_practice_question_is_found_by_its_key_after_the_evaluation_is_customised(db, meeting):
    assert analytics.practice_change_key(meeting) == "d2"
    add_evaluation_question(meeting, kind="text", prompt="Will you change your practice?", choices=[],
                            required=False)
    db.session.commit()
    copied = db.session.scalar(sa.select(EvaluationQuestion).where(
        EvaluationQuestion.activity_id == meeting.id, EvaluationQuestion.position == 2))
    assert analytics.practice_change_key(meeting) == f"q{copied.id}"  # not the new look-alike text question
    db.session.add(EvaluationResponse(user_id=meeting.organizers[0].id, activity_id=meeting.id,
                                      answers={f"q{copied.id}": {"prompt": "x", "answer": "Yes"}}))
    db.session.commit()
    change = analytics.evaluation_results(meeting).practice_change
    assert (change.intending, change.answered) == (1, 1)
    remove_question(db.session.get(EvaluationQuestion, copied.id))
    db.session.commit()
    assert analytics.practice_change_key(meeting) is None
    assert analytics.evaluation_results(meeting).practice_change is None


def test_charts_escape_labels_and_render_empty_data_as_a_message():
    chart = bar_chart("c", title="<t> & t", desc="d & <d>", bars=[Bar("<script>&", 2, "2 & <b>")])
    parsed = ET.fromstring(str(chart))
    assert parsed.find(f"{SVG}title").text == "<t> & t"
    assert "".join(t.text for t in parsed.iter(f"{SVG}tspan")) == "<script>&"
    assert "<script>" not in str(chart)
    assert str(bar_chart("c", title="t", desc="d", bars=[])) == '<p class="chart-empty">No data yet.</p>'
    assert "chart-empty" in str(line_chart("c", title="t", desc="d", points=[], empty_message="None & <none>"))
    assert "None &amp; &lt;none&gt;" in str(line_chart("c", title="t", desc="d", points=[],
                                                        empty_message="None & <none>"))
    single = ET.fromstring(str(line_chart("c", title="t", desc="d", points=[("Mar 1", 0)])))
    assert [c.get("data-value") for c in single.iter(f"{SVG}circle")] == ["0"]


@pytest.fixture
def year_of_activities(db, make_user, make_activity):
    """Activities around New Year 2026 for two organizers, with credited learners."""
    mine, theirs = make_user("mine@example.org", role="organizer"), make_user("theirs@example.org", role="organizer")
    physician, other_md, nurse = (make_user(profession="physician", degree="MD"),
                                  make_user(profession="other", degree="MD"), make_user(profession="nurse", degree="RN"))
    # Ends Dec 31, 2025 at 8 pm in Honolulu: Jan 1, 2026 in UTC, still 2025's.
    honolulu = make_activity(organizers=[mine], title="Aloha", time_zone="Pacific/Honolulu",
                             start_dt=datetime(2026, 1, 1, 2, tzinfo=UTC), end_dt=datetime(2026, 1, 1, 6, tzinfo=UTC))
    # Ends Jan 1, 2026 at 9 am in Auckland: Dec 31, 2025 in UTC, 2026's.
    auckland = make_activity(organizers=[mine], title="Kia ora", time_zone="Pacific/Auckland",
                             start_dt=datetime(2025, 12, 31, 17, tzinfo=UTC), end_dt=datetime(2025, 12, 31, 20, tzinfo=UTC))
    webcast = make_activity(organizers=[theirs], title="On demand", format="on_demand_webcast",
                            start_dt=datetime(2026, 2, 1, tzinfo=UTC), end_dt=datetime(2026, 6, 1, tzinfo=UTC),
                            credits={"ama_pra_1": "1.5", "participation": "1.5"})
    draft = make_activity(organizers=[mine], title="Draft", status="draft",
                          start_dt=datetime(2026, 3, 1, 14, tzinfo=UTC))
    for user, activity, credit_type in [(physician, auckland, "ama_pra_1"), (physician, auckland, "abim_moc"),
                                        (other_md, auckland, "ama_pra_1"), (nurse, auckland, "participation"),
                                        (nurse, webcast, "participation"), (physician, webcast, "ama_pra_1"),
                                        (physician, honolulu, "ama_pra_1"), (physician, draft, "ama_pra_1")]:
        db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                    amount=Decimal("1.00"), attested=True))
    db.session.commit()
    return {"mine": mine, "honolulu": honolulu, "auckland": auckland, "webcast": webcast}


def test_the_yearly_summary_counts_by_each_activitys_own_calendar_and_pars_learners(db, year_of_activities):
    summary = analytics.yearly_summary(2026)
    assert [r.title for r in summary.rows] == ["Kia ora", "On demand"]
    kia_ora, webcast = summary.rows
    assert (kia_ora.physicians, kia_ora.others, kia_ora.hours) == (2, 1, Decimal("3.00"))  # other + MD: physician
    assert (webcast.physicians, webcast.others, webcast.hours) == (1, 1, Decimal("1.50"))
    assert (summary.activities, summary.physicians, summary.others, summary.hours) == (2, 3, 2, Decimal("4.50"))
    assert [(f.format, f.activities) for f in summary.by_format] == [
        ("live_meeting", 1), ("live_webcast", 0), ("on_demand_webcast", 1)]
    assert [r.title for r in analytics.yearly_summary(2025).rows] == ["Aloha"]
    assert [r.title for r in analytics.yearly_summary(
        2026, activities=[year_of_activities["honolulu"], year_of_activities["auckland"]]).rows] == ["Kia ora"]
    assert analytics.yearly_summary(2026, activities=[]).rows == []


def test_the_yearly_summary_matches_the_pars_activity_export_row_for_row(db, year_of_activities):
    """The summary and the PARS activity data read the same activities, hours and learner counts."""
    rows = list(csv.reader(io.StringIO(pars_activities.export(2026, "csv").decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    exported = {row[header.index("Activity title")]: row for row in body}
    summary = analytics.yearly_summary(2026)
    assert sorted(exported) == sorted(r.title for r in summary.rows)
    for row in summary.rows:
        line = exported[row.title]
        assert (int(line[header.index("Physicians")]), int(line[header.index("Other learners")]),
                Decimal(line[header.index("Hours of instruction")])) == (row.physicians, row.others, row.hours)


def test_the_year_page_shows_an_organizer_their_own_activities_and_an_admin_all(client, auth, make_user,
                                                                             year_of_activities):
    auth.login("mine@example.org")
    html = client.get("/organize/analytics?year=2026").get_data(as_text=True)
    assert [r[0] for r in table(html, "table-year")] == ["Kia ora"]
    assert table(html, "table-year")[0][3:] == ["2", "1", "3"]
    charts = svgs(html)
    assert bar_values(charts["chart-formats"]) == [("Live meeting", 1), ("Live webcast", 0), ("On-demand webcast", 0)]
    assert bar_values(charts["chart-learners"]) == [("Physicians", 2), ("Other learners", 1)]
    assert [(r[0], int(r[1])) for r in table(html, "table-formats")] == [
        ("Live meeting", 1), ("Live webcast", 0), ("On-demand webcast", 0)]
    make_user("admin@example.org", role="admin")
    auth.logout()
    auth.login("admin@example.org")
    html = client.get("/organize/analytics?year=2026").get_data(as_text=True)
    assert [r[0] for r in table(html, "table-year")] == ["Kia ora", "On demand"]
    totals = lxml.html.fromstring(html).get_element_by_id("year-totals")
    assert [e.text_content() for e in totals] == ["Activities", "2", "Physician learners", "3", "Other learners", "2",
                                                  "Hours of instruction", "4.5"]


@pytest.mark.parametrize("year", ["", "abc", "0", "99999", "1999", "２０２６", "2026\x00", "-2026"])
def test_an_odd_year_shows_this_year(client, organizer, year):
    response = client.get("/organize/analytics", query_string={"year": year})
    assert response.status_code == 200
    assert f"Year summary {datetime.now(UTC).year}" in response.get_data(as_text=True)


def test_another_organizer_or_a_learner_cannot_see_an_activitys_analytics(client, auth, make_user, meeting):
    make_user("stranger@example.org", role="organizer")
    auth.login("stranger@example.org")
    assert client.get(f"/organize/activities/{meeting.id}/analytics").status_code in (403, 404)
    assert table(client.get("/organize/analytics?year=2026").get_data(as_text=True), "table-year") == []
    auth.logout()
    make_user("learner@example.org")
    auth.login("learner@example.org")
    assert client.get(f"/organize/activities/{meeting.id}/analytics").status_code == 403
    assert client.get("/organize/analytics").status_code == 403


def test_the_manage_page_and_dashboard_link_to_analytics(client, auth, meeting):
    auth.login("owner@example.org")
    assert f"/organize/activities/{meeting.id}/analytics" in client.get(
        f"/organize/activities/{meeting.id}").get_data(as_text=True)
    assert "/organize/analytics" in client.get("/organize/").get_data(as_text=True)


def _activity_with(db, make_user, make_activity, owner, n: int, tag: str):
    """An activity with n sessions, n registrants checked in to each session, n evaluations and n credit records."""
    start = datetime(2026, 4, 1, 13, tzinfo=UTC)
    activity = make_activity(organizers=[owner], title=f"{tag} {n}", start_dt=start, end_dt=start + timedelta(hours=n))
    activity.sessions.extend(ActivitySession(title=f"S{i}", start_dt=start + timedelta(hours=i),
                                             end_dt=start + timedelta(hours=i + 1)) for i in range(n))
    db.session.flush()
    for i in range(n):
        person = make_user(profession=["physician", "nurse"][i % 2])
        db.session.add(Registration(user_id=person.id, activity_id=activity.id, status="confirmed",
                                    registered_dt=start - timedelta(days=i)))
        for session in activity.sessions:
            db.session.add(Attendance(user_id=person.id, activity_id=activity.id, session_id=session.id,
                                      checked_in_dt=session.start_dt))
        db.session.add(EvaluationResponse(user_id=person.id, activity_id=activity.id,
                                          answers={"d0": {"prompt": "p", "answer": "Agree"}}))
        db.session.add(CreditRecord(user_id=person.id, activity_id=activity.id, credit_type="ama_pra_1",
                                    amount=Decimal("1.00"), attested=True))
    db.session.commit()
    return activity


def test_the_pages_queries_do_not_grow_with_sessions_learners_or_activities(client, auth, db, make_user,
                                                                            make_activity, count_queries):
    owner = make_user("owner@example.org", role="organizer")
    small = _activity_with(db, make_user, make_activity, owner, 2, "Small")
    large = _activity_with(db, make_user, make_activity, owner, 20, "Large")
    auth.login("owner@example.org")
    counts = []
    for activity_id in (small.id, large.id):
        db.session.remove()  # each request starts with an empty session, as in production
        with count_queries() as statements:
            assert client.get(f"/organize/activities/{activity_id}/analytics").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]

    def year_page() -> int:
        db.session.remove()
        with count_queries() as statements:
            assert client.get("/organize/analytics?year=2026").status_code == 200
        return len(statements)

    few = year_page()  # two activities so far
    owner = db.session.merge(owner)
    for n in range(18):
        _activity_with(db, make_user, make_activity, owner, 1 + n % 3, f"More {n}")
    assert year_page() == few
    db.session.remove()
    with count_queries() as statements:
        summary = analytics.yearly_summary(2026)
    assert summary.activities == 20 and len(statements) <= 6
