"""The reports filter: a GET form (no CSRF token: it changes nothing), read from the query string."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField
from wtforms.validators import Optional, ValidationError

from directory.accounts.models import User
from directory.catalog.cache import category_choices
from directory.catalog.models import Organization
from directory.extensions import db
from directory.geo.districts import DISTRICTS
from directory.i18n import district_name, local_name
from directory.referrals.models import Client

EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # report dates; beyond them is a typo


def _plausible_date(form, field) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Enter a date between 1900 and 2999."))


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional(), _plausible_date])
    end = DateField(_l("To"), validators=[Optional(), _plausible_date])
    category = SelectField(_l("Category"), validators=[Optional()])
    subcategories = BooleanField(_l("Show sub-categories"))
    district = SelectField(_l("District"), validators=[Optional()])
    organization = SelectField(_l("Organization"), validators=[Optional()])
    caseworker = SelectField(_l("Caseworker"), validators=[Optional()])

    def validate_end(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def fill_choices(self, locale: str) -> None:
        """Categories (top level, then their sub-categories), districts, organizations, caseworkers."""
        self.category.choices = [("", str(_l("All categories"))), *category_choices(locale)]
        self.district.choices = [("", str(_l("All districts"))), *((d, district_name(d, locale)) for d in DISTRICTS)]
        organizations = db.session.execute(
            select(Organization.id, Organization.name, Organization.alternate_name).order_by(Organization.name)
        )
        named = [(i, local_name(n, alternate, locale)) for i, n, alternate in organizations]
        self.organization.choices = [("", str(_l("All organizations"))), *named]
        owners = db.session.execute(
            select(User.id, User.display_name)
            .where(User.id.in_(select(Client.owner_id)))
            .order_by(User.display_name, User.id)
        )
        self.caseworker.choices = [("", str(_l("All caseworkers"))), *((str(i), n) for i, n in owners)]


class AgencyFilterForm(FlaskForm):
    """The agency figures' filter: the period and one of the organization's services."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional(), _plausible_date])
    end = DateField(_l("To"), validators=[Optional(), _plausible_date])
    service = SelectField(_l("Service"), validators=[Optional()])

    def validate_end(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def fill_choices(self, services: dict[str, str]) -> None:
        """``services``: the organization's, id → name."""
        named = sorted(services.items(), key=lambda item: item[1])
        self.service.choices = [("", str(_l("All services"))), *named]
