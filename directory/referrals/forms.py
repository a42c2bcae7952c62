"""Forms for clients, needs, consent, referrals and attempts. What the user typed is kept on error."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from directory.catalog.forms import MultiCheckboxField
from directory.clock import local_zone
from directory.referrals.labels import (
    AGENCY_DECLINE_REASONS,
    CHANNEL_LABELS,
    CLOSING_LABELS,
    CONSENT_FIELD_LABELS,
    GIVEN_BY_LABELS,
    LEGAL_BASIS_LABELS,
    OUTCOME_LABELS,
    PARTY_LABELS,
    PURPOSE_LABELS,
    REFUSAL_REASON_LABELS,
    REFUSER_LABELS,
    SENSITIVE_FIELD_LABELS,
)


def _choices(labels: dict, blank: str | None = None) -> list[tuple[str, object]]:
    items = list(labels.items())
    return ([("", blank)] if blank is not None else []) + items


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def local_to_utc(moment: datetime) -> datetime:
    """A wall-clock time typed in the service area's time zone, as an aware UTC datetime."""
    return moment.replace(tzinfo=local_zone()).astimezone(UTC)


def utc_to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone()).replace(tzinfo=None)


class ClientForm(FlaskForm):
    """Who the client is and how to reach them; the situation (age, sex, district …) is the facts form."""

    version = HiddenField()
    display_name = StringField(_l("Name or alias"), filters=[_strip], validators=[DataRequired(), Length(max=80)])
    phone = StringField(
        _l("Phone"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^[0-9+\- ()]{5,40}$", message=_l("Write the phone number with digits only.")),
        ],
    )
    address = StringField(_l("Address or nearby place"), filters=[_strip], validators=[Optional(), Length(max=300)])
    withheld_fields = MultiCheckboxField(
        _l("Never to be shared, not even by a supervisor's override"), choices=_choices(SENSITIVE_FIELD_LABELS)
    )

    def values(self, facts: dict, today: date) -> tuple[dict, dict]:
        """The client's columns and the remaining facts, from this form and the facts form's facts.

        Age is kept as a year of birth (an age goes stale); sex and district are columns of their own.
        """
        facts = dict(facts)
        birth_year = facts.pop("birth_year", None)
        age = facts.pop("age", None)
        if birth_year is None and age is not None:
            birth_year = today.year - age
        values = {
            "display_name": self.display_name.data,
            "phone": self.phone.data or None,
            "address": self.address.data or None,
            "withheld_fields": sorted(self.withheld_fields.data or []) or None,
            "birth_year": birth_year,
            "sex": facts.pop("sex", None),
            "district": facts.pop("district", None),
        }
        return values, facts


class NeedForm(FlaskForm):
    category = SelectField(_l("Kind of help"), validators=[DataRequired()])
    goal = StringField(
        _l("Goal, in the client's words"), filters=[_strip], validators=[DataRequired(), Length(max=300)]
    )


class CloseNeedForm(FlaskForm):
    status = RadioField(_l("Outcome"), choices=_choices(CLOSING_LABELS), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[DataRequired(), Length(max=2000)])


class ConsentForm(FlaskForm):
    scope = RadioField(
        _l("Who may receive the information"),
        choices=[("organization", _l("One organization")), ("category", _l("Any service of one kind"))],
        default="organization",
    )
    organization_id = SelectField(_l("Organization"), validate_choice=False)
    category = SelectField(_l("Kind of service"), validate_choice=False)
    fields = MultiCheckboxField(_l("Information they may receive"), choices=_choices(CONSENT_FIELD_LABELS))
    purpose = SelectField(_l("Purpose"), choices=_choices(PURPOSE_LABELS))
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_until = DateField(_l("Valid until (empty: until revoked)"), validators=[Optional()])
    given_by = SelectField(_l("Consent given by"), choices=_choices(GIVEN_BY_LABELS))
    guardian_name = StringField(_l("Guardian's name"), filters=[_strip], validators=[Optional(), Length(max=80)])
    guardian_relation = StringField(
        _l("Relation to the client"), filters=[_strip], validators=[Optional(), Length(max=40)]
    )

    def values(self) -> dict:
        by_org = self.scope.data == "organization"
        return {
            "organization_id": self.organization_id.data if by_org else None,
            "category": None if by_org else self.category.data,
            "fields": list(self.fields.data or []),
            "purpose": self.purpose.data,
            "valid_from": self.valid_from.data,
            "valid_until": self.valid_until.data,
            "given_by": self.given_by.data,
            "guardian_name": self.guardian_name.data,
            "guardian_relation": self.guardian_relation.data,
        }


class RevokeConsentForm(FlaskForm):
    note = TextAreaField(_l("Why (optional)"), filters=[_strip], validators=[Optional(), Length(max=1000)])


class ReferralForm(FlaskForm):
    need_id = SelectField(_l("For which need"), validate_choice=False)
    location_id = SelectField(_l("Location"), validate_choice=False)
    eligibility_override_reason = TextAreaField(
        _l("Refer anyway: why"), filters=[_strip], validators=[Optional(), Length(max=1000)]
    )
    consent_override_reason = TextAreaField(
        _l("Refer without consent: the reason (recorded)"), filters=[_strip], validators=[Optional(), Length(max=1000)]
    )
    override_legal_basis = SelectField(_l("Legal basis"), choices=_choices(LEGAL_BASIS_LABELS, "—"), default="")
    override_fields = MultiCheckboxField(
        _l("Information the agency may see"), choices=_choices(CONSENT_FIELD_LABELS), default=["name", "phone"]
    )
    override_expires_on = DateField(_l("The override holds until"), validators=[Optional()])


class RevokeOverrideForm(FlaskForm):
    note = TextAreaField(_l("Why"), filters=[_strip], validators=[DataRequired(), Length(max=1000)])


class AttemptForm(FlaskForm):
    corrects_id = HiddenField()
    occurred_at = DateTimeLocalField(
        _l("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[InputRequired()]
    )
    channel = SelectField(_l("How"), choices=_choices(CHANNEL_LABELS))
    party = SelectField(_l("Who was contacted"), choices=_choices(PARTY_LABELS))
    outcome = SelectField(_l("What happened"), choices=_choices(OUTCOME_LABELS))
    refused_by = SelectField(_l("Who refused"), choices=_choices(REFUSER_LABELS, "—"), default="")
    refusal_reason = SelectField(_l("Reason for the refusal"), choices=_choices(REFUSAL_REASON_LABELS, "—"), default="")
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), Length(max=2000)])
    next_follow_up = DateField(_l("Next follow-up"), validators=[Optional()])

    def values(self) -> dict:
        return {
            "occurred_at": local_to_utc(self.occurred_at.data) if self.occurred_at.data else None,
            "channel": self.channel.data,
            "party": self.party.data,
            "outcome": self.outcome.data,
            "refused_by": self.refused_by.data or None,
            "refusal_reason": self.refusal_reason.data or None,
            "note": self.note.data,
            "next_follow_up": self.next_follow_up.data,
            "corrects_id": self.corrects_id.data or None,
        }


class AgencyAnswerForm(FlaskForm):
    answer = HiddenField(validators=[DataRequired()])
    reason = SelectField(_l("Reason"), choices=_choices(AGENCY_DECLINE_REASONS, "—"), default="")
    note = TextAreaField(_l("Note to the caseworker"), filters=[_strip], validators=[Optional(), Length(max=1000)])
