"""Rules that span capabilities, held on every path that could break them (issue 12: a review of the merged rules
found each of these reachable through a path the first checks did not guard)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cme.activities import service as activities
from cme.certificates import service as certificates
from cme.certificates.models import Certificate
from cme.credit import service as credit
from cme.credit.errors import CreditError
from cme.credit.models import CreditRecord
from cme.mail.service import NotNeeded, message_text
from cme.registration import lifecycle
from cme.registration.models import Registration
from cme.timeutil import now_utc
from tests.helpers import outbox

NOW = now_utc().replace(microsecond=0)


def claim(db, user, activity, amount, credit_type="ama_pra_1") -> CreditRecord:
    record = CreditRecord(user_id=user.id, activity_id=activity.id, credit_type=credit_type, amount=Decimal(amount),
                          attested=True)
    db.session.add(record)
    db.session.commit()
    return record


@pytest.fixture
def ended(make_activity):
    return make_activity(start_dt=NOW - timedelta(days=3), end_dt=NOW - timedelta(days=3) + timedelta(hours=3),
                         credits={"ama_pra_1": "3"})


def test_the_ama_designation_holds_the_participation_hours_claimed_against_it(db, make_user, ended):
    nurse = make_user(degree="RN", profession="nurse")
    claim(db, nurse, ended, "3", "participation")
    with pytest.raises(CreditError) as lowered:
        credit.change_designation(ended, "ama_pra_1", Decimal("1"))
    assert lowered.value.code == "below_claims"
    db.session.rollback()
    with pytest.raises(CreditError) as removed:
        credit.remove_designation(ended.credit_designations[0])
    assert removed.value.code == "has_claims"


def test_raising_the_capacity_after_the_end_promotes_nobody(db, make_user, ended):
    ended.capacity = 1
    db.session.add_all([Registration(user=make_user(), activity=ended, status="confirmed"),
                        Registration(user=make_user(), activity=ended, status="waitlisted", waitlist_position=1)])
    db.session.commit()
    assert lifecycle.change_capacity(ended, 2) == []
    db.session.commit()
    assert sorted(r.status for r in db.session.scalars(select(Registration))) == ["confirmed", "waitlisted"]
    assert outbox(db, "registration_promoted") == []


def test_a_published_activity_that_ended_cannot_be_moved(db, ended):
    with pytest.raises(activities.ActivityError) as refused:
        activities.reschedule(ended, time_zone=ended.time_zone, start_dt=NOW + timedelta(days=30),
                              end_dt=NOW + timedelta(days=30, hours=3))
    assert refused.value.code == "ended"
    db.session.rollback()
    # Saving it unchanged (the edit form) and moving a draft stay free.
    assert activities.reschedule(ended, time_zone=ended.time_zone, start_dt=ended.start_dt, end_dt=ended.end_dt) is False
    ended.status = "draft"
    assert activities.reschedule(ended, time_zone=ended.time_zone, start_dt=NOW + timedelta(days=30),
                                 end_dt=NOW + timedelta(days=30, hours=3)) is False


def test_the_last_designation_of_a_published_activity_stays(db, make_activity):
    activity = make_activity(credits={"ama_pra_1": "2"})
    with pytest.raises(activities.ActivityError) as refused:
        activities.delete_designation(activity.credit_designations[0])
    assert refused.value.code == "would_break_publication"


def test_a_corrected_certificate_is_mailed_and_the_waiting_mail_of_the_old_one_is_dropped(app, db, make_user, ended):
    learner = make_user(degree="MD")
    record = claim(db, learner, ended, "3")
    [first] = certificates.issue_for_activity(ended)  # queues its mail
    db.session.commit()
    record.amount = Decimal("2")
    new = certificates.reissue_if_certified(learner, ended)
    db.session.commit()
    assert new is not None and not first.is_valid and new.mailed_dt is not None
    rows = outbox(db, "certificate_issued")
    assert len(rows) == 2
    with pytest.raises(NotNeeded):
        message_text(rows[0])  # the old certificate's mail: superseded while it waited
    assert new.verification_code in message_text(rows[1])


def test_withdrawing_all_credit_leaves_no_current_certificate(db, make_user, ended):
    learner = make_user(degree="MD")
    record = claim(db, learner, ended, "3")
    certificate, _ = certificates.issue_certificate(learner, ended)
    db.session.delete(record)
    db.session.flush()
    assert certificates.reissue_if_certified(learner, ended) is None
    db.session.commit()
    assert not db.session.get(Certificate, certificate.id).is_valid
    assert certificates.current_certificate(learner, ended) is None


def test_the_acpe_number_stays_once_pharmacists_claimed_under_it(db, make_user, make_activity):
    activity = make_activity(credits={"ama_pra_1": "2", "acpe": "2"}, status="draft")
    activities.set_acpe_uan(activity, "0197-0000-26-001-L01-P")
    activity.status = "published"
    pharmacist = make_user(degree="PharmD", profession="pharmacist")
    claim(db, pharmacist, activity, "2", "acpe")
    with pytest.raises(CreditError) as refused:
        credit.change_acpe_uan(activity, "0197-0000-26-001-L01-T")
    assert (refused.value.code, refused.value.field) == ("uan_claimed", "acpe_uan")


def test_a_cancelled_activitys_credit_and_designations_stay_as_they_are(db, make_user, organizer, ended):
    learner = make_user(degree="MD")
    record = claim(db, learner, ended, "3")
    ended.status = "cancelled"
    db.session.commit()
    with pytest.raises(CreditError) as adjusted:
        credit.adjust_credit(record, Decimal("1"), reason="Typo", by=organizer)
    assert adjusted.value.code == "cancelled"
    db.session.rollback()
    with pytest.raises(activities.ActivityError) as designated:
        activities.set_designation(ended, "ancc", Decimal("1"))
    assert designated.value.code == "cancelled"
