"""The help page (issue 14, point 14): how credit works, each credit type with what it is for and who may claim it,
the AMA designation statement, and whom to write to. Who may claim what is rendered from the one rule
(cme.credit.eligibility.WHO_MAY_CLAIM), not restated: the page lists, per type, exactly the professions of the rule,
and what it says agrees with what eligibility offers each profession. Every page's footer links it."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from config import Config
from cme.accounts.models import PHYSICIAN_DEGREES, Profession, User
from cme.activities.models import Activity, CreditDesignation, CreditType
from cme.activities.statements import designation_statement
from cme.credit.eligibility import WHO_MAY_CLAIM, eligibility


@dataclass
class TypeSection:
    title: str = ""
    lists: dict[str, list[str]] = field(default_factory=dict)  # ul class -> item texts


class HelpPage(HTMLParser):
    """The help page's credit type sections: <section class="... credit-type" id=...>, their h3 and lists."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, TypeSection] = {}
        self._section: TypeSection | None = None
        self._list: str | None = None
        self._text: list[str] | None = None
        self._tag: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "credit-type" in (attrs.get("class") or ""):
            self._section = self.sections.setdefault(attrs["id"], TypeSection())
        elif self._section is not None and tag == "ul":
            self._list = attrs.get("class", "")
            self._section.lists[self._list] = []
        elif self._section is not None and tag in ("li", "h3"):
            self._text, self._tag = [], tag

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == self._tag and self._text is not None:
            text = " ".join("".join(self._text).split())
            if tag == "h3":
                self._section.title = text
            else:
                self._section.lists[self._list].append(text)
            self._text = self._tag = None
        elif tag == "ul":
            self._list = None
        elif tag == "section":
            self._section = None

    def by_title(self) -> dict[str, TypeSection]:
        return {s.title: s for s in self.sections.values()}


@pytest.fixture
def help_page(client) -> HelpPage:
    response = client.get("/help")
    assert response.status_code == 200
    return HelpPage(response.get_data(as_text=True))


def test_every_credit_type_is_listed_with_the_professions_its_rule_admits(help_page):
    """The page's lists are the rule's data: each type's professions (the profile's own labels), the medical
    degrees that make an "Other healthcare professional" a physician, and the rule's other conditions."""
    sections = help_page.by_title()
    assert list(sections) == [t.label for t in CreditType]
    for credit_type, rule in WHO_MAY_CLAIM.items():
        section = sections[credit_type.label]
        professions = [Profession(p).label for p in rule.professions] or ["Every profession"]
        if rule.physician_degree:
            professions.append(f"{Profession.OTHER.label}, with an MD, DO or MBBS degree")
        assert section.lists["claimants"] == professions, credit_type
        assert section.lists.get("conditions", []) == rule.conditions, credit_type
    # What the rule says of AMA credit, as a learner reads it.
    assert sections[CreditType.AMA_PRA_1.label].lists["claimants"][0] == "Physician"
    assert sections[CreditType.ANCC.label].lists["claimants"] == ["Nurse", "Nurse practitioner"]
    assert all(degree in sections[CreditType.ABIM_MOC.label].lists["claimants"][1] for degree in PHYSICIAN_DEGREES)


DEGREES = {Profession.PHYSICIAN: "MD", Profession.PHYSICIAN_ASSISTANT: "PA-C", Profession.NURSE_PRACTITIONER: "NP",
           Profession.NURSE: "RN", Profession.PHARMACIST: "PharmD", Profession.PHARMACY_TECHNICIAN: "CPhT"}
LEARNERS = [(p, DEGREES[p]) for p in DEGREES] + [(Profession.OTHER, "MBBS"), (Profession.OTHER, "MPH")]


@pytest.mark.parametrize("profession, degree", LEARNERS, ids=[f"{p.value}-{d}" for p, d in LEARNERS])
def test_what_the_page_says_a_profession_may_claim_is_what_the_claim_form_offers(help_page, profession, degree):
    """Read the page as a learner would (find your profession, or "Other ... with an MD, DO or MBBS degree", under
    each type; participation only when nothing else applies) and compare with what `eligibility` offers the same
    learner for an activity designating every type, its other conditions met (ABIM ID, a UAN for them)."""
    listed = set()
    for credit_type in CreditType:
        who = help_page.by_title()[credit_type.label].lists["claimants"]
        by_degree = any(line.startswith(Profession.OTHER.label) and f" {degree} " in f" {line.replace(',', ' ')} "
                        for line in who)
        if profession.label in who or (profession == Profession.OTHER and by_degree) or who == ["Every profession"]:
            listed.add(credit_type.value)
    if listed - {CreditType.PARTICIPATION.value}:  # "You claim no other credit of the same activity"
        listed.discard(CreditType.PARTICIPATION.value)
    learner = User(profession=profession.value, degree=degree, abim_id="123456")
    uan = "0197-0000-26-001-H01-" + ("T" if profession == Profession.PHARMACY_TECHNICIAN else "P")
    activity = Activity(format="on_demand_webcast", acpe_uan=uan, credit_designations=[
        CreditDesignation(credit_type=t.value, max_amount=Decimal("1")) for t in CreditType])
    assert set(eligibility(learner, activity).offers) == listed


def test_the_page_explains_the_steps_the_ama_statement_and_whom_to_write_to(app, client):
    app.config.update(CME_PROVIDER_NAME="Hepatology Academy", CME_CONTACT_EMAIL="credit@hepatology.example.org")
    page = client.get("/help").get_data(as_text=True)
    for step in ("Register.", "Attend or watch.", "Evaluate.", "Post-test.", "Claim.", "Certificate.", "Transcript."):
        assert f"<strong>{step}</strong>" in page
    statement = designation_statement("ama_pra_1", Decimal("3"), provider="Hepatology Academy",
                                      activity_format="live_meeting")
    assert statement.replace("AMA PRA Category 1 Credit(s)™", "<em>AMA PRA Category 1 Credit(s)</em>™") in page
    assert "live activity" in page and "enduring material" in page and "steps of 0.25" in page
    assert '<a href="mailto:credit@hepatology.example.org">credit@hepatology.example.org</a>' in page
    assert "Write to Hepatology Academy" in page


def test_the_contact_address_defaults_to_the_sender_of_our_mail(app):
    assert Config.CME_CONTACT_EMAIL == Config.MAIL_DEFAULT_SENDER and "@" in app.config["CME_CONTACT_EMAIL"]


@pytest.mark.parametrize("role, page", [(None, "/"), ("provider", "/my/schedule"), ("organizer", "/organize/"),
                                        ("admin", "/admin/users"), (None, "/no-such-page")])
def test_every_role_finds_help_in_the_footer(app, client, make_user, auth, role, page):
    app.config["CME_CONTACT_EMAIL"] = "help@example.org"
    if role:
        make_user(f"{role}@example.org", role=role)
        auth.login(f"{role}@example.org")
    html = client.get(page).get_data(as_text=True)
    footer = html[html.index('<footer class="site-footer">'):]
    assert '<a href="/help">Help: how credit works</a>' in footer
    assert '<a href="/verify">Verify a certificate</a>' in footer
    assert 'href="mailto:help@example.org"' in footer
