"""Forms for agency-maintained listings. Validation here; what the user typed is kept on error."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from directory.catalog.hours import WEEKDAYS
from directory.catalog.limits import text_limit
from directory.catalog.models import SERVICE_FIELDS, SERVICE_STATUSES
from directory.catalog.phone_field import PhonesField
from directory.catalog.urls import SafeURL
from directory.geo.areas import Area, AreaError, parse_area
from directory.geo.districts import DISTRICTS
from directory.geo.gazetteer import default_gazetteer
from directory.vocabulary import LANGUAGE_CHOICES

STATUS_LABELS = {
    "active": _l("Active"),
    "inactive": _l("Inactive"),
    "defunct": _l("Closed permanently"),
    "temporarily closed": _l("Temporarily closed"),
}
WEEKDAY_LABELS = {
    "MO": _l("Monday"),
    "TU": _l("Tuesday"),
    "WE": _l("Wednesday"),
    "TH": _l("Thursday"),
    "FR": _l("Friday"),
    "SA": _l("Saturday"),
    "SU": _l("Sunday"),
}


def _cap(column: str) -> int:
    """A service text's length cap (the HSDS import applies the same: directory/catalog/limits.py)."""
    return text_limit("service", column)


class AgeField(IntegerField):
    """An age in years: a number longer than a few digits is refused with the field's message before WTForms'
    range check, which turns a 400-digit number into a float and fails with OverflowError."""

    def process_formdata(self, valuelist):
        raw = valuelist[0].strip() if valuelist else ""
        if not raw:
            self.data = None  # no age: Optional() lets it be
            return
        if len(raw) > 6:
            self.data = None
            raise ValueError(str(_l("Enter an age from 0 to 120.")))
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message is there already; the range check would fail on no number


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _lines(text: str | None) -> list[str]:
    seen: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return seen


class ServiceForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Service name"), validators=[DataRequired(), Length(max=300)])
    alternate_name = StringField(_l("English name"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=_cap("description"))])
    status = SelectField(_l("Status"), choices=[(s, STATUS_LABELS[s]) for s in SERVICE_STATUSES])
    taxonomy_codes = MultiCheckboxField(_l("Categories"), validators=[DataRequired()])
    location_ids = MultiCheckboxField(_l("Locations"))  # none: a phone or online service
    application_process = TextAreaField(
        _l("How to apply"), validators=[Optional(), Length(max=_cap("application_process"))]
    )
    fees_description = TextAreaField(_l("Fees"), validators=[Optional(), Length(max=_cap("fees_description"))])
    eligibility_description = TextAreaField(
        _l("Who is eligible"), validators=[Optional(), Length(max=_cap("eligibility_description"))]
    )
    minimum_age = AgeField(_l("Minimum age"), validators=[Optional(), NumberRange(0, 120)])
    maximum_age = AgeField(_l("Maximum age"), validators=[Optional(), NumberRange(0, 120)])
    accepting_referrals = BooleanField(_l("Accepting referrals now"))
    capacity_note = TextAreaField(
        _l("Capacity or waiting list"), validators=[Optional(), Length(max=_cap("capacity_note"))]
    )
    alert = TextAreaField(_l("Notice"), validators=[Optional(), Length(max=_cap("alert"))])
    languages = MultiCheckboxField(_l("Languages"), choices=LANGUAGE_CHOICES)
    required_documents = TextAreaField(
        _l("Documents to bring (one per line)"),
        validators=[Optional(), Length(max=text_limit("required_document", "document"))],
    )
    url = URLField(_l("Web page"), validators=[Optional(), SafeURL(), Length(max=500)])
    email = StringField(_l("Email"), validators=[Optional(), Email(), Length(max=200)])
    phones = PhonesField(_l("Phones"))
    service_areas = TextAreaField(
        _l("Service area (one per line: 广州市, a district, or a district and street)"),
        validators=[Optional(), Length(max=2000)],
    )

    def validate_service_areas(self, field):
        gazetteer = default_gazetteer(current_app)
        for line in _lines(field.data):
            try:
                parse_area(line, gazetteer)
            except AreaError:
                raise ValidationError(
                    _l(
                        "“%(line)s” is not a district or street of Guangzhou (e.g. 番禺区, 番禺区 市桥街道).",
                        line=line,
                    )
                ) from None

    def areas(self) -> list[Area]:
        """The service areas typed, once validated."""
        gazetteer = default_gazetteer(current_app)
        return list(dict.fromkeys(parse_area(line, gazetteer) for line in _lines(self.service_areas.data)))

    def validate_maximum_age(self, field):
        if field.data is not None and self.minimum_age.data is not None and field.data < self.minimum_age.data:
            raise ValidationError(_l("The maximum age must not be below the minimum age."))

    def values(self) -> dict:
        data = {name: getattr(self, name).data for name in SERVICE_FIELDS}
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = value.strip() or None
        data["name"] = data["name"] or ""
        data["description"] = data["description"] or ""
        data["taxonomy_codes"] = list(self.taxonomy_codes.data)
        data["location_ids"] = list(self.location_ids.data)
        data["languages"] = list(self.languages.data)
        data["required_documents"] = _lines(self.required_documents.data)
        data["phones"] = list(self.phones.lines)
        if self.service_areas.raw_data:  # sent (a form without the field leaves the areas as they are)
            data["service_areas"] = self.areas()
        return data


class EligibilityForm(FlaskForm):
    """The rule editor's own fields; the rule rows are read by ``directory.eligibility.editor``."""

    version = HiddenField()
    eligibility_description = TextAreaField(
        _l("Who is eligible, in your own words"), validators=[Optional(), Length(max=_cap("eligibility_description"))]
    )

    def description(self) -> str | None:
        return (self.eligibility_description.data or "").strip() or None


class LocationForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Location name"), validators=[DataRequired(), Length(max=300)])
    district = SelectField(_l("District"), choices=[(d, d) for d in DISTRICTS])
    address_1 = StringField(_l("Street address"), validators=[Optional(), Length(max=300)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    latitude = FloatField(_l("Latitude"), validators=[InputRequired(), NumberRange(22.4, 24.1)])
    longitude = FloatField(_l("Longitude"), validators=[InputRequired(), NumberRange(112.9, 114.2)])
    transportation = TextAreaField(
        _l("How to get there"), validators=[Optional(), Length(max=text_limit("location", "transportation"))]
    )
    phones = PhonesField(_l("Phones"))
    email = StringField(_l("Email"), validators=[Optional(), Email(), Length(max=200)])

    def values(self) -> dict:
        data = {
            name: getattr(self, name).data
            for name in (
                "name",
                "district",
                "address_1",
                "postal_code",
                "latitude",
                "longitude",
                "transportation",
                "email",
            )
        }
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = value.strip() or None
        data["name"] = data["name"] or ""
        data["phones"] = list(self.phones.lines)
        return data


def _parse_hhmm(value: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    if value == "24:00":
        value = "00:00"
    return datetime.strptime(value, "%H:%M")


class HoursForm(FlaskForm):
    """Up to three opening periods per weekday, each written HH:MM–HH:MM."""

    version = HiddenField()

    def periods(self) -> list[tuple[list[str], object, object]]:
        return self._periods

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self._periods = []
        self.period_errors: dict[str, str] = {}
        for day in WEEKDAYS:
            for slot in (1, 2, 3):
                name = f"{day}_{slot}"
                opens_raw = self.raw.get(f"{name}_opens", "")
                closes_raw = self.raw.get(f"{name}_closes", "")
                try:
                    opens, closes = _parse_hhmm(opens_raw), _parse_hhmm(closes_raw)
                except ValueError:
                    self.period_errors[name] = str(_l("Write times as HH:MM, for example 08:30."))
                    continue
                if (opens is None) != (closes is None):
                    self.period_errors[name] = str(_l("Give both an opening and a closing time."))
                    continue
                if opens is not None:
                    self._periods.append(([day], opens.time(), closes.time()))
        return ok and not self.period_errors

    def __init__(self, *args, raw: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw = raw or {}
        self.period_errors = {}
        self._periods = []


class HolidayForm(FlaskForm):
    starts_on = DateField(_l("From"), validators=[InputRequired()])
    ends_on = DateField(_l("To"), validators=[InputRequired()])
    closed = BooleanField(_l("Closed all day"), default=True)
    opens_at = StringField(_l("Opens"), validators=[Optional()])
    closes_at = StringField(_l("Closes"), validators=[Optional()])
    description = StringField(
        _l("Note"), validators=[Optional(), Length(max=text_limit("schedule_exception", "description"))]
    )

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end date is before the start date."))
        if self.starts_on.data and field.data and (field.data - self.starts_on.data).days > 366:
            raise ValidationError(_l("A holiday period may last at most one year."))

    def validate_opens_at(self, field):
        if not self.closed.data:
            try:
                if _parse_hhmm(field.data) is None or _parse_hhmm(self.closes_at.data) is None:
                    raise ValidationError(_l("Give the opening and closing times, or tick closed all day."))
            except ValueError as exc:
                raise ValidationError(_l("Write times as HH:MM, for example 08:30.")) from exc

    def values(self) -> dict:
        closed = bool(self.closed.data)
        return {
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data,
            "closed": closed,
            "opens_at": None if closed else _parse_hhmm(self.opens_at.data).time(),
            "closes_at": None if closed else _parse_hhmm(self.closes_at.data).time(),
            "description": (self.description.data or "").strip() or None,
        }
