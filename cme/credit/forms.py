"""Credit forms, several built per activity (its evaluation questions, its credit types)."""
from __future__ import annotations

from collections.abc import Mapping

from wtforms import BooleanField, DecimalField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from cme.accounts.identity_forms import missing_fields_form
from cme.activities.models import CreditType
from cme.credit.eligibility import ClaimLimit
from cme.credit.evaluation_models import QuestionKind
from cme.amounts import MAX_AMOUNT, is_quarter_step
from cme.formtools import MAX_INTEGER, Form, InRange, SelectField, select_choices, strip


def evaluation_form(questions, formdata=None) -> Form:
    """A form with one field per evaluation question."""

    class EvaluationForm(Form):
        pass

    for question in questions:
        validators = [DataRequired("Please answer this question.")] if question.required else [Optional()]
        if question.kind == QuestionKind.TEXT:
            field = TextAreaField(question.prompt, validators=[*validators, Length(max=4000)], filters=[strip])
        else:
            field = RadioField(question.prompt, choices=select_choices((c, c) for c in question.choices),
                               validators=validators)
        setattr(EvaluationForm, question.key, field)
    return EvaluationForm(formdata=formdata) if formdata is not None else EvaluationForm()


def post_test_form(questions) -> Form:
    class PostTestForm(Form):
        pass

    for question in questions:
        setattr(PostTestForm, f"p{question.id}", RadioField(
            question.prompt, coerce=int, choices=select_choices((i, c) for i, c in enumerate(question.choices)),
            validators=[InputRequired("Please answer this question.")]))
    return PostTestForm()


AMOUNT_MESSAGE = f"Enter an amount from 0 to {MAX_AMOUNT}."


def quarter_steps(_form, field) -> None:
    if field.data is not None and not is_quarter_step(field.data):
        raise ValidationError("Use steps of 0.25 (e.g. 1.25, 1.5).")


def at_most(limit: ClaimLimit):
    """The claim field's ceiling: the claimable maximum (credit.eligibility.claim_limits), refused in its words."""

    def check(_form, field) -> None:
        if field.data is not None and field.data > limit.amount:
            raise ValidationError(limit.refusal)

    return check


YES_NO = select_choices([("yes", "Yes"), ("no", "No")])
# The form fields one Missing (cme.accounts.identity) stands for.
MISSING_FIELDS = {"birth_month": ("birth_month", "birth_day"), "licences": ("licence_state", "licence_number")}


def consent_field(body) -> str:
    return f"consent_{body}"


def claim_form(claimable: Mapping[str, ClaimLimit], records, *, asks: Mapping | None = None,
               missing: Mapping | None = None, consents: Mapping | None = None, identity: Mapping | None = None
               ) -> Form:
    """An amount field per credit type the learner may claim (`claimable`: ClaimStatus.claimable, each type's
    claimable maximum, said once under its field; prefilled with an earlier claim) and the attestation.

    Issue 16, point 1: a yes/no question per body the claim may be reported to (`asks`: {ReportingBody: question},
    prefilled from `consents`, the earlier answers), and the fields reporting still lacks (`missing`:
    {ReportingBody: [Missing]}, cme.credit.consent.missing_by_body; prefilled from `identity`), each needed only
    when the learner allows reporting to a body that needs it."""

    class ClaimForm(Form):
        attest = BooleanField("I claim only the credit commensurate with the extent of my participation in the "
                              "activity, and the information above is accurate.")

        def validate(self, extra_validators=None) -> bool:
            valid = super().validate(extra_validators)
            for body, items in (missing or {}).items():
                if self[consent_field(body)].data != "yes":
                    continue
                for item in items:
                    for name in MISSING_FIELDS.get(item.field, (item.field,)):
                        if name in self and not self[name].data and not self[name].errors:
                            self[name].errors = [f"Needed to report to {body.label}: give it, or answer No to "
                                                 "that question."]
                            valid = False
            return valid

        def consent_answers(self) -> dict[str, bool]:
            """The answers given ({body: granted}); a question left unanswered records nothing, so nothing is
            reported there until the learner answers it (My credit)."""
            return {str(body): self[consent_field(body)].data == "yes" for body in (asks or {})
                    if self[consent_field(body)].data in ("yes", "no")}

    for credit_type, limit in claimable.items():
        setattr(ClaimForm, credit_type, DecimalField(
            CreditType(credit_type).label, places=2,
            validators=[Optional(), InRange(min=0, max=MAX_AMOUNT, message=AMOUNT_MESSAGE), quarter_steps,
                        at_most(limit)],
            default=records[credit_type].amount if credit_type in records else None,
            description=limit.help))
    for body, text in (asks or {}).items():
        earlier = (consents or {}).get(str(body))
        setattr(ClaimForm, consent_field(body), RadioField(
            text, choices=YES_NO, validators=[Optional()],
            default=None if earlier is None else ("yes" if earlier.granted else "no")))
    items = [item for found in (missing or {}).values() for item in found]
    return missing_fields_form(list({item.field: item for item in items}.values()), required=False, base=ClaimForm,
                               data=dict(identity or {}) or None)


def permissions_form(asks: Mapping, consents: Mapping) -> Form:
    """The permissions to report one activity's completion, changed after the claim (My credit): a yes/no question
    per body (`asks`: {ReportingBody: question}), prefilled with the answers given (`consents`)."""

    class PermissionsForm(Form):
        def consent_answers(self) -> dict[str, bool]:
            return {str(body): self[consent_field(body)].data == "yes" for body in asks}

    for body, text in asks.items():
        earlier = consents.get(str(body))
        setattr(PermissionsForm, consent_field(body), RadioField(
            text, choices=YES_NO, validators=[InputRequired("Answer yes or no.")],
            default=None if earlier is None else ("yes" if earlier.granted else "no")))
    return PermissionsForm()


class AdjustForm(Form):
    record_id = IntegerField(validators=[InputRequired(), InRange(min=1, max=MAX_INTEGER)])
    amount = DecimalField("New amount", places=2, validators=[
        InputRequired("Enter the amount."), InRange(min=0, max=MAX_AMOUNT, message=AMOUNT_MESSAGE)])
    reason = StringField("Reason", validators=[DataRequired("Give the reason."), Length(max=500)], filters=[strip])


class QuestionForm(Form):
    """Shares the credit page with the post-test question form: its own prefix keeps the ids apart."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "question")
        super().__init__(*args, **kwargs)

    kind = SelectField("Type", choices=select_choices(QuestionKind.choices()))
    prompt = StringField("Question", validators=[DataRequired(), Length(max=500)], filters=[strip])
    choices = TextAreaField("Choices (one per line, for multiple choice)", validators=[Length(max=5000)],
                            filters=[strip])
    required = BooleanField("An answer is required", default=True)

    def validate_choices(self, field) -> None:
        if self.kind.data == QuestionKind.CHOICE and len([c for c in (field.data or "").splitlines() if c.strip()]) < 2:
            raise ValidationError("Give at least two choices, one per line.")


class PostTestQuestionForm(Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "post_test")
        super().__init__(*args, **kwargs)

    prompt = StringField("Question", validators=[DataRequired(), Length(max=500)], filters=[strip])
    choices = TextAreaField("Choices (one per line)", validators=[DataRequired(), Length(max=5000)], filters=[strip])
    correct = IntegerField("Number of the correct choice (1 = first)",
                           validators=[InputRequired(), InRange(min=1, max=MAX_INTEGER)])
    explanation = TextAreaField(
        "Explanation", validators=[Length(max=2000)], filters=[strip],
        description="Shown to learners after they submit: why the right answer is right. The right answer itself "
                    "is shown only once they pass or have no attempt left.")

    def validate_correct(self, field) -> None:
        count = len(self.choice_list())
        if count < 2:
            raise ValidationError("Give at least two choices.")
        if field.data and field.data > count:
            raise ValidationError(f"There are only {count} choices.")

    def choice_list(self) -> list[str]:
        return [c.strip() for c in (self.choices.data or "").splitlines() if c.strip()]


class PostTestRulesForm(Form):
    passing_score = IntegerField("Passing score (%)", validators=[InputRequired("Enter a score from 1 to 100."),
                                                                  InRange(min=1, max=100, message="Enter a score from 1 to 100.")])
    max_attempts = IntegerField("Attempts allowed", validators=[Optional(), InRange(
        min=1, max=100, message="Allow from 1 to 100 attempts, or leave it empty for no limit.")],
        description="Leave empty for no limit.")


class CertificateIssueForm(Form):
    """Issue 12, point 7: when an activity's certificates are issued."""
    issue = RadioField("Certificates are issued", choices=select_choices([
        ("automatic", "As soon as a learner claims credit (and mailed with the PDF)"),
        ("organizer", "When I press “Issue certificates”")]), validators=[InputRequired()])
