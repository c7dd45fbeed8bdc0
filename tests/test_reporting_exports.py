"""Issue 16, points 3 and 4: the learner-completion records, each refusal one by one, the export formats (column
order, separators, encoding, MM/DD), the JSON against our schema, and the batches (delete-and-add after a
corrected claim, a withdrawn claim, nothing twice)."""
from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cme.accounts.identity import BoardIdentifier, StateLicence
from cme.activities.reporting_data import MocRegistration
from cme.credit.evaluation_models import EvaluationResponse, PostTestAttempt, PostTestQuestion
from cme.credit.models import CreditRecord, ReportingConsent
from cme.activities.models import Activity
from cme.mail.service import deliver_pending
from cme.reporting import formats
from cme.reporting.batches import ReportingError, mark_as_sent, plan
from cme.reporting.deadlines import due, send_deadline_mails
from cme.reporting.models import ReportBatch, ReportedRecord, ReportKind
from cme.reporting.records import activity_scope, records
from tests.helpers import TEST_PASSWORD

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "cme/reporting/schemas/pars_learners.schema.json")
                    .read_text())
PROVIDER = "The Liver Education Foundation"
COMPLETED = datetime(2026, 3, 7, 17, 0, tzinfo=timezone.utc)


@pytest.fixture
def activity(make_activity):
    return make_activity(accme_activity_id="201234567", accme_provider_id="5001", acpe_uan="0197-0000-26-001-L01-P",
                         ce_broker_tracking_number="20-123456",
                         credits={"ama_pra_1": "3.00", "abim_moc": "3.00", "acpe": "3.00", "ancc": "3.00"})


@pytest.fixture
def learner(db, make_user):
    """make(name, **fields): a physician with a birthday and a New York licence, who allowed every body."""
    def make(full_name="Ada Lovelace", *, licences=(("NY", "123456", "physician"),), **fields):
        identity = {"birth_month": 3, "birth_day": 7}
        identity.update({k: fields.pop(k) for k in ("birth_month", "birth_day", "nabp_eprofile_id") if k in fields})
        user = make_user(full_name=full_name, **fields)
        for name, value in identity.items():
            setattr(user, name, value)
        for state, number, profession in licences:
            db.session.add(StateLicence(user_id=user.id, state=state, number=number, profession=profession))
        db.session.commit()
        return user
    return make


def claim(db, user, activity, credit_type="ama_pra_1", amount="3.00", *, bodies=("accme",), granted=True):
    db.session.add(CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type,
                                amount=Decimal(amount), attested=True, completed_dt=COMPLETED))
    for body in bodies:
        if db.session.scalar(db.select(ReportingConsent).filter_by(user_id=user.id, activity_id=activity.id,
                                                                    body=body)) is None:
            db.session.add(ReportingConsent(user_id=user.id, activity_id=activity.id, body=body, granted=granted))
    db.session.commit()


def select_ids(*activities):
    return select(Activity.id).where(Activity.id.in_([a.id for a in activities]))


def all_records(kind, activity):
    return list(records(kind, activity_scope(activity), provider=PROVIDER))


def codes(record):
    return sorted(r.code for r in record.refusals)


def lines(kind, activity):
    return [(e.status, e.fields) for e in plan(kind, activity_scope(activity), provider=PROVIDER) if e.is_line]


# ---------------------------------------------------------------- records and refusals, one by one

def test_a_complete_claim_is_one_ready_cme_record(db, activity, learner):
    ada = learner()
    claim(db, ada, activity)
    [record] = all_records(ReportKind.PARS, activity)
    assert record.ready and record.key == ("pars", ada.id, activity.id, "cme")
    assert record.fields["identifiers"] == [["NY", "123456"]] and record.fields["birth"] == "03-07"
    assert record.fields["amount"] == "3.00" and record.fields["completed_on"] == "2026-03-07"


@pytest.mark.parametrize(("change", "code"), [
    (dict(birth_month=None, birth_day=None), "missing_birth_month"),
    (dict(full_name="Ada"), "missing_full_name"),
    (dict(licences=()), "missing_licences"),
    (dict(licences=(("NY", "12 34!", "physician"),)), "licence_number"),
])
def test_each_missing_learner_field_is_its_own_refusal(db, activity, learner, change, code):
    ada = learner(**change) if "full_name" not in change else learner(change["full_name"])
    claim(db, ada, activity)
    [record] = all_records(ReportKind.PARS, activity)
    assert codes(record) == [code]
    assert all(r.learner_can_fix for r in record.refusals)


def test_missing_and_withheld_permission_are_refused(db, activity, learner):
    asked_no, never_asked = learner("Ada Lovelace"), learner("Grace Hopper")
    claim(db, asked_no, activity, granted=False)
    claim(db, never_asked, activity, bodies=())
    by_user = {r.user_id: codes(r) for r in all_records(ReportKind.PARS, activity)}
    assert by_user == {asked_no.id: ["permission_withheld"], never_asked.id: ["no_permission"]}


def test_an_activity_without_accme_ids_refuses_every_record(db, make_activity, learner):
    bare = make_activity()
    claim(db, learner(), bare)
    [record] = all_records(ReportKind.PARS, bare)
    assert codes(record) == ["no_accme_activity_id", "no_accme_provider_id"]
    assert not any(r.learner_can_fix for r in record.refusals)


def test_abim_moc_needs_the_id_and_never_exceeds_the_ama_credit(db, activity, learner):
    ada = learner(abim_id="123456")
    claim(db, ada, activity, "ama_pra_1", "2.00")
    claim(db, ada, activity, "abim_moc", "2.50", bodies=("abim",))
    moc = next(r for r in all_records(ReportKind.PARS, activity) if r.subject == "abim")
    assert codes(moc) == ["moc_over_ama"]
    assert moc.fields["identifiers"] == [["ABIM", "123456"]]


def test_abp_refuses_partial_credit_and_credit_before_the_evaluation_is_passed(db, activity, learner):
    db.session.add(MocRegistration(activity_id=activity.id, board="abp", points=Decimal("3.00")))
    db.session.add(PostTestQuestion(activity_id=activity.id, prompt="Q?", choices=["a", "b"], correct_index=0))
    ada = learner()
    db.session.add(BoardIdentifier(user_id=ada.id, board="abp", value="1234567"))
    db.session.commit()
    claim(db, ada, activity, "ama_pra_1", "2.00", bodies=("accme", "abp"))
    abp = next(r for r in all_records(ReportKind.PARS, activity) if r.subject == "abp")
    assert codes(abp) == ["abp_no_evaluation", "abp_partial", "abp_post_test"]
    db.session.get(CreditRecord, db.session.scalar(db.select(CreditRecord.id))).amount = Decimal("3.00")
    db.session.add(EvaluationResponse(user_id=ada.id, activity_id=activity.id, answers={}))
    db.session.add(PostTestAttempt(user_id=ada.id, activity_id=activity.id, score=100, passed=True))
    db.session.commit()
    abp = next(r for r in all_records(ReportKind.PARS, activity) if r.subject == "abp")
    assert abp.ready and abp.fields["amount"] == "3.00"


def test_abp_never_gets_a_second_add(db, activity, learner):
    db.session.add(MocRegistration(activity_id=activity.id, board="abp", points=Decimal("3.00")))
    ada = learner()
    db.session.add(BoardIdentifier(user_id=ada.id, board="abp", value="1234567"))
    db.session.add(EvaluationResponse(user_id=ada.id, activity_id=activity.id, answers={}))
    db.session.commit()
    claim(db, ada, activity, bodies=("accme", "abp"))
    mark_as_sent(ReportKind.PARS, activity_scope(activity), provider=PROVIDER, by_id=None)
    db.session.commit()
    ada.full_name = "Ada King"  # a corrected name: CME goes again (delete, add), ABP refuses a repeat
    db.session.commit()
    entries = list(plan(ReportKind.PARS, activity_scope(activity), provider=PROVIDER))
    assert sorted((e.subject, e.status) for e in entries) == [("abp", "blocked"), ("cme", "add"), ("cme", "delete")]
    assert [r.code for e in entries if e.subject == "abp" for r in e.refusals] == ["abp_repeated"]


def test_cpe_monitor_needs_the_nabp_id_and_a_uan_for_the_profession(db, activity, learner):
    pharmacist = learner("Paul Pharma", profession="pharmacist", degree="PharmD", nabp_eprofile_id="1234567")
    technician = learner("Tess Tech", profession="pharmacy_technician", degree="CPhT")
    claim(db, pharmacist, activity, "acpe", bodies=("nabp",))
    claim(db, technician, activity, "acpe", bodies=("nabp",))
    by_user = {r.user_id: r for r in all_records(ReportKind.CPE_MONITOR, activity)}
    assert by_user[pharmacist.id].ready and by_user[pharmacist.id].fields["participant"] == "P"
    assert codes(by_user[technician.id]) == ["missing_nabp_eprofile_id", "uan_audience"]
    activity.acpe_uan = None
    db.session.commit()
    assert codes(all_records(ReportKind.CPE_MONITOR, activity)[0]) == ["no_uan"]


def test_ce_broker_has_one_record_per_licence_and_needs_the_tracking_number(db, activity, learner):
    nurse = learner("Nora Nurse", profession="nurse", degree="RN",
                    licences=(("FL", "RN9876", "nurse"), ("GA", "RN555", "nurse")))
    claim(db, nurse, activity, "ancc", "2.50", bodies=("cebroker",))
    found = all_records(ReportKind.CE_BROKER, activity)
    assert [(r.subject, r.ready) for r in found] == [("ancc:FL:nurse", True), ("ancc:GA:nurse", True)]
    activity.ce_broker_tracking_number = None
    db.session.commit()
    assert {tuple(codes(r)) for r in all_records(ReportKind.CE_BROKER, activity)} == {("no_tracking_number",)}


# ---------------------------------------------------------------- formats

def test_pars_tab_file_columns_separators_dates_and_cleaned_names(db, activity, learner):
    ada = learner("=Ada\tMarie Love\nlace")
    claim(db, ada, activity)
    text = "".join(formats.pars_tab(lines(ReportKind.PARS, activity)))
    assert text.encode("utf-8")[:3] != b"\xef\xbb\xbf" and text.count("\r\n") == 2
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t", lineterminator="\r\n"))
    header, row = rows[0], rows[1]
    assert header == formats.PARS_TAB_COLUMNS and len(row) == len(header)
    values = dict(zip(header, row))
    assert values["First Name"] == "'=Ada" and values["Last Name"] == "Marie Love lace"
    assert values["Birth MM/DD"] == "03/07" and values["Completion Date"] == "03/07/2026"
    assert values["Credits"] == "3.00" and values["Action"] == "add" and values["ID Type"] == "NY"


def test_pars_json_follows_the_schema_and_carries_month_and_day_only(db, activity, learner):
    ada = learner(abim_id="123456")
    claim(db, ada, activity)
    claim(db, ada, activity, "abim_moc", "2.00", bodies=("abim",))
    claim(db, learner("Zoë Ünal"), activity)
    text = "".join(formats.pars_json(lines(ReportKind.PARS, activity), created=COMPLETED))
    document = json.loads(text)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    reports = document["ACCMELearnerReports"]["ActivityReports"]["ActivityReport"]
    assert len(reports) == 3
    moc = next(r for r in reports if r["Activity"]["Module"]["CreditCertificate"][0]["CreditReceived"]
               ["activityCertification"] == "MOC (ABIM)")
    assert moc["Activity"]["Module"]["CreditCertificate"][0]["UniqueID"] == [{"value": "123456", "domain": "ABIM"}]
    assert moc["XtensibleInfo"] == {"LearnerRecordAction": "add", "ProviderID": "5001", "BirthMonthDay": "--03-07"}
    assert "Zoë" in text  # UTF-8, not escaped


def test_the_schema_refuses_what_we_never_send():
    report = {"ACCMELearnerReports": {"ActivityReports": {"DateTimeCreated": "2026-03-07T00:00:00+00:00",
                                                          "ActivityReport": [{"ReportingOrganization": "x"}]}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)


def test_cpe_monitor_csv_columns(db, activity, learner):
    pharmacist = learner("Paul Pharma", profession="pharmacist", degree="PharmD", nabp_eprofile_id="1234567",
                         birth_month=11, birth_day=2)
    claim(db, pharmacist, activity, "acpe", "1.25", bodies=("nabp",))
    text = "".join(formats.cpe_monitor_csv(lines(ReportKind.CPE_MONITOR, activity)))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [formats.CPE_MONITOR_COLUMNS, ["add", "1234567", "1102", "0197-0000-26-001-L01-P", "P",
                                                  "03/07/2026", "1.25", "Pharma", "Paul"]]


def test_ce_broker_roster_reads_back_as_a_spreadsheet(db, activity, learner):
    nurse = learner("@Nora Nurse", profession="nurse", degree="RN", licences=(("FL", "RN9876", "nurse"),))
    claim(db, nurse, activity, "ancc", "2.50", bodies=("cebroker",))
    with formats.ce_broker_xlsx(lines(ReportKind.CE_BROKER, activity)) as out:
        workbook = load_workbook(out, read_only=True)
        rows = [list(r) for r in workbook["Roster"].iter_rows(values_only=True)]
        workbook.close()
    assert rows == [formats.CE_BROKER_COLUMNS, ["add", "RN9876", "FL", "Nurse", "Nurse", "'@Nora", "03/07/2026",
                                                "20-123456", 2.5, "ANCC contact hours"]]


# ---------------------------------------------------------------- batches

def test_marking_sends_nothing_twice_and_a_corrected_claim_is_deleted_then_added(db, activity, learner):
    ada = learner()
    claim(db, ada, activity, amount="3.00")
    scope = activity_scope(activity)
    batch = mark_as_sent(ReportKind.PARS, scope, provider=PROVIDER, by_id=None)
    db.session.commit()
    assert (batch.adds, batch.deletes) == (1, 0)
    assert lines(ReportKind.PARS, activity) == []
    with pytest.raises(ReportingError):
        mark_as_sent(ReportKind.PARS, scope, provider=PROVIDER, by_id=None)
    db.session.rollback()
    record = db.session.scalar(db.select(CreditRecord))
    record.amount = Decimal("2.25")  # a corrected claim
    db.session.commit()
    corrected = lines(ReportKind.PARS, activity)
    assert [(action, f["amount"]) for action, f in corrected] == [("delete", "3.00"), ("add", "2.25")]
    batch = mark_as_sent(ReportKind.PARS, scope, provider=PROVIDER, by_id=None)
    db.session.commit()
    assert (batch.adds, batch.deletes) == (1, 1)
    db.session.delete(db.session.scalar(db.select(CreditRecord)))  # the claim withdrawn
    db.session.commit()
    assert [(action, f["amount"]) for action, f in lines(ReportKind.PARS, activity)] == [("delete", "2.25")]


def test_a_blocked_record_becomes_ready_once_the_learner_completes_the_profile(db, activity, learner):
    ada = learner(birth_month=None, birth_day=None)
    claim(db, ada, activity)
    assert [e.status for e in plan(ReportKind.PARS, activity_scope(activity), provider=PROVIDER)] == ["blocked"]
    ada.birth_month, ada.birth_day = 12, 31
    db.session.commit()
    assert [e.status for e in plan(ReportKind.PARS, activity_scope(activity), provider=PROVIDER)] == ["add"]


# ---------------------------------------------------------------- pages, downloads, the reminder, the CLI

def test_the_export_page_lists_blocked_records_with_their_reasons_and_organizers_only(
        db, client, organizer, activity, learner, make_activity):
    activity.organizers.append(organizer)
    db.session.commit()
    claim(db, learner("Ada Lovelace"), activity)
    claim(db, learner("Grace <b>Hopper</b>", birth_month=None, birth_day=None), activity)
    page = client.get(f"/organize/activities/{activity.id}/reporting")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1 to add" in html and "1 blocked" in html
    assert "Your birth month and day" in html and "Grace &lt;b&gt;Hopper&lt;/b&gt;" in html
    other = make_activity(title="Not mine")
    assert client.get(f"/organize/activities/{other.id}/reporting").status_code == 403
    assert client.get(f"/organize/activities/{activity.id}/reporting/pars/xlsx").status_code == 404
    assert client.get(f"/organize/activities/{activity.id}/reporting/nope/tab").status_code == 404


def test_download_previews_and_mark_as_sent_makes_a_batch_kept_for_download(db, client, organizer, activity, learner):
    activity.organizers.append(organizer)
    db.session.commit()
    claim(db, learner(), activity)
    base = f"/organize/activities/{activity.id}/reporting"
    preview = client.get(f"{base}/pars/tab")
    assert preview.status_code == 200 and preview.headers["Content-Type"].startswith("text/tab-separated-values")
    assert preview.get_data(as_text=True).count("\r\n") == 2
    assert client.get(f"{base}/pars/tab").get_data() == preview.get_data()  # a preview marks nothing
    response = client.post(f"{base}/mark", data={"kind": "pars"})
    assert response.status_code == 302
    batch = db.session.scalar(db.select(ReportBatch))
    assert (batch.kind, batch.adds, batch.created_by_id) == ("pars", 1, organizer.id)
    assert client.get(f"{base}/pars/tab").get_data(as_text=True).count("\r\n") == 1  # only the header now
    again = client.get(f"/organize/reporting/batches/{batch.id}/json")
    document = json.loads(again.get_data(as_text=True))
    jsonschema.validate(document, SCHEMA)
    assert len(document["ACCMELearnerReports"]["ActivityReports"]["ActivityReport"]) == 1
    assert client.post(f"{base}/mark", data={"kind": "bogus"}).status_code == 302
    assert db.session.scalar(db.select(func.count()).select_from(ReportBatch)) == 1


def test_the_ce_broker_download_is_a_workbook_and_the_tracking_number_is_checked(db, client, organizer, activity,
                                                                                  learner):
    activity.organizers.append(organizer)
    db.session.commit()
    claim(db, learner("Nora Nurse", profession="nurse", degree="RN", licences=(("FL", "RN9876", "nurse"),)),
          activity, "ancc", bodies=("cebroker",))
    bad = client.post(f"/organize/activities/{activity.id}/reporting/tracking-number",
                      data={"ce_broker_tracking_number": "20 12=3"})
    assert bad.status_code == 422 and "20 12=3" in bad.get_data(as_text=True)
    assert client.post(f"/organize/activities/{activity.id}/reporting/tracking-number",
                       data={"ce_broker_tracking_number": "20-777"}).status_code == 302
    response = client.get(f"/organize/activities/{activity.id}/reporting/ce_broker/xlsx")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = list(workbook["Roster"].iter_rows(values_only=True))
    workbook.close()
    assert rows[1][7] == "20-777"


def test_the_reminder_mails_each_learner_a_link_to_the_fields_once_a_day(db, client, organizer, activity, learner,
                                                                         smtp):
    activity.organizers.append(organizer)
    db.session.commit()
    grace = learner("Grace <Hopper>", birth_month=None, birth_day=None)
    claim(db, grace, activity)
    claim(db, learner("Ada Lovelace"), activity)  # ready: not mailed
    assert client.post(f"/organize/activities/{activity.id}/reporting/remind").status_code == 302
    assert client.post(f"/organize/activities/{activity.id}/reporting/remind").status_code == 302  # same day
    assert len(deliver_pending().sent) == 1
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == grace.email
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert f"/account/reporting/{activity.id}#birth_month" in text
    assert "Grace &lt;Hopper&gt;" in html and "<Hopper>" not in html


def test_range_page_and_cli_export_and_mark(app, db, client, organizer, activity, learner, tmp_path):
    activity.organizers.append(organizer)
    db.session.commit()
    claim(db, learner(), activity)
    page = client.get("/organize/reporting?start=2026-03-01&end=2026-03-31")
    assert page.status_code == 200 and "1 to add" in page.get_data(as_text=True)
    assert client.get("/organize/reporting?start=2026-03-31&end=2026-03-01").status_code == 422
    assert client.get("/organize/reporting?start=nope&end=2026-03-01").status_code == 422
    assert client.get("/organize/reporting?start=2026-04-01&end=2026-04-30").get_data(as_text=True).count(
        "Nothing new to send") == 3
    output = tmp_path / "pars.json"
    result = app.test_cli_runner().invoke(args=["cme", "report", "pars-learners", "--from", "2026-03-01", "--to",
                                                "2026-03-31", "--format", "json", "--output", str(output), "--mark"])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(output.read_text()), SCHEMA)
    result = app.test_cli_runner().invoke(args=["cme", "report", "pars-learners", "--activity", str(activity.id),
                                                "--mark"])
    assert result.exit_code == 1 and "Nothing new" in result.output
    result = app.test_cli_runner().invoke(args=["cme", "report", "cpe-monitor"])
    assert result.exit_code == 2


def test_two_concurrent_marks_make_one_batch(app, db, organizer, activity, learner):
    activity.organizers.append(organizer)
    db.session.commit()
    for n in range(5):
        claim(db, learner(f"Learner Number{n}"), activity)
    barrier = threading.Barrier(2)
    url = f"/organize/activities/{activity.id}/reporting/mark"

    def send(n: int) -> None:
        client = app.test_client()
        client.post("/account/login", data={"email": "org@example.org", "password": TEST_PASSWORD})
        barrier.wait(timeout=30)
        results[n] = client.post(url, data={"kind": "pars"})

    results: list = [None, None]
    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [302, 302]
    db.session.expire_all()
    assert db.session.scalar(db.select(func.count()).select_from(ReportBatch)) == 1
    assert db.session.scalar(db.select(func.count()).select_from(ReportedRecord)) == 5


def test_validating_an_activity_takes_as_many_queries_for_many_learners_as_for_few(db, activity, learner,
                                                                                   count_queries):
    """The learners' licences and board IDs are read once for the whole activity, not once per learner and body
    (the bench: 3,237 statements for 5,000 completions before, 143 after)."""
    def statements_for_plan():
        with count_queries() as statements:
            for kind in ReportKind:
                list(plan(kind, activity_scope(activity), provider=PROVIDER))
        return len(statements)

    def add_learners(start, count):
        for n in range(start, start + count):
            person = learner(f"Learner Number{n}", nabp_eprofile_id="1234567")
            db.session.add(BoardIdentifier(user_id=person.id, board="abp", value=f"{100000 + n}"))
            for credit_type, bodies in (("ama_pra_1", ("accme", "abp")), ("acpe", ("nabp",)), ("ancc", ("cebroker",))):
                claim(db, person, activity, credit_type, bodies=bodies)

    db.session.add(MocRegistration(activity_id=activity.id, board="abp", points=Decimal("3.00")))
    add_learners(0, 2)
    few = statements_for_plan()
    add_learners(2, 10)
    assert statements_for_plan() == few


# ---------------------------------------------------------------- deadlines

def test_the_dashboard_lists_unreported_completions_oldest_first_with_days_left(db, client, organizer, make_activity,
                                                                              learner, count_queries):
    now = datetime.now(timezone.utc)
    older = make_activity(title="Older", organizers=[organizer], acpe_uan="0197-0000-26-001-L01-P")
    newer = make_activity(title="Newer", organizers=[organizer])
    ada = learner()
    for act, days in ((older, 50), (newer, 10)):
        db.session.add(CreditRecord(user_id=ada.id, activity_id=act.id, credit_type="ama_pra_1",
                                    amount=Decimal("1.00"), attested=True, completed_dt=now - timedelta(days=days)))
    db.session.commit()
    rows = due(select_ids(older, newer), now=now)
    assert [(r.title, r.kind, r.count, r.days_left) for r in rows] == [("Older", "pars", 1, -20),
                                                                        ("Newer", "pars", 1, 20)]
    html = client.get("/organize/").get_data(as_text=True)
    assert html.index("Older") < html.index("Newer") and "20 day(s) overdue" in html
    for n in range(3):
        more = make_activity(title=f"More {n}", organizers=[organizer])
        db.session.add(CreditRecord(user_id=ada.id, activity_id=more.id, credit_type="ama_pra_1",
                                    amount=Decimal("1.00"), attested=True, completed_dt=now))
    db.session.commit()
    ids = select_ids(older, newer)
    with count_queries() as statements:
        assert len(due(ids, now=now)) == 2
    assert len(statements) == 1


def test_the_weekly_deadline_mail_goes_once_a_week(app, db, organizer, activity, learner, smtp):
    activity.organizers.append(organizer)
    db.session.commit()
    claim(db, learner(), activity)
    monday = datetime(2026, 3, 9, 8, tzinfo=timezone.utc)
    assert send_deadline_mails(now=monday) == 1
    db.session.commit()
    assert send_deadline_mails(now=monday + timedelta(days=3)) == 0  # the same ISO week
    db.session.commit()
    cli = app.test_cli_runner()
    assert "Queued 1 deadline mail(s)." in cli.invoke(args=["cme", "report", "send-deadline-mail"]).output  # this week
    assert "Queued 0 deadline mail(s)." in cli.invoke(args=["cme", "report", "send-deadline-mail"]).output
    assert send_deadline_mails(now=monday + timedelta(days=7)) == 1
    db.session.commit()
    assert len(deliver_pending().sent) == 3
    assert activity.title in smtp.messages[0].get_body(("plain",)).get_content()


def test_an_organizer_exports_and_downloads_only_their_own_activities(db, client, organizer, activity, learner,
                                                                       make_activity, make_user):
    theirs = make_activity(title="Theirs", accme_activity_id="209999999", accme_provider_id="5001",
                           organizers=[make_user("other@example.org", role="organizer")])
    claim(db, learner("Ada Lovelace"), theirs)
    batch = mark_as_sent(ReportKind.PARS, activity_scope(theirs), provider=PROVIDER, by_id=None)
    db.session.commit()
    page = client.get("/organize/reporting?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert "Theirs" not in page and page.count("Nothing new to send") == 3
    text = client.get("/organize/reporting/pars/tab?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert text.count("\r\n") == 1  # the header only
    assert client.get(f"/organize/reporting/batches/{batch.id}/tab").status_code == 403
    assert client.get(f"/organize/reporting/batches/{batch.id}/xlsx").status_code in (403, 404)
    assert client.get("/organize/reporting/batches/999999/tab").status_code == 404


def test_the_completion_date_is_the_activitys_local_date(db, make_activity, learner):
    evening = make_activity(time_zone="America/Los_Angeles", accme_activity_id="201", accme_provider_id="5001")
    ada = learner()
    db.session.add(CreditRecord(user_id=ada.id, activity_id=evening.id, credit_type="ama_pra_1", amount=Decimal("1"),
                                attested=True, completed_dt=datetime(2026, 3, 8, 3, 30, tzinfo=timezone.utc)))
    db.session.commit()
    [record] = all_records(ReportKind.PARS, evening)
    assert record.fields["completed_on"] == "2026-03-07"  # 7:30 pm in Los Angeles
